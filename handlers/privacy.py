"""隐私 / 删除我的数据: what is stored about you, and erasing it.

Erasing removes the registration, roles, open dialogs and platform accounts; anonymous counts
(check-ins) stay so the branch's totals do not change. It asks for confirmation first.
"""

from __future__ import annotations

from handlers.context import ButtonSpec, Context
from handlers.errors import DomainError
from handlers.router import Command, Feature, int_arg
from storage import people


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
    ctx.reply("forget.confirm", [[ButtonSpec.of("forget.button.yes", f"forget:yes:{owner}"),
                                  ButtonSpec.of("forget.button.no", f"forget:no:{owner}")]])


def forget_button(ctx: Context, args: list[str]) -> None:
    """The confirmation: erase, or keep everything."""
    if int_arg(args, 1) != ctx.person.id:
        raise DomainError("not_your_button")
    if args[0] != "yes":
        ctx.edit("forget.kept")
        return
    ctx.edit("forget.done")
    people.erase_person(ctx.session, ctx.person.id, ctx.now)


FEATURE = Feature(
    commands=[Command("privacy", privacy), Command("forget", forget)],
    buttons={"forget": forget_button},
)
