"""报名 / 取消报名: seats, the waitlist, and what happens to those who do not come.

A repeated tap never takes a second seat. Cancelling gives the seat to the first on the
waitlist, who is told privately. Sign-up closes at the start; cancelling later than the
deadline counts as a no-show unless the secretary excuses it, and after enough unexcused
no-shows a person cannot sign up until the secretary lifts it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from handlers.activities import SignUp, Unsign, pick, refresh_cards
from handlers.addressing import activity_title
from handlers.context import ButtonSpec, Context, Scope
from handlers.errors import DomainError
from handlers.i18n import Phrase
from handlers.mentions import target_account
from handlers.moments import short
from handlers.payloads import ButtonData
from handlers.personal import Erase, PersonalData, Reference
from handlers.roles import Role, require, require_branch
from handlers.router import Command, Feature, On
from storage import activities, dialogs, orgs, people
from storage.models import Activity, Branch, NoShow, Signup, SignupStatus


def sign_up(ctx: Context, args: str) -> None:
    """`报名 <title>`: the activity picked by title (asked when unclear)."""
    branch = require_branch(ctx)
    chosen = pick(ctx, args, list(activities.upcoming(ctx.session, branch.id, ctx.now)),
                  SignUp)
    if chosen is not None:
        _join(ctx, chosen.id)


def signup_button(ctx: Context, tapped: SignUp) -> None:
    """The 报名 button on a card or a list."""
    _join(ctx, tapped.activity_id)


def _join(ctx: Context, activity_id: int) -> None:
    item = _open_activity(ctx, activity_id)
    closes = item.starts_at - dt.timedelta(minutes=ctx.rules.signup_closes_minutes)
    if item.starts_at <= ctx.now:
        raise DomainError("signup_closed", title=item.title)
    if closes <= ctx.now:
        raise DomainError("signup_closed_before_start", title=item.title,
                          closed=short(closes, ctx.local_now))
    missed = activities.unexcused_no_shows(ctx.session, ctx.person.id)
    if missed >= ctx.rules.no_show_limit:
        raise DomainError("signup_blocked", count=missed)
    signup, is_new = activities.join(ctx.session, item, ctx.person.id, ctx.now)
    if signup.status == SignupStatus.CONFIRMED:
        key = "signup.confirmed" if is_new else "signup.already_confirmed"
    else:
        key = "signup.waitlisted" if is_new else "signup.already_waitlisted"
    position = _waitlist_position(ctx, item)
    _answer(ctx, key, title=item.title, position=position)
    if is_new:
        refresh_cards(ctx, item)


def _open_activity(ctx: Context, activity_id: int) -> Activity:
    """The activity, locked for seat counting; one called off is refused with its reason."""
    item = activities.locked(ctx.session, activity_id)
    if item is None:
        raise DomainError("button_expired")
    if item.cancelled_at is not None:
        raise DomainError("activity_cancelled", title=item.title, reason=item.cancel_reason)
    return item


def _waitlist_position(ctx: Context, item: Activity) -> int:
    waiting = activities.people_with(ctx.session, item.id, SignupStatus.WAITLISTED)
    return waiting.index(ctx.person.id) + 1 if ctx.person.id in waiting else 0


def _answer(ctx: Context, key: str, **params: object) -> None:
    """A button press gets a pop-up; a typed command a reply."""
    if ctx.incoming.button_data is not None:
        ctx.toast(key, **params)
    else:
        ctx.reply(key, **params)


def cancel(ctx: Context, args: str) -> None:
    """`/cancel`: leave the form in progress, else cancel a sign-up (取消报名 <title>)."""
    if not args and dialogs.current(ctx.session, ctx.person.id) is not None:
        dialogs.finish(ctx.session, ctx.person.id)
        ctx.reply("dialog.cancelled")
        return
    cancel_signup(ctx, args)


def cancel_signup(ctx: Context, args: str) -> None:
    """取消报名: among the activities the person holds a place on."""
    branch = require_branch(ctx)
    coming = list(activities.upcoming(ctx.session, branch.id, ctx.now))
    mine = {s.activity_id for s in activities.signups_of_person(
        ctx.session, ctx.person.id, [a.id for a in coming])}
    if not mine:
        raise DomainError("nothing_to_cancel")
    chosen = pick(ctx, args, [a for a in coming if a.id in mine], Unsign)
    if chosen is not None:
        _leave(ctx, chosen.id)


def unsign_button(ctx: Context, tapped: Unsign) -> None:
    """The 取消 button on a card."""
    _leave(ctx, tapped.activity_id)


@dataclass(frozen=True)
class UnsignLate(ButtonData, prefix="unsignlate"):
    """确定 under the late-cancel warning: cancel, counted as a no-show."""

    activity_id: int


@dataclass(frozen=True)
class KeepSeat(ButtonData, prefix="keepseat"):
    """不取消 under the late-cancel warning."""

    activity_id: int


def unsign_late_button(ctx: Context, tapped: UnsignLate) -> None:
    _leave(ctx, tapped.activity_id, sure=True)


def keep_button(ctx: Context, tapped: KeepSeat) -> None:
    """不取消 under the late-cancel warning: the place stays."""
    item = activities.get(ctx.session, tapped.activity_id)
    if item is None:
        raise DomainError("button_expired")
    ctx.edit("signup.kept", title=item.title)


def _leave(ctx: Context, activity_id: int, *, sure: bool = False) -> None:
    item = _open_activity(ctx, activity_id)
    if item.starts_at <= ctx.now:
        raise DomainError("cancel_closed", title=item.title)
    if activities.attendance(ctx.session, item.id, ctx.person.id) is not None:
        raise DomainError("cancel_signed_in", title=item.title)
    held = activities.signup_of(ctx.session, item.id, ctx.person.id)
    if held is None or held.status == SignupStatus.CANCELLED:
        raise DomainError("not_signed_up", title=item.title)
    late = held.status == SignupStatus.CONFIRMED and _after_deadline(ctx, item)
    if late and not sure:
        _warn_late(ctx, item)
        return
    _was, promoted = activities.leave(ctx.session, item, ctx.person.id, ctx.now)
    if late:
        _record_late_cancel(ctx, item)
        ctx.edit("signup.cancelled_late", title=item.title,
                 blocked=blocked_line(ctx, ctx.person.id))
    else:
        _answer(ctx, "signup.cancelled", title=item.title)
    if promoted is not None:
        ctx.tell(promoted.person_id, "signup.promoted", title=item.title,
                 start=short(item.starts_at, ctx.local_now), place=item.place)
    refresh_cards(ctx, item)


def _warn_late(ctx: Context, item: Activity) -> None:
    """Before a cancel that counts as a no-show: say so, privately, and let them choose."""
    keyboard = [[ButtonSpec.of("signup.button.sure", UnsignLate(item.id)),
                 ButtonSpec.of("signup.button.keep", KeepSeat(item.id))]]
    ctx.reply_private("signup.late_warning", keyboard, title=item.title,
                      hours=f"{ctx.rules.cancel_deadline_hours:g}")
    if ctx.incoming.button_data is not None and ctx.in_group:
        ctx.toast("signup.late_warning_sent")


def _after_deadline(ctx: Context, item: Activity) -> bool:
    return ctx.now > item.starts_at - dt.timedelta(hours=ctx.rules.cancel_deadline_hours)


def _record_late_cancel(ctx: Context, item: Activity) -> None:
    activities.record_no_show(ctx.session, item.id, ctx.person.id, "late_cancel", ctx.now)
    name = ctx.name_of(ctx.person.id, item.branch_id)
    keyboard = [[ButtonSpec.of("signup.button.excuse", Excuse(item.id, ctx.person.id))]]
    for secretary in people.holders(ctx.session, "secretary", branch_id=item.branch_id):
        ctx.tell(secretary, "signup.late_cancel_notice", keyboard, name=name, title=item.title)


def blocked_line(scope: Scope, person_id: int) -> object:
    """"已有 2 次缺席，暂时不能报名" once the no-shows reach the limit, else nothing."""
    missed = activities.unexcused_no_shows(scope.session, person_id)
    return Phrase.of("signup.blocked_line", count=missed) if missed >= scope.rules.no_show_limit \
        else ""


@dataclass(frozen=True)
class Excuse(ButtonData, prefix="excuse"):
    """免计缺席: a person's late cancellation of an activity, excused by the secretary."""

    activity_id: int
    person_id: int


