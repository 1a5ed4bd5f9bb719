"""What the web desk's pages show, read with the chat's own role checks.

Each function takes the Context of the person looking (as a private message of theirs would
have) and returns plain rows for a template; actions are not here: the desk presses the same
buttons as the chat does (bot/desk/), so every rule stays in its feature.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from handlers import qrcodes
from handlers.activities import SignUp, Unsign
from handlers.activity_admin import (
    ActivityRoster,
    CancelActivity,
    EditActivity,
    roster_rows,
    secretary_activity,
)
from handlers.attendance import hours as served_hours
from handlers.context import Context
from handlers.errors import DomainError
from handlers.identity import KINDS, Reject, Verify, review_card
from handlers.ledger import period_of
from handlers.moments import span
from handlers.roles import Role, home_branch, require, require_branch, role_in
from handlers.text import excerpt
from storage import activities, ledger, people
from storage.ledger import Period
from storage.models import Activity, Branch, MemberProfile, MemberStatus, SignupStatus

ROSTER_PAGE = 200
LIVE_NAMES = 5
ACTIVITY_DAYS = 30
# Characters of a notice under its bar in the acknowledgement chart.
CHART_LABEL = 12
# Where the building number ends in an address: 楼, 幢 or "#" ("3号楼2单元", "5#301").
_BUILDING = re.compile(r"^.*?[\u697c\u5e62#]")


@dataclass(frozen=True)
class Overview:
    """Who is looking, and what they may open."""

    name: str
    role: Role
    branch: Branch | None

    @property
    def secretary(self) -> bool:
        return self.role >= Role.SECRETARY


def overview(ctx: Context) -> Overview:
    branch = home_branch(ctx)
    name = (people.shown_name(ctx.session, ctx.person.id, branch.id if branch else None)
            or ctx.account.display_name)
    return Overview(name, role_in(ctx, ctx.person.id, branch), branch)


def secretary_branch(ctx: Context) -> Branch:
    """The branch the sender is secretary of; refused as the chat would refuse."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    return branch


def not_found() -> DomainError:
    return DomainError("desk_not_found")


# ---------------------------------------------------------------- 亮身份


@dataclass(frozen=True)
class MyProfile:
    """亮身份 as a page: the person's branch and what they registered there, to change."""

    branch: Branch | None
    profile: MemberProfile | None
    kinds: tuple[str, ...]
    name_limit: int
    field_limit: int


def my_profile(ctx: Context) -> MyProfile:
    branch = home_branch(ctx)
    profile = people.profile(ctx.session, ctx.person.id, branch.id) if branch else None
    return MyProfile(branch, profile, KINDS, ctx.rules.max_name_length,
                     ctx.rules.max_field_length)


# ---------------------------------------------------------------- 待核实


@dataclass(frozen=True)
class Application:
    """A registration or change waiting for the secretary: the card the chat shows her, and
    the buttons she would press."""

    name: str
    text: str
    verify: str
    reject: str


def pending(ctx: Context) -> tuple[Branch, list[Application]]:
    """待核实 as a page: the same rows the chat lists, the sender's own left out."""
    branch = secretary_branch(ctx)
    rows = []
    for profile in people.awaiting_review(ctx.session, branch.id):
        if profile.person_id != ctx.person.id:
            key, _keyboard, params = review_card(profile, branch)
            rows.append(Application(profile.name, ctx.t(key, **params),
                                    Verify(profile.id).pack(), Reject(profile.id).pack()))
    return branch, rows


# ---------------------------------------------------------------- activities


@dataclass(frozen=True)
class ActivityRow:
    """An activity as a list shows it, with the sender's own place and the buttons."""

    item: Activity
    when: str
    confirmed: int
    waitlisted: int
    mine: str | None
    signup: str
    unsign: str


def _activity_row(ctx: Context, item: Activity) -> ActivityRow:
    counted = activities.counts(ctx.session, item.id)
    own = activities.signup_of(ctx.session, item.id, ctx.person.id)
    mine = own.status if own is not None and own.status != SignupStatus.CANCELLED else None
    return ActivityRow(item, span(ctx.t, item.starts_at, item.ends_at, ctx.local_now),
                       counted.confirmed, counted.waitlisted, mine, SignUp(item.id).pack(),
                       Unsign(item.id).pack())


def upcoming(ctx: Context) -> tuple[Branch | None, list[ActivityRow]]:
    """The branch's coming activities with 报名 / 取消, as the chat's list offers them."""
    branch = home_branch(ctx)
    if branch is None:
        return None, []
    found = activities.upcoming(ctx.session, branch.id, ctx.now)
    return branch, [_activity_row(ctx, item) for item in found if item.cancelled_at is None]


def recent(ctx: Context) -> tuple[Branch, list[ActivityRow]]:
    """The secretary's activities of the last month and to come."""
    branch = secretary_branch(ctx)
    since = ctx.now - dt.timedelta(days=ACTIVITY_DAYS)
    found = activities.recent(ctx.session, branch.id, since)
    return branch, [_activity_row(ctx, item) for item in found]


@dataclass(frozen=True)
class Participant:
    name: str
    building: str
    state: str
    hours: float = 0.0


