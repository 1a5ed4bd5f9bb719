"""The points log: append-only entries, each source awarding a person once; sums over periods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.models import (
    Activity,
    Attendance,
    CheckIn,
    Claim,
    HelpRequest,
    PointsEntry,
    ProblemReport,
)


def award(session: Session, person_id: int, branch_id: int, points: int, reason: str,
          source: str, now: dt.datetime, note: str = "") -> bool:
    """Add an entry; False when this source already awarded this person."""
    return add(session, Award(person_id, branch_id, points, reason, source, now, note))


def add(session: Session, entry: Award) -> bool:
    """Add `entry`; False when its source already awarded its person."""
    return insert_if_absent(session, PointsEntry, entry.values())


@dataclass(frozen=True)
class Award:
    """An entry to add, for a caller that writes it together with its source record."""

    person_id: int
    branch_id: int
    points: int
    reason: str
    source: str
    at: dt.datetime
    note: str = ""

    def values(self) -> dict[str, object]:
        return {"person_id": self.person_id, "branch_id": self.branch_id,
                "points": self.points, "reason": self.reason, "source": self.source,
                "at": self.at, "note": self.note}


def awarded(session: Session, source: str) -> bool:
    """Whether this source has awarded anyone."""
    return session.scalar(select(PointsEntry.id).where(PointsEntry.source == source)
                          .limit(1)) is not None


def total(session: Session, person_id: int, start: dt.datetime | None = None,
          end: dt.datetime | None = None) -> int:
    """A person's points, all time or in [start, end)."""
    query = select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
        PointsEntry.person_id == person_id)
    if start is not None and end is not None:
        query = query.where(PointsEntry.at >= start, PointsEntry.at < end)
    return session.scalar(query) or 0


def latest(session: Session, person_id: int, limit: int) -> Sequence[PointsEntry]:
    """A person's newest entries, newest first."""
    return session.scalars(select(PointsEntry).where(PointsEntry.person_id == person_id)
                           .order_by(PointsEntry.at.desc(), PointsEntry.id.desc())
                           .limit(limit)).all()


def totals(session: Session, branch_id: int, start: dt.datetime,
           end: dt.datetime) -> list[tuple[int, int]]:
    """(person_id, points) for everyone with entries in the branch in [start, end), best first."""
    summed = func.sum(PointsEntry.points)
    rows = session.execute(
        select(PointsEntry.person_id, summed)
        .where(PointsEntry.branch_id == branch_id, PointsEntry.at >= start, PointsEntry.at < end)
        .group_by(PointsEntry.person_id)
        .order_by(summed.desc(), PointsEntry.person_id))
    return [(person_id, int(points)) for person_id, points in rows]


@dataclass(frozen=True)
class Month:
    """What a branch did in one period, for the monthly summary."""

    checkins: int
    activities: int
    attendances: list[tuple[Attendance, Activity]]
    deeds: int
    errands: int
    problems: int


def month(session: Session, branch_id: int, start: dt.datetime, end: dt.datetime,
          first_day: dt.date, last_day: dt.date) -> Month:
    """Counts of a branch's check-ins (by local day), activities, rated deeds, confirmed help
    requests and resolved problem reports in [start, end)."""
    def count(model: type, *where: ColumnElement[bool]) -> int:
        found: int | None = session.scalar(select(func.count()).select_from(model).where(*where))
        return found or 0

    held = (Activity.branch_id == branch_id, Activity.cancelled_at.is_(None),
            Activity.starts_at >= start, Activity.starts_at < end)
    attendances = [(row, item) for row, item in session.execute(
        select(Attendance, Activity).join(Activity, Activity.id == Attendance.activity_id)
        .where(*held))]
    return Month(
        checkins=count(CheckIn, CheckIn.branch_id == branch_id, CheckIn.day >= first_day,
                       CheckIn.day <= last_day),
        activities=count(Activity, *held),
        attendances=attendances,
        deeds=count(Claim, Claim.branch_id == branch_id, Claim.rated_at >= start,
                    Claim.rated_at < end),
        errands=count(HelpRequest, HelpRequest.branch_id == branch_id,
                      HelpRequest.rating.is_not(None), HelpRequest.closed_at >= start,
                      HelpRequest.closed_at < end),
        problems=count(ProblemReport, ProblemReport.branch_id == branch_id,
                       ProblemReport.resolved_at >= start, ProblemReport.resolved_at < end))
