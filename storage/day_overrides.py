"""Holidays and working days a community admin set in chat, over the computed calendar."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.models import DayKind, DayOverride


def overrides(session: Session) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """(holidays, workdays) set in chat, read in one query."""
    rows = session.execute(select(DayOverride.day, DayOverride.kind)).all()
    return (frozenset(day for day, kind in rows if kind == DayKind.HOLIDAY),
            frozenset(day for day, kind in rows if kind == DayKind.WORKDAY))


def since(session: Session, first: dt.date) -> Sequence[DayOverride]:
    """The overrides from `first` on, by date."""
    return session.scalars(select(DayOverride).where(DayOverride.day >= first)
                           .order_by(DayOverride.day)).all()


def set_day(session: Session, day: dt.date, kind: DayKind, person_id: int,
            now: dt.datetime) -> None:
    """Make `day` a holiday or a working day; a day already set takes the new kind."""
    values = {"day": day, "kind": kind.value, "set_by": person_id, "set_at": now}
    if not insert_if_absent(session, DayOverride, values):
        row = session.scalar(select(DayOverride).where(DayOverride.day == day))
        assert row is not None
        row.kind, row.set_by, row.set_at = kind.value, person_id, now
    session.flush()


def remove(session: Session, day: dt.date) -> bool:
    """Forget what was set for `day`; False when nothing was."""
    result = session.execute(delete(DayOverride).where(DayOverride.day == day))
    return bool(result.rowcount)  # type: ignore[attr-defined]
