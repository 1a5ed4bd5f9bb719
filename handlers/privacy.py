"""隐私 / 删除我的数据: what is stored about you, and erasing it.

Erasing removes the registration, roles, open dialogs and platform accounts; anonymous counts
(check-ins) stay so the branch's totals do not change. It asks for confirmation first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from handlers.context import ButtonSpec, Context
from handlers.errors import DomainError
from handlers.payloads import ButtonData
from handlers.router import Command, Feature, On
from storage import people


@dataclass(frozen=True)
class Forget(ButtonData, prefix="forget"):
    """The answer to "erase everything?", for the person who asked only."""

    answer: Literal["yes", "no"]
    owner: int


def privacy(ctx: Context, _args: str) -> None:
    """Explain what is stored and who sees it; list this person's own records."""
    profiles = people.profiles_of(ctx.session, ctx.person.id)
    mine = "\n".join(ctx.t("privacy.profile_line", name=p.name, building=p.building)
                     for p in profiles) or ctx.t("privacy.no_profile")
    accounts = len(people.accounts_of(ctx.session, ctx.person.id))
    ctx.reply_private("privacy.text", profiles=mine, accounts=accounts)


def forget(ctx: Context, _args: str) -> None:
    """Ask for confirmation before erasing; only in a private chat."""
    if ctx.in_group:
        raise DomainError("forget_privately")
    owner = ctx.person.id
    ctx.reply("forget.confirm", [[ButtonSpec.of("forget.button.yes", Forget("yes", owner)),
                                  ButtonSpec.of("forget.button.no", Forget("no", owner))]])


def forget_button(ctx: Context, tapped: Forget) -> None:
    """The confirmation: erase, or keep everything."""
    if tapped.owner != ctx.person.id:
        raise DomainError("not_your_button")
    if tapped.answer != "yes":
        ctx.edit("forget.kept")
        return
    ctx.edit("forget.done")
    people.erase_person(ctx.session, ctx.person.id, ctx.now)


FEATURE = Feature(
    commands=[Command("privacy", privacy), Command("forget", forget)],
    buttons=[On(Forget, forget_button)],
)