def excuse_button(ctx: Context, tapped: Excuse) -> None:
    """免计缺席: the secretary excuses one late cancellation."""
    item = activities.get(ctx.session, tapped.activity_id)
    if item is None:
        raise DomainError("button_expired")
    branch = require_branch_of(ctx, item)
    require(ctx, Role.SECRETARY, branch)
    person_id = tapped.person_id
    activities.excuse(ctx.session, person_id, ctx.person.id, ctx.now, activity_id=item.id)
    name = ctx.name_of(person_id, item.branch_id)
    ctx.edit("signup.excused", name=name, title=item.title)


def require_branch_of(ctx: Context, item: Activity) -> Branch:
    branch = orgs.branch(ctx.session, item.branch_id)
    assert branch is not None
    return branch


def lift(ctx: Context, args: str) -> None:
    """`/activity lift @someone`: excuse all their no-shows so they can sign up again."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    target = target_account(ctx, args.split(), "lift_usage")
    count = activities.excuse(ctx.session, target.person_id, ctx.person.id, ctx.now)
    ctx.reply("signup.lifted", name=ctx.name_of(target.person_id), count=count)
    if count:
        ctx.tell(target.person_id, "signup.lifted_told", branch=branch.name)


def leave_all(scope: Scope, person_id: int) -> None:
    """Erasure: places on activities not yet started are given up (the waitlist moves up)."""
    for activity_id in activities.upcoming_places(scope.session, person_id, scope.now):
        item = activities.locked(scope.session, activity_id)
        assert item is not None
        _was, promoted = activities.leave(scope.session, item, person_id, scope.now)
        if promoted is not None:
            scope.tell(promoted.person_id, "signup.promoted", title=item.title,
                       start=short(item.starts_at, scope.local_now), place=item.place)
        refresh_cards(scope, item)


# Past sign-ups stay as anonymous counts; places still to come are given up.
PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("signups", Signup, "person_id", erase=Erase.KEEP, close=leave_all),
    PersonalData("no_shows", NoShow, "person_id", erase=Erase.KEEP),
    Reference(NoShow, "excused_by"),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("signup", sign_up, takes=activity_title),
              Command("cancel", cancel, takes=activity_title),
              Command("unsign", cancel_signup, in_menu=False, takes=activity_title)],
    buttons=[On(SignUp, signup_button), On(Unsign, unsign_button), On(Excuse, excuse_button),
             On(UnsignLate, unsign_late_button), On(KeepSeat, keep_button)],
)
