"""隐私 / 删除我的数据: what is stored about you, and erasing it, both from the registry of
personal data every feature declares (handlers/personal.py).

`/privacy` lists each kind stored for the person; `/forget` (after a confirmation) closes what
is still open — help requests, reports, claims, places on activities — then empties or deletes
every entry. Anonymous counts (check-ins, points, hours) stay so the branch's totals hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import Session

from handlers import personal
from handlers.context import ButtonSpec, Context, Keyboard
from handlers.errors import DomainError
from handlers.i18n import Translator
from handlers.payloads import ButtonData
from handlers.personal import Erase, PersonalData, Reference, Whose, of_accounts
from handlers.router import Command, Feature, On
from storage import people
from storage.models import Account, PostedMessage, ProcessedUpdate, WechatUser

# How many characters of each stored value /privacy shows back.
SHOWN_CHARS = 20


@dataclass(frozen=True)
class Forget(ButtonData, prefix="forget"):
    """The answer to "erase everything?", for the person who asked only."""

    answer: Literal["yes", "no"]
    owner: int


def whose(ctx: Context) -> Whose:
    """The person writing, with their accounts on every platform."""
    accounts = people.accounts_of(ctx.session, ctx.person.id)
    return Whose(ctx.person.id, tuple((a.platform, a.external_id) for a in accounts))


@dataclass(frozen=True)
class Stored:
    """One kind of data stored about the person, as /privacy tells it."""

    kind: str  # its name in the reader's language
    count: int
    values: list[str]  # the first SHOWN_CHARS characters of a few of its values
    erase: Erase  # what erasing does to it: deleted, emptied, or kept as a count


def stored(ctx: Context) -> list[Stored]:
    """Every kind the registry finds for this person (/privacy, and the desk's 我的数据)."""
    return listed(ctx.session, ctx.t, ctx.core.router.personal, whose(ctx))


def listed(session: Session, t: Translator, registry: Sequence[PersonalData],
           person: Whose) -> list[Stored]:
    """Every kind in `registry` stored for `person`."""
    return [Stored(t(f"privacy.kind.{entry.kind}"), rows,
                   [_said(t, entry, value)[:SHOWN_CHARS] for value in values], entry.erase)
            for entry, rows, values in personal.present(session, registry, person)]


def _said(t: Translator, entry: PersonalData, value: str) -> str:
    """A stored value as the person reads it: a code in words when the entry says so."""
    if entry.shown_as is None:
        return value
    return t(entry.shown_as.format(value))


def privacy(ctx: Context, _args: str) -> None:
    """Explain what is stored and who sees it."""
    lines = [ctx.t("privacy.kind_line", kind=kind.kind, count=kind.count,
                   values=_shown(ctx, kind.values))
             for kind in stored(ctx)]
    ctx.reply_private("privacy.text", kinds="\n".join(lines) or ctx.t("privacy.nothing"))


def _shown(ctx: Context, values: list[str]) -> str:
    if not values:
        return ""
    return ctx.t("privacy.values", values=ctx.t("list.separator").join(values))


def confirmation(ctx: Context) -> Keyboard:
    """The question's two buttons (erase, keep), for this person only; only in a private
    chat (the desk shows them on its confirmation page)."""
    if ctx.in_group:
        raise DomainError("forget_privately")
    owner = ctx.person.id
    return [[ButtonSpec.of("forget.button.yes", Forget("yes", owner)),
             ButtonSpec.of("forget.button.no", Forget("no", owner))]]


def forget(ctx: Context, _args: str) -> None:
    """Ask for confirmation before erasing."""
    ctx.reply("forget.confirm", confirmation(ctx))


def forget_button(ctx: Context, tapped: Forget) -> None:
    """The confirmation: erase, or keep everything."""
    if tapped.owner != ctx.person.id:
        raise DomainError("not_your_button")
    if tapped.answer != "yes":
        ctx.edit("forget.kept")
        return
    ctx.edit("forget.done")
    personal.erase(ctx, ctx.core.router.personal, whose(ctx))


def _followed(whose: Whose) -> ColumnElement[bool]:
    return WechatUser.openid.in_(whose.openids) if whose.openids else false()


def _handled(whose: Whose) -> ColumnElement[bool]:
    """WeChat's update keys name the follower: msg:<openid>:<id>, ev:<openid>:<time>."""
    keys = [ProcessedUpdate.key.like(f"{kind}:{openid}:%")
            for openid in whose.openids for kind in ("msg", "ev")]
    return or_(*keys) if keys else false()


# What the platforms' side of the bot keeps: accounts, the WeChat follower record, keys of
# handled updates, cards in the person's private chat.
PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("accounts", Account, "person_id",
                 ("external_id", "display_name", "username", "language_code"),
                 shown="platform", shown_as="link.platform.{}"),
    PersonalData("wechat_follower", WechatUser, "openid", ("openid", "choices"),
                 match=_followed),
    PersonalData("handled_updates", ProcessedUpdate, "key", ("key",), match=_handled),
    PersonalData("private_cards", PostedMessage, "chat_external_id", ("chat_external_id",),
                 match=of_accounts(PostedMessage.platform, PostedMessage.chat_external_id)),
]


FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("privacy", privacy), Command("forget", forget)],
    buttons=[On(Forget, forget_button)],
)
