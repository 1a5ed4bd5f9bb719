"""Identity-showing check-ins."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import CheckIn


def check_in(session: Session, person_id: int, branch_id: int, day: dt.date,
             at: dt.datetime, chat_id: int | None) -> tuple[CheckIn, bool]:
    """Record today's check-in; returns it and False when one already stood for `day`."""
    existing = todays(session, person_id, branch_id, day)
    if existing is not None:
        return existing, False
    row = CheckIn(person_id=person_id, branch_id=branch_id, day=day, at=at, chat_id=chat_id)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # A concurrent check-in of the same person won the unique key first.
        existing = todays(session, person_id, branch_id, day)
        assert existing is not None
        return existing, False
    return row, True


def todays(session: Session, person_id: int, branch_id: int, day: dt.date) -> CheckIn | None:
    return session.scalar(select(CheckIn).where(
        CheckIn.person_id == person_id, CheckIn.branch_id == branch_id, CheckIn.day == day))


def count_between(session: Session, person_id: int, branch_id: int, first: dt.date,
                  last: dt.date) -> int:
    """How many days in [first, last] the person checked in with the branch."""
    return session.scalar(select(func.count()).select_from(CheckIn).where(
        CheckIn.person_id == person_id, CheckIn.branch_id == branch_id,
        CheckIn.day >= first, CheckIn.day <= last)) or 0
