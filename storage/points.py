"""The points log: append-only entries, each source awarding a person once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.models import PointsEntry


def award(session: Session, person_id: int, branch_id: int, points: int, reason: str,
          source: str, now: dt.datetime) -> bool:
    """Add an entry; False when this source already awarded this person."""
    return insert_if_absent(session, PointsEntry, {
        "person_id": person_id, "branch_id": branch_id, "points": points, "reason": reason,
        "source": source, "at": now})


def total(session: Session, person_id: int) -> int:
    return session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                          .where(PointsEntry.person_id == person_id)) or 0
