"""绑定账号: one person on two platforms, so that identity, sign-ups, claims and points are one.

`绑定账号` gives a six-digit code, privately, valid for ten minutes and once. Writing
`绑定账号 <code>` from the account on the other platform joins that account's person into
the first (storage/links.py says how rows that clash are resolved). `解除绑定` detaches the
account it is sent from: it starts afresh, and the records stay with the other account(s).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from handlers.addressing import first_word
from handlers.context import Context
from handlers.errors import DomainError
from handlers.personal import PersonalData, Reference
from handlers.router import Command, Feature
from storage import links, people, points
from storage.models import LinkCode

CODE_LIFETIME = dt.timedelta(minutes=10)
_CODE = re.compile(r"^\d{6}$")


def link(ctx: Context, args: str) -> None:
    """Without a code: hand out one; with a code: join this account to its owner."""
    typed = unicodedata.normalize("NFKC", args).replace(" ", "")
    if not typed:
        _offer_code(ctx)
    elif not _CODE.match(typed):
        raise DomainError("link_code_wrong")
    else:
        _redeem(ctx, typed)


def _offer_code(ctx: Context) -> None:
    code = links.new_code(ctx.session, ctx.person.id, ctx.now, CODE_LIFETIME)
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    ctx.reply_private("link.code", code=code, minutes=minutes)


def _redeem(ctx: Context, code: str) -> None:
    try:
        joined = links.redeem(ctx.session, code, ctx.person.id, ctx.now)
    except links.LinkRefused as refusal:
        raise DomainError(refusal.code) from None
    ctx.reply("link.done", platforms=_platforms(ctx, joined.platforms),
              count=points.total(ctx.session, joined.person_id))


def unlink(ctx: Context, _args: str) -> None:
    """Detach the account this was sent from; the records stay with the other account(s)."""
    others = [a.platform for a in people.accounts_of(ctx.session, ctx.person.id)
              if a.id != ctx.account.id]
    if not others:
        raise DomainError("link_not_linked")
    links.detach(ctx.session, ctx.account.id, ctx.now)
    ctx.reply("link.unlinked", platforms=_platforms(ctx, tuple(sorted(set(others)))))


def _platforms(ctx: Context, platforms: tuple[str, ...]) -> str:
    return ctx.t("list.separator").join(ctx.t(f"link.platform.{p}") for p in platforms)


PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("link_codes", LinkCode, "person_id", ("code",)),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,commands=[Command("link", link, takes=first_word(r"\d+")),
                            Command("unlink", unlink)])
