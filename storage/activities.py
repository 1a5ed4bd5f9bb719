"""Volunteer activities: sign-ups with capacity and waitlist, attendance, no-shows."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Executable,
    Insert,
    Select,
    and_,
    bindparam,
    exists,
    func,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from storage import points, states
from storage.db import counted_write, execute_core, insert_if_absent, insert_once
from storage.models import Activity, Attendance, NoShow, PointsEntry, Signup, SignupStatus


@dataclass(frozen=True)
class Counts:
    confirmed: int
    waitlisted: int


def create(session: Session, **fields: object) -> Activity:
    activity = Activity(**fields)
    session.add(activity)
    session.flush()
    return activity


def get(session: Session, activity_id: int) -> Activity | None:
    return session.get(Activity, activity_id)


def locked(session: Session, activity_id: int) -> Activity | None:
    """The activity, row-locked until the end of the transaction (sign-ups queue behind it).

    SQLite needs no row lock: every write transaction there begins IMMEDIATE.
    """
    return session.scalar(select(Activity).where(Activity.id == activity_id)
                          .with_for_update().execution_options(populate_existing=True))


def upcoming(session: Session, branch_id: int, now: dt.datetime) -> Sequence[Activity]:
    """Activities of a branch that have not ended, soonest first."""
    return session.scalars(select(Activity).where(
        Activity.branch_id == branch_id, Activity.ends_at > now,
        Activity.cancelled_at.is_(None)).order_by(Activity.starts_at, Activity.id)).all()


def titles(session: Session, branch_id: int) -> dict[int, str]:
    """Id -> title of a branch's activities that were not cancelled (for addressing)."""
    rows = session.execute(select(Activity.id, Activity.title).where(
        Activity.branch_id == branch_id, Activity.cancelled_at.is_(None)))
    return {row.id: row.title for row in rows}


def recent(session: Session, branch_id: int, since: dt.datetime) -> Sequence[Activity]:
    """Activities of a branch that end after `since` (for reports and sign-in)."""
    return session.scalars(select(Activity).where(
        Activity.branch_id == branch_id, Activity.ends_at > since,
        Activity.cancelled_at.is_(None)).order_by(Activity.starts_at, Activity.id)).all()


def counts(session: Session, activity_id: int) -> Counts:
    rows: dict[str, int] = {status: count for status, count in session.execute(
        select(Signup.status, func.count()).where(Signup.activity_id == activity_id)
        .group_by(Signup.status))}
    return Counts(rows.get(SignupStatus.CONFIRMED, 0), rows.get(SignupStatus.WAITLISTED, 0))


def signup_of(session: Session, activity_id: int, person_id: int) -> Signup | None:
    return session.scalar(select(Signup).where(Signup.activity_id == activity_id,
                                               Signup.person_id == person_id))


def join(session: Session, activity: Activity, person_id: int, now: dt.datetime, *,
         walk_in: bool = False) -> tuple[Signup, bool]:
    """Take a seat, or a place on the waitlist; False when the person already had one.

    Call with the activity locked (see `locked`), so the seat count cannot change meanwhile.
    """
    existing = signup_of(session, activity.id, person_id)
    if existing is not None and existing.status != SignupStatus.CANCELLED:
        return existing, False
    seated = counts(session, activity.id).confirmed < activity.capacity
    status = SignupStatus.CONFIRMED if seated else SignupStatus.WAITLISTED
    if existing is None:
        existing = Signup(activity_id=activity.id, person_id=person_id, status=status,
                          queued_at=now, walk_in=walk_in)
        session.add(existing)
    else:
        states.move(existing, status)
        existing.queued_at, existing.cancelled_at = now, None
        existing.walk_in = walk_in
    session.flush()
    return existing, True


def leave(session: Session, activity: Activity, person_id: int,
          now: dt.datetime) -> tuple[str, Signup | None]:
    """Cancel a place; returns the status it had and whoever was promoted into the seat."""
    signup = signup_of(session, activity.id, person_id)
    if signup is None or signup.status == SignupStatus.CANCELLED:
        return SignupStatus.CANCELLED, None
    was = signup.status
    states.move(signup, SignupStatus.CANCELLED)
    signup.cancelled_at = now
    session.flush()
    return was, promote_first(session, activity) if was == SignupStatus.CONFIRMED else None


