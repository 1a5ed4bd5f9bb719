"""The ledger (台账): what a branch recorded in a period, read as streams of plain rows.

Large tables are read with `yield_per`, so a big branch is never loaded whole; each function
yields tuples in the order of the columns its docstring names. Times are aware UTC datetimes;
codes (statuses, categories) are returned as stored, for the caller to put into words.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from storage.models import (
    Account,
    Ack,
    Activity,
    Attendance,
    Branch,
    CheckIn,
    Claim,
    Delivery,
    DeliveryState,
    HelpRequest,
    MemberProfile,
    MemberStatus,
    NeedItem,
    NoShow,
    Notice,
    NoticeRun,
    PointsEntry,
    ProblemReport,
    Signup,
)

BATCH = 1000
# Runs of a notice that actually went out (or are going out).
SENT_RUN_STATES = ("sending", "done")


@dataclass(frozen=True)
class Period:
    """Local days `first`..`last` (inclusive) and the UTC instants [start, end) they span."""

    first: dt.date
    last: dt.date
    start: dt.datetime
    end: dt.datetime


def _name(person: Any, branch_id: int) -> ColumnElement[str]:
    """A person's name as the branch knows it: registered name, else a platform name."""
    registered = (select(MemberProfile.name)
                  .where(MemberProfile.person_id == person, MemberProfile.branch_id == branch_id)
                  .scalar_subquery())
    shown = (select(func.max(Account.display_name)).where(Account.person_id == person)
             .scalar_subquery())
    return func.coalesce(registered, shown, "")


def _stream(session: Session, query: Any) -> Iterator[tuple[Any, ...]]:
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        yield tuple(row)


