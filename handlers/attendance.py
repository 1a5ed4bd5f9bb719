"""现场扫码签到: QR codes for sign-in and sign-out, the scan itself, and the report.

`/qr <activity>` gives the secretary, privately, a printed code for each direction and a link
to a page whose code changes every N seconds, so a photo sent home stops working. A scan is
`/start ci_…`: sign-in is recorded once; sign-out records the hours, capped at the activity's
length. Someone who did not sign up is a walk-in while seats remain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from handlers import points, qrcodes
from handlers.activities import ForActivity, pick, refresh_cards
from handlers.addressing import activity_title
from handlers.context import ButtonSpec, Context
from handlers.errors import DomainError
from handlers.links import is_public
from handlers.moments import short
from handlers.personal import Erase, PersonalData, Reference
from handlers.roles import Role, require, require_branch
from handlers.router import Command, Feature, On
from storage import activities, orgs, states
from storage.ledger import served_hours
from storage.models import Activity, Attendance, SignupStatus

DIRECTIONS = {"i": "in", "o": "out"}


def qr(ctx: Context, args: str) -> None:
    """签到码: the secretary's sign-in and sign-out codes for an activity, sent privately."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    chosen = pick(ctx, args, list(activities.recent(ctx.session, branch.id, ctx.now)), QrFor)
    if chosen is not None:
        _send_codes(ctx, chosen)


@dataclass(frozen=True)
class QrFor(ForActivity, prefix="qr"):
    """An activity chosen from the list `/qr` offered."""


@dataclass(frozen=True)
class ReportFor(ForActivity, prefix="report"):
    """An activity chosen from the list `/activity report` offered."""


def qr_button(ctx: Context, tapped: QrFor) -> None:
    """An activity chosen from the list `/qr` offered."""
    item = activities.get(ctx.session, tapped.activity_id)
    if item is None:
        raise DomainError("button_expired")
    branch = orgs.branch(ctx.session, item.branch_id)
    require(ctx, Role.SECRETARY, branch)
    _send_codes(ctx, item)


def _send_codes(ctx: Context, item: Activity) -> None:
    """Both printed codes; the rotating page's link as a button, or in words below public https."""
    closes = item.ends_at + dt.timedelta(minutes=ctx.rules.signin_closes_minutes)
    key = qrcodes.display_key(ctx.rules.secret, item.id, closes)
    pages = {d: f"{ctx.rules.public_url}/qr/{item.id}?key={key}&d={d}" for d in DIRECTIONS}
    buttons = is_public(ctx.rules.public_url)
    for direction in DIRECTIONS:
        button = [[ButtonSpec.of("qr.button.rotating", url=pages[direction])]] if buttons else None
        ctx.reply_private(f"qr.caption.{DIRECTIONS[direction]}", button, title=item.title,
                          opens=short(_opens(ctx, item), ctx.local_now),
                          closes=short(closes, ctx.local_now))
        ctx.outbox[-1].qr_payload = qrcodes.make(ctx.rules.secret, item.id, direction)
    if not buttons:
        ctx.reply_private("qr.pages_local", sign_in=pages["i"], sign_out=pages["o"])


def _opens(ctx: Context, item: Activity) -> dt.datetime:
    return item.starts_at - dt.timedelta(minutes=ctx.rules.signin_opens_minutes)


def scan(ctx: Context, scanned: qrcodes.SignInCode) -> None:
    """A scanned code arrives as `/start ci_…`."""
    code = qrcodes.verify(ctx.rules.secret, scanned)
    item = activities.held(ctx.session, code.activity_id)
    if item is None:
        raise DomainError("code_forged")
    if item.cancelled_at is not None:
        raise DomainError("activity_cancelled", title=item.title, reason=item.cancel_reason)
    _check_window(ctx, item)
    qrcodes.check_fresh(code, ctx.now, ctx.rules.qr_period_seconds)
    if code.direction == "i":
        _sign_in(ctx, item)
    else:
        _sign_out(ctx, item, activities.person_at(ctx.session, item.id, ctx.person.id))


def _check_window(ctx: Context, item: Activity) -> None:
    if ctx.now < _opens(ctx, item):
        raise DomainError("not_open", title=item.title,
                          opens=short(_opens(ctx, item), ctx.local_now))
    if ctx.now > item.ends_at + dt.timedelta(minutes=ctx.rules.signin_closes_minutes):
        raise DomainError("ended", title=item.title)


def _sign_in(ctx: Context, item: Activity) -> None:
    award = points.for_attending(ctx, item, ctx.person.id)
    # Most who scan hold a confirmed place and are not in yet: one statement does it.
    if activities.sign_in(ctx.session, item.id, ctx.person.id, ctx.now, False, award,
                          booked=True):
        _signed_in(ctx, item, walk_in=False)
        return
    found = activities.person_at(ctx.session, item.id, ctx.person.id)
    if found.attendance is not None:
        raise DomainError("already_signed_in", title=item.title,
                          time=_hhmm(ctx, found.attendance.signed_in_at))
    walk_in = _take_seat(ctx, item, found.signup_status)
    if not activities.sign_in(ctx.session, item.id, ctx.person.id, ctx.now, walk_in, award):
        raise DomainError("already_signed_in", title=item.title, time=_hhmm(ctx, ctx.now))
    _signed_in(ctx, item, walk_in)