def promote_first(session: Session, activity: Activity) -> Signup | None:
    """Give a free seat to the first on the waitlist."""
    if counts(session, activity.id).confirmed >= activity.capacity:
        return None
    first = session.scalar(select(Signup).where(
        Signup.activity_id == activity.id, Signup.status == SignupStatus.WAITLISTED)
        .order_by(Signup.queued_at, Signup.id).limit(1))
    if first is not None:
        states.move(first, SignupStatus.CONFIRMED)
        session.flush()
    return first


def people_with(session: Session, activity_id: int, status: str) -> list[int]:
    """Person ids with this sign-up status, in the order they joined."""
    return list(session.scalars(select(Signup.person_id).where(
        Signup.activity_id == activity_id, Signup.status == status)
        .order_by(Signup.queued_at, Signup.id)))


def signups_of_person(session: Session, person_id: int,
                      activity_ids: Sequence[int]) -> Sequence[Signup]:
    return session.scalars(select(Signup).where(
        Signup.person_id == person_id, Signup.activity_id.in_(activity_ids),
        Signup.status != SignupStatus.CANCELLED)).all()


@dataclass(frozen=True)
class Attended:
    """A person's sign-in at an activity (signed_out_at None while they are there)."""

    id: int
    signed_in_at: dt.datetime
    signed_out_at: dt.datetime | None


def held(session: Session, activity_id: int) -> Activity | None:
    """The activity, loaded once per transaction: a batch's scans of one code share it (the
    session's identity map forgets an entity nothing refers to, and would load it again)."""
    kept: dict[int, Activity] = session.info.setdefault(_HELD, {})
    if activity_id not in kept:
        found = session.get(Activity, activity_id)
        if found is None:
            return None
        kept[activity_id] = found
    return kept[activity_id]


_HELD = "activities held"


@dataclass(frozen=True)
class PersonAt:
    """One person's attendance and sign-up status at an activity (each None when there is
    none)."""

    attendance: Attended | None
    signup_status: str | None


def person_at(session: Session, activity_id: int, person_id: int) -> PersonAt:
    """The person's attendance and sign-up status, in one query of plain columns."""
    row = execute_core(session, _PERSON_AT, {"activity": activity_id,
                                              "person": person_id}).first()
    if row is None:
        return PersonAt(None, None)
    attendance_id, signed_in_at, signed_out_at, signup_status = tuple(row)
    attended = (None if attendance_id is None
                else Attended(attendance_id, signed_in_at, signed_out_at))
    return PersonAt(attended, signup_status)


# Built once: this runs on most scans.
_PERSON_AT = (
    select(Attendance.id, Attendance.signed_in_at, Attendance.signed_out_at, Signup.status)
    .select_from(Activity)
    .outerjoin(Attendance, and_(Attendance.activity_id == Activity.id,
                                Attendance.person_id == bindparam("person")))
    .outerjoin(Signup, and_(Signup.activity_id == Activity.id,
                            Signup.person_id == bindparam("person")))
    .where(Activity.id == bindparam("activity")))


def attendance(session: Session, activity_id: int, person_id: int) -> Attendance | None:
    return session.scalar(select(Attendance).where(Attendance.activity_id == activity_id,
                                                   Attendance.person_id == person_id))


def sign_in(session: Session, activity_id: int, person_id: int, now: dt.datetime,
            walk_in: bool, award: points.Award | None = None, *, booked: bool = False,
            ) -> bool:
    """Record arrival once, with the points it earns (`award`, added once per its source);
    False, and nothing written, when the person had already signed in or, with `booked`,
    holds no confirmed place. On PostgreSQL one statement: a scan's round trip less."""
    values = {"activity_id": activity_id, "person_id": person_id, "signed_in_at": now,
              "walk_in": walk_in}
    dialect = session.get_bind().dialect.name
    statement: Executable
    if award is not None and dialect == "postgresql":
        statement = _sign_in_awarded(booked)
        values |= {f"award_{name}": value for name, value in award.values().items()}
        award = None  # added by the same statement
    else:
        statement = _sign_in_statement(dialect, booked)
    if execute_core(session, statement, values).first() is None:
        return False
    counted_write(session)
    if award is not None:
        points.add(session, award)
    return True


