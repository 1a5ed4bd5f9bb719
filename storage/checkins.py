"""Identity-showing check-ins."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.models import CheckIn


def check_in(session: Session, person_id: int, branch_id: int, day: dt.date,
             at: dt.datetime, chat_id: int | None) -> tuple[CheckIn, bool]:
    """Record today's check-in; returns it and False when one already stood for `day`."""
    added = insert_if_absent(session, CheckIn, {"person_id": person_id, "branch_id": branch_id,
                                                "day": day, "at": at, "chat_id": chat_id})
    row = todays(session, person_id, branch_id, day)
    assert row is not None
    return row, added


def todays(session: Session, person_id: int, branch_id: int, day: dt.date) -> CheckIn | None:
    return session.scalar(select(CheckIn).where(
        CheckIn.person_id == person_id, CheckIn.branch_id == branch_id, CheckIn.day == day))


def count_between(session: Session, person_id: int, branch_id: int, first: dt.date,
                  last: dt.date) -> int:
    """How many days in [first, last] the person checked in with the branch."""
    return session.scalar(select(func.count()).select_from(CheckIn).where(
        CheckIn.person_id == person_id, CheckIn.branch_id == branch_id,
        CheckIn.day >= first, CheckIn.day <= last)) or 0