def _within(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


def roster(session: Session, branch_id: int) -> Iterator[tuple[Any, ...]]:
    """name, building, kind, registered_here, skills, status, submitted_at, decided_at."""
    p = MemberProfile
    return _stream(session, select(p.name, p.building, p.kind, p.registered_here, p.skills,
                                   p.status, p.submitted_at, p.decided_at)
                   .where(p.branch_id == branch_id).order_by(p.building, p.name, p.id))


@dataclass(frozen=True)
class CheckInRecord:
    """A person's check-ins in the period: how many, and on which days."""

    name: str
    building: str
    days: list[dt.date]


def checkins(session: Session, branch_id: int, period: Period) -> list[CheckInRecord]:
    """Everyone who checked in during the period, by building and name.

    The check-ins themselves are streamed; only one line per person is kept.
    """
    c = CheckIn
    days: dict[int, list[dt.date]] = defaultdict(list)
    for person_id, day in _stream(session, select(c.person_id, c.day).where(
            c.branch_id == branch_id, c.day >= period.first, c.day <= period.last)
            .order_by(c.person_id, c.day)):
        days[person_id].append(day)
    names = _names(session, list(days), branch_id)
    records = [CheckInRecord(*names.get(pid, ("", "")), found) for pid, found in days.items()]
    return sorted(records, key=lambda r: (r.building, r.name))


@dataclass(frozen=True)
class Participant:
    """One person's part in an activity: sign-up, attendance and no-show, any may be missing."""

    name: str
    building: str
    signup_status: str | None
    walk_in: bool
    signed_in_at: dt.datetime | None
    signed_out_at: dt.datetime | None
    hours: float
    no_show: str | None


@dataclass(frozen=True)
class ActivityRecord:
    activity: Activity
    participants: list[Participant]

    def count(self, status: str) -> int:
        return sum(1 for p in self.participants if p.signup_status == status)

    @property
    def attended(self) -> int:
        return sum(1 for p in self.participants if p.signed_in_at is not None)

    @property
    def walk_ins(self) -> int:
        return sum(1 for p in self.participants if p.walk_in)

    @property
    def no_shows(self) -> int:
        return sum(1 for p in self.participants if p.no_show is not None)

    @property
    def hours(self) -> float:
        return sum(p.hours for p in self.participants)


def served_hours(item: Activity, signed_in: dt.datetime, signed_out: dt.datetime | None) -> float:
    """Hours between sign-in and sign-out, never more than the activity lasted."""
    if signed_out is None:
        return 0.0
    served = min(signed_out - signed_in, item.ends_at - item.starts_at)
    return max(served.total_seconds(), 0) / 3600


def activities(session: Session, branch_id: int, period: Period) -> Iterator[ActivityRecord]:
    """Activities starting in the period, each with everyone who signed up, came or not."""
    found = session.scalars(select(Activity).where(
        Activity.branch_id == branch_id, _within(Activity.starts_at, period))
        .order_by(Activity.starts_at, Activity.id)).all()
    for item in found:
        yield ActivityRecord(item, _participants(session, item, branch_id))


def _participants(session: Session, item: Activity, branch_id: int) -> list[Participant]:
    signups = {s.person_id: s for s in session.scalars(
        select(Signup).where(Signup.activity_id == item.id))}
    came = {a.person_id: a for a in session.scalars(
        select(Attendance).where(Attendance.activity_id == item.id))}
    missed = {n.person_id: n for n in session.scalars(
        select(NoShow).where(NoShow.activity_id == item.id))}
    people = sorted(set(signups) | set(came) | set(missed))
    names = _names(session, people, branch_id)
    rows = []
    for person_id in people:
        signup, attendance, no_show = (signups.get(person_id), came.get(person_id),
                                       missed.get(person_id))
        name, building = names.get(person_id, ("", ""))
        rows.append(Participant(
            name, building, signup.status if signup else None,
            bool((signup and signup.walk_in) or (attendance and attendance.walk_in)),
            attendance.signed_in_at if attendance else None,
            attendance.signed_out_at if attendance else None,
            served_hours(item, attendance.signed_in_at, attendance.signed_out_at)
            if attendance else 0.0,
            _no_show_code(no_show)))
    return rows


def _no_show_code(no_show: NoShow | None) -> str | None:
    if no_show is None:
        return None
    return "excused" if no_show.excused_at is not None else no_show.reason


def _names(session: Session, person_ids: list[int],
           branch_id: int) -> dict[int, tuple[str, str]]:
    """(name, building) of each person, as the branch knows them."""
    found: dict[int, tuple[str, str]] = {}
    for at in range(0, len(person_ids), BATCH):
        chunk = person_ids[at:at + BATCH]
        shown = session.execute(select(Account.person_id, func.max(Account.display_name))
                                .where(Account.person_id.in_(chunk))
                                .group_by(Account.person_id))
        found |= {person_id: (name or "", "") for person_id, name in shown}
        registered = session.execute(
            select(MemberProfile.person_id, MemberProfile.name, MemberProfile.building)
            .where(MemberProfile.branch_id == branch_id, MemberProfile.person_id.in_(chunk)))
        found |= {person_id: (name, building) for person_id, name, building in registered}
    return found


def claims(session: Session, branch_id: int, period: Period) -> Iterator[tuple[Any, ...]]:
    """item, name, pledge, claimed_at, done_at, done_note, rating, rating_comment, rated_at,
    status — claims made, fulfilled or rated in the period."""
    c = Claim
    return _stream(session, select(
        NeedItem.name, _name(c.person_id, branch_id), c.pledge, c.claimed_at, c.done_at,
        c.done_note, c.rating, c.rating_comment, c.rated_at, c.status)
        .join(NeedItem, NeedItem.id == c.item_id)
        .where(c.branch_id == branch_id, or_(_within(c.claimed_at, period),
                                             _within(c.done_at, period),
                                             _within(c.rated_at, period)))
        .order_by(c.claimed_at, c.id))


def help_requests(session: Session, branch_id: int,
                  period: Period) -> Iterator[tuple[Any, ...]]:
    """id, created_at, category, building, text, requester, status, helper, taken_at, done_at,
    rating, escalation — asked or finished in the period. Contact details are never read."""
    h = HelpRequest
    return _stream(session, select(
        h.id, h.created_at, h.category, h.building, h.text, _name(h.requester_id, branch_id),
        h.status, func.coalesce(_name(h.helper_id, branch_id), ""), h.taken_at, h.done_at,
        h.rating, h.escalation)
        .where(h.branch_id == branch_id, or_(_within(h.created_at, period),
                                             _within(h.done_at, period),
                                             _within(h.closed_at, period)))
        .order_by(h.created_at, h.id))


def problem_reports(session: Session, branch_id: int,
                    period: Period) -> Iterator[tuple[Any, ...]]:
    """id, created_at, reporter, text, status, assignee, note, resolved_at — reported or
    resolved in the period."""
    r = ProblemReport
    return _stream(session, select(
        r.id, r.created_at, _name(r.reporter_id, branch_id), r.text, r.status,
        func.coalesce(_name(r.assignee_id, branch_id), ""), r.note, r.resolved_at)
        .where(r.branch_id == branch_id, or_(_within(r.created_at, period),
                                             _within(r.resolved_at, period)))
        .order_by(r.created_at, r.id))


@dataclass(frozen=True)
class NoticeRecord:
    """One sending of a notice with its delivery and 收到 counts."""

    notice_id: int
    sent_at: dt.datetime
    text: str
    target: str
    rule: str
    groups_sent: int
    groups: int
    acked: int
    members: int


def notices(session: Session, branch_id: int, period: Period) -> Iterator[NoticeRecord]:
    """The branch's notices sent in the period, with acknowledgement counts among members."""
    sent_at = func.coalesce(NoticeRun.started_at, NoticeRun.planned_at)
    runs = session.execute(
        select(NoticeRun.id, sent_at, NoticeRun.text, Notice.id, Notice.text, Notice.target,
               Notice.rule, Notice.branch_id)
        .join(Notice, Notice.id == NoticeRun.notice_id)
        .where(Notice.branch_id == branch_id, NoticeRun.state.in_(SENT_RUN_STATES),
               _within(sent_at, period))
        .order_by(sent_at, NoticeRun.id)).all()
    member_sets: dict[str, set[int]] = {}
    for run_id, at, run_text, notice_id, text, target, rule, _ in runs:
        key = "community" if target == "community" else "branch"
        if key not in member_sets:
            member_sets[key] = _verified_members(session, branch_id, key == "community")
        members = member_sets[key]
        acked = set(session.scalars(select(Ack.person_id).where(Ack.run_id == run_id)))
        sent, total = _deliveries(session, run_id)
        yield NoticeRecord(notice_id, at, run_text or text, target, rule, sent, total,
                           len(acked & members), len(members))


def _verified_members(session: Session, branch_id: int, whole_community: bool) -> set[int]:
    query = select(MemberProfile.person_id).where(MemberProfile.status == MemberStatus.VERIFIED)
    if whole_community:
        community = select(Branch.community_id).where(Branch.id == branch_id).scalar_subquery()
        query = query.join(Branch, Branch.id == MemberProfile.branch_id).where(
            Branch.community_id == community)
    else:
        query = query.where(MemberProfile.branch_id == branch_id)
    return set(session.scalars(query))


def _deliveries(session: Session, run_id: int) -> tuple[int, int]:
    row = session.execute(select(
        func.count().filter(Delivery.state == DeliveryState.SENT), func.count())
        .where(Delivery.run_id == run_id)).one()
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class PointsRecord:
    """A person's points in the period, by reason, and their total up to the period's end."""

    name: str
    building: str
    by_reason: dict[str, int]
    total: int

    @property
    def in_period(self) -> int:
        return sum(self.by_reason.values())


def points(session: Session, branch_id: int, period: Period) -> list[PointsRecord]:
    """Everyone with points in the branch, most points in the period first."""
    e = PointsEntry
    by_person: dict[int, dict[str, int]] = defaultdict(dict)
    for person_id, reason, amount in session.execute(
            select(e.person_id, e.reason, func.sum(e.points))
            .where(e.branch_id == branch_id, _within(e.at, period))
            .group_by(e.person_id, e.reason)):
        by_person[person_id][reason] = int(amount)
    totals = dict(session.execute(
        select(e.person_id, func.sum(e.points))
        .where(e.branch_id == branch_id, e.at < period.end).group_by(e.person_id)).all())
    names = _names(session, sorted(totals), branch_id)
    records = [PointsRecord(*names.get(pid, ("", "")), by_person.get(pid, {}), int(total))
               for pid, total in totals.items()]
    return sorted(records, key=lambda r: (-r.in_period, -r.total, r.name))
