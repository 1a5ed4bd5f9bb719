"""The needs list (需求清单): service items and members' claims on them.

A claim is `open` (a promise), then `done` (践诺 reported), then `rated` (评诺); it may instead
be `released` (given back) or `expired` (silent too long). Only open claims hold an item.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage import states
from storage.models import Claim, ClaimStatus, NeedItem, Person


def create_item(session: Session, **fields: object) -> NeedItem:
    item = NeedItem(**fields)
    session.add(item)
    session.flush()
    return item


def item(session: Session, item_id: int) -> NeedItem | None:
    return session.get(NeedItem, item_id)


def items(session: Session, branch_id: int) -> Sequence[NeedItem]:
    """The branch's current items, in the order they were added."""
    return session.scalars(select(NeedItem).where(
        NeedItem.branch_id == branch_id, NeedItem.archived_at.is_(None))
        .order_by(NeedItem.id)).all()


def finished(session: Session, branch_id: int) -> set[int]:
    """Items of the branch with a fulfilled (践诺, perhaps rated) claim."""
    return set(session.scalars(select(Claim.item_id).where(
        Claim.branch_id == branch_id,
        Claim.status.in_((ClaimStatus.DONE, ClaimStatus.RATED)))))


def has_claims(session: Session, item_id: int) -> bool:
    """Whether anyone ever claimed the item (its history must stay)."""
    return session.scalar(select(Claim.id).where(Claim.item_id == item_id).limit(1)) is not None


def names(session: Session, branch_id: int) -> list[str]:
    """Every item name the branch has used (archived ones too: names are unique)."""
    return list(session.scalars(select(NeedItem.name).where(NeedItem.branch_id == branch_id)))


def item_names(session: Session, branch_id: int) -> dict[int, str]:
    """Id -> name of the branch's items still on the list (for addressing)."""
    rows = session.execute(select(NeedItem.id, NeedItem.name).where(
        NeedItem.branch_id == branch_id, NeedItem.archived_at.is_(None)))
    return {row.id: row.name for row in rows}


def lock_person(session: Session, person_id: int) -> None:
    """Row-lock the person until the transaction ends, so their claims queue one by one.

    SQLite needs no row lock: every write transaction there begins IMMEDIATE.
    """
    session.execute(select(Person.id).where(Person.id == person_id).with_for_update())


def locked_item(session: Session, item_id: int) -> NeedItem | None:
    """The item, row-locked until the transaction ends (claims on it queue behind)."""
    return session.scalar(select(NeedItem).where(NeedItem.id == item_id).with_for_update()
                          .execution_options(populate_existing=True))


def open_count_of_person(session: Session, person_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Claim).where(
        Claim.person_id == person_id, Claim.status == ClaimStatus.OPEN)) or 0


def open_count_of_item(session: Session, item_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Claim).where(
        Claim.item_id == item_id, Claim.status == ClaimStatus.OPEN)) or 0


def open_claim(session: Session, item_id: int, person_id: int) -> Claim | None:
    return session.scalar(select(Claim).where(
        Claim.item_id == item_id, Claim.person_id == person_id, Claim.status == ClaimStatus.OPEN))


def add_claim(session: Session, found: NeedItem, person_id: int, pledge: str,
              now: dt.datetime) -> Claim:
    """A new open claim; call with the person and the item locked, limits checked."""
    claim = Claim(item_id=found.id, person_id=person_id, branch_id=found.branch_id,
                  status=ClaimStatus.OPEN, pledge=pledge, claimed_at=now)
    session.add(claim)
    session.flush()
    return claim


def claim(session: Session, claim_id: int) -> Claim | None:
    return session.get(Claim, claim_id)


def open_claims(session: Session, branch_id: int) -> Sequence[Claim]:
    """Open claims of a branch, oldest first (who holds what)."""
    return session.scalars(select(Claim).where(
        Claim.branch_id == branch_id, Claim.status == ClaimStatus.OPEN)
        .order_by(Claim.claimed_at, Claim.id)).all()


def claims_of(session: Session, person_id: int, branch_id: int,
              status: str = ClaimStatus.OPEN) -> Sequence[Claim]:
    return session.scalars(select(Claim).where(
        Claim.person_id == person_id, Claim.branch_id == branch_id, Claim.status == status)
        .order_by(Claim.claimed_at, Claim.id)).all()


def claims_with(session: Session, branch_id: int, status: str) -> Sequence[Claim]:
    return session.scalars(select(Claim).where(
        Claim.branch_id == branch_id, Claim.status == status)
        .order_by(Claim.done_at, Claim.id)).all()


def move(session: Session, claim_id: int, from_status: ClaimStatus, to_status: ClaimStatus,
         **values: object) -> bool:
    """Change a claim's status only if it still has `from_status`; False when it had not.
    IllegalMove when the model does not allow the move."""
    states.check(Claim, (from_status,), to_status)
    result = session.execute(update(Claim).where(
        Claim.id == claim_id, Claim.status == from_status)
        .values(status=to_status, **values).execution_options(synchronize_session="fetch"))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def open_claims_of(session: Session, person_id: int) -> Sequence[Claim]:
    """Claims the person still holds, in every branch."""
    return session.scalars(select(Claim).where(
        Claim.person_id == person_id, Claim.status == ClaimStatus.OPEN).order_by(Claim.id)).all()
