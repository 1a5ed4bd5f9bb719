"""The needs list on the web desk: each item with who promised it (承诺, with the pledge),
the deeds reported (践诺) waiting for the secretary's stars (评诺), and the person's own
claims; the buttons are the chat's own (认领, 践诺, 放弃, 1–5 stars), pressed by the desk."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.context import Context
from handlers.needs import (
    ClaimItem,
    Deed,
    GiveBack,
    RateDeed,
    done_once,
    holdings,
    recurrence_words,
)
from handlers.roles import Role, require_branch, role_in
from storage import needs
from storage.models import Branch, ClaimStatus, NeedItem


@dataclass(frozen=True)
class Holder:
    name: str
    pledge: str


@dataclass(frozen=True)
class ItemRow:
    """An item as the list shows it, with 认领 while it has room."""

    item: NeedItem
    facts: str
    holders: list[Holder]
    done: bool
    claim: str | None


@dataclass(frozen=True)
class DeedRow:
    """A fulfilled claim waiting for stars: whose, what, their note, the 1–5 buttons."""

    name: str
    item: str
    note: str
    stars: list[tuple[int, str]]


@dataclass(frozen=True)
class MyClaim:
    """One of the person's own open claims, with 践诺 and 放弃."""

    item: str
    pledge: str
    deed: str
    give_back: str


@dataclass(frozen=True)
class Items:
    branch: Branch
    rows: list[ItemRow]
    deeds: list[DeedRow]
    mine: list[MyClaim]
    secretary: bool


def items(ctx: Context) -> Items:
    """The branch's needs list as `需求清单` shows it, for anyone of the branch."""
    branch = require_branch(ctx)
    holding = holdings(ctx, branch)
    done = done_once(ctx, branch, holding)
    names = needs.item_names(ctx.session, branch.id)
    rows = []
    for item in needs.items(ctx.session, branch.id):
        held = holding.get(item.id, [])
        facts = " · ".join(f for f in (item.place, recurrence_words(ctx, item.recurrence)) if f)
        free = len(held) < item.holders and item.id not in done
        rows.append(ItemRow(item, facts, [Holder(ctx.name_of(c.person_id, branch.id), c.pledge)
                                          for c in held], item.id in done,
                            ClaimItem(item.id).pack() if free else None))
    secretary = role_in(ctx, ctx.person.id, branch) >= Role.SECRETARY
    deeds = [DeedRow(ctx.name_of(c.person_id, branch.id), names.get(c.item_id, ""), c.done_note,
                     [(n, RateDeed(c.id, n).pack()) for n in range(1, 6)])
             for c in needs.claims_with(ctx.session, branch.id, ClaimStatus.DONE)] \
        if secretary else []
    mine = [MyClaim(names.get(c.item_id, ""), c.pledge, Deed(c.id).pack(), GiveBack(c.id).pack())
            for c in needs.claims_of(ctx.session, ctx.person.id, branch.id)]
    return Items(branch, rows, deeds, mine, secretary)