@functools.cache
def _sign_in_statement(dialect: str, booked: bool) -> Insert:
    """The attendance row unless there is one (and, when `booked`, only for a person with a
    confirmed place), returning its id. Built once: this runs on every scan."""
    columns = [Attendance.__table__.c[name] for name in (
        "activity_id", "person_id", "signed_in_at", "walk_in")]
    # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT, even an always-true one.
    chosen = select(*[bindparam(c.name, type_=c.type) for c in columns]).where(true())
    if booked:
        chosen = chosen.where(exists().where(
            Signup.activity_id == bindparam("activity_id"),
            Signup.person_id == bindparam("person_id"),
            Signup.status == SignupStatus.CONFIRMED))
    statement: Insert = insert_once(dialect, Attendance.__table__).from_select(columns, chosen)
    return statement


@functools.cache
def _sign_in_awarded(booked: bool) -> Select[tuple[int, int]]:
    """The attendance row and, when it was added, the points entry, in one statement
    (data-modifying WITHs, PostgreSQL only): a row when the sign-in was new."""
    signed = _sign_in_statement("postgresql", booked).cte("signed")
    entries = PointsEntry.__table__
    columns = [entries.c[name] for name in (
        "person_id", "branch_id", "points", "reason", "source", "at", "note")]
    awarded = (postgresql.insert(PointsEntry)
               .from_select(columns, select(*[
                   bindparam(f"award_{c.name}", type_=c.type) for c in columns])
                   .select_from(signed))
               .on_conflict_do_nothing().returning(PointsEntry.id).cte("awarded"))
    return select(signed.c.id, select(func.count()).select_from(awarded).scalar_subquery())


def sign_out(session: Session, attendance_id: int, now: dt.datetime) -> bool:
    """Record leaving once; False when already signed out."""
    result = session.execute(update(Attendance).where(
        Attendance.id == attendance_id, Attendance.signed_out_at.is_(None))
        .values(signed_out_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def attendances(session: Session, activity_id: int) -> Sequence[Attendance]:
    return session.scalars(select(Attendance).where(Attendance.activity_id == activity_id)
                           .order_by(Attendance.signed_in_at)).all()


def record_no_show(session: Session, activity_id: int, person_id: int, reason: str,
                   now: dt.datetime) -> bool:
    return insert_if_absent(session, NoShow, {"activity_id": activity_id, "person_id": person_id,
                                              "reason": reason, "recorded_at": now})


def no_shows(session: Session, activity_id: int) -> Sequence[NoShow]:
    return session.scalars(select(NoShow).where(NoShow.activity_id == activity_id)
                           .order_by(NoShow.id)).all()


def unexcused_no_shows(session: Session, person_id: int) -> int:
    return session.scalar(select(func.count()).select_from(NoShow).where(
        NoShow.person_id == person_id, NoShow.excused_at.is_(None))) or 0


def excuse(session: Session, person_id: int, by_person: int, now: dt.datetime,
           activity_id: int | None = None) -> int:
    """Excuse one activity's no-show, or (activity None) all of a person's; returns how many."""
    query = update(NoShow).where(NoShow.person_id == person_id, NoShow.excused_at.is_(None))
    if activity_id is not None:
        query = query.where(NoShow.activity_id == activity_id)
    result = session.execute(query.values(excused_at=now, excused_by=by_person))
    return int(result.rowcount)  # type: ignore[attr-defined]


def upcoming_places(session: Session, person_id: int, now: dt.datetime) -> list[int]:
    """Activities not yet started on which the person holds a place or a waitlist spot."""
    return list(session.scalars(select(Signup.activity_id).join(
        Activity, Activity.id == Signup.activity_id).where(
        Signup.person_id == person_id, Signup.status != SignupStatus.CANCELLED,
        Activity.starts_at > now).order_by(Signup.activity_id)))
