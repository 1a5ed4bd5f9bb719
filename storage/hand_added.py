"""People the secretary signs up by hand (paper sign-ups): a person without any account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import HandAddedPerson, Person


def add(session: Session, branch_id: int, name: str, building: str, phone: str,
        by_person: int, now: dt.datetime) -> HandAddedPerson:
    """A new person of the branch known only by what the secretary wrote down."""
    person = Person(created_at=now)
    session.add(person)
    session.flush()
    row = HandAddedPerson(person_id=person.id, branch_id=branch_id, name=name,
                          building=building, phone=phone, added_by=by_person, added_at=now)
    session.add(row)
    session.flush()
    return row


def named(session: Session, branch_id: int, name: str) -> Sequence[HandAddedPerson]:
    return session.scalars(select(HandAddedPerson).where(
        HandAddedPerson.branch_id == branch_id, HandAddedPerson.name == name)
        .order_by(HandAddedPerson.id)).all()


def of_people(session: Session, person_ids: Sequence[int]) -> dict[int, HandAddedPerson]:
    """person id -> their hand-added entry, for those of `person_ids` that have one."""
    rows = session.scalars(select(HandAddedPerson).where(
        HandAddedPerson.person_id.in_(person_ids)))
    return {row.person_id: row for row in rows}