@dataclass(frozen=True)
class Participants:
    """活动 名单 as a page, with the secretary-control buttons of the chat."""

    item: Activity
    when: str
    rows: list[Participant]
    cancel: str
    edit: str
    roster: str
    display_key: str

    def count(self, state: str) -> int:
        return sum(1 for row in self.rows if row.state == state)

    @property
    def hours(self) -> float:
        return sum(row.hours for row in self.rows)


def participants(ctx: Context, activity_id: int) -> Participants:
    item = secretary_activity(ctx, activity_id)
    came = {row.person_id: row for row in activities.attendances(ctx.session, item.id)}
    rows = []
    for person_id, state in roster_rows(ctx, item):
        profile = people.profile(ctx.session, person_id, item.branch_id)
        # Hours as the ledger counts them: sign-in to sign-out, capped at the activity's length.
        served = served_hours(came[person_id], item) if person_id in came else 0.0
        rows.append(Participant(people.shown_name(ctx.session, person_id, item.branch_id),
                                profile.building if profile else "", state, served))
    closes = item.ends_at + dt.timedelta(minutes=ctx.rules.signin_closes_minutes)
    return Participants(item, span(ctx.t, item.starts_at, item.ends_at, ctx.local_now), rows,
                        CancelActivity(item.id).pack(), EditActivity(item.id).pack(),
                        ActivityRoster(item.id).pack(),
                        qrcodes.display_key(ctx.rules.secret, item.id, closes))


@dataclass(frozen=True)
class Live:
    """The live sign-in screen's figures: how many are in, and the newest names."""

    count: int
    names: list[str] = field(default_factory=list)


def live(ctx: Context, activity_id: int) -> Live:
    item = secretary_activity(ctx, activity_id)
    return live_figures(ctx, item)


def live_figures(ctx: Context, item: Activity) -> Live:
    rows = sorted(activities.attendances(ctx.session, item.id), key=lambda a: a.signed_in_at)
    newest = rows[-LIVE_NAMES:][::-1]
    return Live(len(rows), [people.shown_name(ctx.session, a.person_id, item.branch_id)
                            for a in newest])


# ---------------------------------------------------------------- the roster


@dataclass(frozen=True)
class RosterFilter:
    """名册's search: a name or skill, a state, a building, a role (all optional)."""

    text: str = ""
    status: str = ""
    building: str = ""
    role: str = ""


@dataclass(frozen=True)
class RosterRow:
    name: str
    building: str
    kind: str
    status: str
    role: str
    skills: str


def roster(ctx: Context, wanted: RosterFilter) -> tuple[Branch, list[RosterRow], int]:
    """The branch's members matching `wanted` (at most ROSTER_PAGE), and how many match."""
    branch = secretary_branch(ctx)
    roles = {person_id: role for role in ("building_leader", "secretary")
             for person_id in people.holders(ctx.session, role, branch_id=branch.id)}
    rows = []
    for profile in people.roster(ctx.session, branch.id):
        role = roles.get(profile.person_id,
                         "member" if profile.status == MemberStatus.VERIFIED else "resident")
        if _matches(wanted, profile.name, profile.skills, profile.building, profile.status,
                    role):
            rows.append(RosterRow(profile.name, profile.building, profile.kind,
                                  profile.status, role, profile.skills))
    return branch, rows[:ROSTER_PAGE], len(rows)


def _matches(wanted: RosterFilter, name: str, skills: str, building: str, status: str,
             role: str) -> bool:
    text = wanted.text.strip()
    return ((not text or text in name or text in skills)
            and (not wanted.status or status == wanted.status)
            and (not wanted.building or wanted.building.strip() in building)
            and (not wanted.role or role == wanted.role))


# ---------------------------------------------------------------- the month in figures


@dataclass(frozen=True)
class Month:
    """A month of the branch in figures, for the charts."""

    period: Period
    checkins_per_day: list[tuple[str, int]]
    attendance: list[tuple[str, int, int]]
    ack_rates: list[tuple[str, float]]
    points_per_building: list[tuple[str, int]]


def month(ctx: Context, year: int, month_number: int) -> tuple[Branch, Month]:
    """The figures of the ledger's month, read from the same queries the ledger uses."""
    branch = secretary_branch(ctx)
    first = dt.date(year, month_number, 1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    period = period_of(first, last, ctx.rules.timezone)
    per_day: Counter[dt.date] = Counter()
    for record in ledger.checkins(ctx.session, branch.id, period):
        per_day.update(record.days)
    days = [first + dt.timedelta(days=n) for n in range(last.day)]
    attendance = [(r.activity.title, r.count(SignupStatus.CONFIRMED), r.attended)
                  for r in ledger.activities(ctx.session, branch.id, period)]
    rates = [(excerpt(r.text, CHART_LABEL), r.acked / r.members if r.members else 0.0)
             for r in ledger.notices(ctx.session, branch.id, period)]
    by_building: Counter[str] = Counter()
    for earned in ledger.points(ctx.session, branch.id, period):
        by_building[_building_of(earned.building)] += earned.in_period
    return branch, Month(period, [(f"{d.day}", per_day[d]) for d in days], attendance, rates,
                         sorted(by_building.items()))




def _building_of(address: str) -> str:
    """The building part of an address as members write it ("3号楼2单元" -> "3号楼")."""
    found = _BUILDING.match(address)
    return found.group() if found else (address or "-")