def _signed_in(ctx: Context, item: Activity, walk_in: bool) -> None:
    ctx.reply("scan.signed_in_walk_in" if walk_in else "scan.signed_in", title=item.title,
              time=_hhmm(ctx, ctx.now), count=item.points)
    if walk_in:
        refresh_cards(ctx, item)


def _take_seat(ctx: Context, item: Activity, signup_status: str | None) -> bool:
    """True for a walk-in who got a free seat; refused as `full` when none is left."""
    if signup_status == SignupStatus.CONFIRMED:
        return False  # their seat is theirs: no need to queue on the activity's lock
    locked = activities.locked(ctx.session, item.id)
    assert locked is not None
    signup = activities.signup_of(ctx.session, item.id, ctx.person.id)
    if activities.counts(ctx.session, item.id).confirmed >= item.capacity:
        raise DomainError("full", title=item.title)
    if signup is not None and signup.status == SignupStatus.WAITLISTED:
        states.move(signup, SignupStatus.CONFIRMED)
        return True
    activities.join(ctx.session, locked, ctx.person.id, ctx.now, walk_in=True)
    return True


def _sign_out(ctx: Context, item: Activity, at: activities.PersonAt) -> None:
    if ctx.now < item.starts_at:
        raise DomainError("sign_out_before_start", title=item.title,
                          start=_hhmm(ctx, item.starts_at))
    found = at.attendance
    if found is None:
        raise DomainError("not_signed_in", title=item.title)
    if not activities.sign_out(ctx.session, found.id, ctx.now):
        raise DomainError("already_signed_out", title=item.title,
                          time=_hhmm(ctx, found.signed_out_at or ctx.now))
    served = served_hours(item, found.signed_in_at, ctx.now)
    points.for_hours(ctx, item, ctx.person.id, served)
    ctx.reply("scan.signed_out", title=item.title, time=_hhmm(ctx, ctx.now),
              hours=f"{served:.1f}")


def hours(row: Attendance, item: Activity) -> float:
    """Hours between sign-in and sign-out, never more than the activity lasted."""
    return served_hours(item, row.signed_in_at, row.signed_out_at)


def _hhmm(ctx: Context, moment: dt.datetime) -> str:
    return f"{ctx.local(moment):%H:%M}"


def report(ctx: Context, args: str) -> None:
    """`/activity report <title>`: who signed up, came, did not come, walked in; hours."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    since = ctx.now - dt.timedelta(days=30)
    chosen = pick(ctx, args, list(activities.recent(ctx.session, branch.id, since)), ReportFor)
    if chosen is not None:
        _report(ctx, chosen)


def report_button(ctx: Context, tapped: ReportFor) -> None:
    item = activities.get(ctx.session, tapped.activity_id)
    if item is None:
        raise DomainError("button_expired")
    require(ctx, Role.SECRETARY, orgs.branch(ctx.session, item.branch_id))
    _report(ctx, item)


def _report(ctx: Context, item: Activity) -> None:
    rows = activities.attendances(ctx.session, item.id)
    signed_up = activities.people_with(ctx.session, item.id, SignupStatus.CONFIRMED)
    came = {r.person_id for r in rows}
    recorded = [n.person_id for n in activities.no_shows(ctx.session, item.id)
                if n.excused_at is None]
    # Before the closing timer runs, a confirmed person not yet signed in counts as absent.
    started = ctx.now >= item.starts_at
    absent = list(dict.fromkeys(recorded + [p for p in signed_up if started and p not in came]))

    def names(ids: list[int]) -> str:
        shown = [ctx.name_of(p, item.branch_id) for p in ids]
        return ctx.t("list.separator").join(shown) or ctx.t("report.nobody")

    walk_ins = [r.person_id for r in rows if r.walk_in]
    ctx.reply_private(
        "report.text", title=item.title, signed_up=len(signed_up),
        capacity=item.capacity, signed_in=len(rows),
        # Only said when someone walked in: "（其中现场报名 0：无）" tells nobody anything.
        walk_ins=ctx.t("report.walk_ins", count=len(walk_ins), names=names(walk_ins))
        if walk_ins else "",
        no_shows=len(absent), no_show_names=names(absent),
        hours=f"{sum(hours(r, item) for r in rows):.1f}")


# Hours served stay as anonymous counts.
PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("attendance", Attendance, "person_id", erase=Erase.KEEP),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("qr", qr, role=Role.SECRETARY, takes=activity_title)],
    buttons=[On(QrFor, qr_button), On(ReportFor, report_button)],
    start_payloads=[On(qrcodes.SignInCode, scan)],
)
