"""志愿活动: the secretary publishes an activity; every group of the branch gets its card.

`/activity new` is a private form (title, start, end, place, capacity, points, note). The card
shows the live count ("报名 12/30 · 候补 3") and is edited in place whenever it changes.
Reminders go privately to those signed up, 24 h and 1 h before; when the activity is over,
confirmed people who never signed in are recorded as no-shows.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from handlers import forms, points
from handlers.addressing import subcommands
from handlers.context import ButtonSpec, Context, Keyboard, Scope
from handlers.errors import DomainError
from handlers.forms import Form, Prompt, Step
from handlers.i18n import Phrase, Translator
from handlers.moments import example, moment, parse_end, parse_moment, short, span
from handlers.payloads import ButtonData, StartPayload
from handlers.personal import PersonalData, Reference
from handlers.roles import Role, require, require_branch
from handlers.router import Command, Feature, On, normalize, run_subcommand
from handlers.text import clean_field
from storage import activities, orgs, posted, timers
from storage.models import Activity, SignupStatus

MAX_TITLE, MAX_NOTE, MAX_CAPACITY, MAX_POINTS = 30, 200, 1000, 100
MATCH_CUTOFF = 60


def activity(ctx: Context, args: str) -> None:
    """`/activity` lists what is coming; `new`, `report`, `lift` are the secretary's."""
    if not run_subcommand(ctx, args, SUBCOMMANDS, "activity"):
        list_upcoming(ctx, args)


@dataclass(frozen=True)
class ForActivity(ButtonData):
    """A button about one activity; each kind is something to do with it."""

    activity_id: int


@dataclass(frozen=True)
class SignUp(ForActivity, prefix="signup"):
    """报名 on a card or a list."""


@dataclass(frozen=True)
class Unsign(ForActivity, prefix="unsign"):
    """取消 on a card."""


@dataclass(frozen=True)
class ActivityLink(StartPayload, prefix="act"):
    """The deep link from a group: the activity form for that group's branch."""

    branch_id: int


def list_upcoming(ctx: Context, _args: str) -> None:
    """The branch's activities still to come, each with a sign-up button."""
    branch = require_branch(ctx)
    coming = activities.upcoming(ctx.session, branch.id, ctx.now)
    if not coming:
        ctx.reply("activity.none")
        return
    lines = [ctx.t("activity.line", number=n, title=a.title, when=_span(ctx.t, ctx, a),
                   place=a.place, **_count_params(ctx, a)) for n, a in enumerate(coming, 1)]
    ctx.reply("activity.list", [[ButtonSpec.of("activity.button.signup_title", SignUp(a.id),
                                        title=a.title)] for a in coming[:8]],
              lines="\n".join(lines))


# ---------------------------------------------------------------- publishing


def start_form(ctx: Context, _args: str) -> None:
    """The secretary starts the form; it runs in the private chat wherever it was asked."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    forms.start(ctx, FORM, {"branch_id": branch.id})


def start_from_link(ctx: Context, link: ActivityLink) -> None:
    """The deep link from a group: the activity form for that group's branch."""
    branch = orgs.branch(ctx.session, link.branch_id)
    if branch is None:
        raise DomainError("bad_start_payload")
    require(ctx, Role.SECRETARY, branch)
    forms.start(ctx, FORM, {"branch_id": branch.id})


Data = dict[str, Any]


def _title(ctx: Context, text: str, _data: Data) -> Data:
    return {"title": clean_field(text, MAX_TITLE, "title")}


def _start(ctx: Context, text: str, _data: Data) -> Data:
    start = parse_moment(text, ctx.local_now)
    if start <= ctx.now:
        raise DomainError("start_in_past", when=moment(ctx.t, start, ctx.local_now))
    return {"start": start.isoformat()}


def _end(ctx: Context, text: str, data: Data) -> Data:
    start = dt.datetime.fromisoformat(data["start"])
    return {"end": parse_end(text, start, ctx.local_now).isoformat()}


def _place(ctx: Context, text: str, _data: Data) -> Data:
    return {"place": clean_field(text, ctx.rules.max_field_length, "place")}


def _capacity(ctx: Context, text: str, _data: Data) -> Data:
    return {"capacity": _number(text, 1, MAX_CAPACITY, "capacity")}


def _points(ctx: Context, text: str, _data: Data) -> Data:
    return {"points": _number(text, 0, MAX_POINTS, "points")}


def _note(ctx: Context, text: str, _data: Data) -> Data:
    return {"note": clean_field(text, MAX_NOTE, "note")}


def _ask_title(ctx: Context, data: Data) -> Prompt:
    branch = orgs.branch(ctx.session, data["branch_id"])
    return "activity.ask_title", {"branch": branch.name if branch else "", "limit": MAX_TITLE}


def _moment(key: str) -> Callable[[Context, Data], object]:
    """How a typed moment shows in the form's summary (with its year when not this year's)."""
    return lambda ctx, data: moment(ctx.t, dt.datetime.fromisoformat(data[key]), ctx.local_now)


def _number(text: str, low: int, high: int, field: str) -> int:
    folded = unicodedata.normalize("NFKC", text).strip()
    if not folded.isdigit() or not low <= int(folded) <= high:
        raise DomainError("bad_number", field=field, low=low, high=high)
    return int(folded)


def _end_example(ctx: Context, data: Data) -> str:
    """Two hours after the start: the time alone when on the same day."""
    start = dt.datetime.fromisoformat(data["start"])
    later = start + dt.timedelta(hours=2)
    return f"{later:%H:%M}" if later.date() == start.date() else short(later, ctx.local_now)


def _publish(ctx: Context, data: Data) -> None:
    branch = orgs.branch(ctx.session, data["branch_id"])
    assert branch is not None
    require(ctx, Role.SECRETARY, branch)
    new = activities.create(
        ctx.session, branch_id=branch.id, title=data["title"],
        starts_at=dt.datetime.fromisoformat(data["start"]),
        ends_at=dt.datetime.fromisoformat(data["end"]), place=data["place"],
        capacity=data["capacity"], points=data["points"], note=data.get("note", ""),
        created_by=ctx.person.id, created_at=ctx.now)
    _set_timers(ctx, new)
    groups = [c for c in orgs.chats_of_branch(ctx.session, branch.id) if c.kind == "group"]
    for chat in groups:
        ctx.post(chat.platform, chat.external_id, *_card(ctx, new), _card_params(ctx, new),
                 ref=_ref(new))
    if groups:
        forms.done(ctx, "activity.published", title=new.title, count=len(groups))
    else:
        forms.done(ctx, "activity.published_nowhere", title=new.title)


FORM = Form("activity_new", "form.title.activity", (
    Step("title", _ask_title, _title),
    Step("start", lambda c, _d: ("activity.ask_start", {"example": example(c.local_now)}),
         _start, resets=("end",), show=_moment("start")),
    Step("end", lambda c, d: ("activity.ask_end", {"example": _end_example(c, d)}), _end,
         show=_moment("end")),
    Step("place", "activity.ask_place", _place),
    Step("capacity", lambda _c, _d: ("activity.ask_capacity", {"limit": MAX_CAPACITY}),
         _capacity, numeric=True),
    Step("points", lambda _c, _d: ("activity.ask_points", {"limit": MAX_POINTS}), _points,
         numeric=True),
    Step("note", "activity.ask_note", _note, skip="activity.button.no_note"),
), _publish, submit_label="activity.button.publish")


def _set_timers(scope: Scope, new: Activity) -> None:
    for hours in scope.rules.reminder_hours:
        due = new.starts_at - dt.timedelta(hours=hours)
        if due > scope.now:
            timers.schedule(scope.session, "activity_reminder", f"{new.id}:{hours:g}", due)
    closes = new.ends_at + dt.timedelta(minutes=scope.rules.signin_closes_minutes)
    timers.schedule(scope.session, "activity_close", str(new.id), closes)


# ---------------------------------------------------------------- the card


def _ref(item: Activity) -> str:
    return f"activity:{item.id}"


def _card(scope: Scope, item: Activity) -> tuple[str, Keyboard]:
    if item.cancelled_at is not None:
        return "activity.card_cancelled", []
    if item.ends_at + dt.timedelta(minutes=scope.rules.signin_closes_minutes) <= scope.now:
        return "activity.card_closed", []
    if item.starts_at <= scope.now:
        return "activity.card_started", []
    return "activity.card", [[ButtonSpec.of("activity.button.signup", SignUp(item.id)),
                              ButtonSpec.of("activity.button.cancel", Unsign(item.id))]]


def _card_params(scope: Scope, item: Activity) -> dict[str, object]:
    return {"title": item.title, "when": _span(scope.group_t, scope, item), "place": item.place,
            "points": item.points, "note": _note_line(item.note),
            "reason": item.cancel_reason, **_count_params(scope, item)}


def _count_params(scope: Scope, item: Activity) -> dict[str, object]:
    counted = activities.counts(scope.session, item.id)
    return {"confirmed": counted.confirmed, "capacity": item.capacity,
            "waitlisted": counted.waitlisted}


def _note_line(note: str | None) -> object:
    return Phrase.of("activity.note_line", note=note) if note else ""


def _span(t: Translator, scope: Scope, item: Activity) -> str:
    return span(t, item.starts_at, item.ends_at, scope.local_now)


def refresh_cards(scope: Scope, item: Activity) -> None:
    """Edit every posted card of the activity to show its current state."""
    key, keyboard = _card(scope, item)
    for where in posted.messages(scope.session, _ref(item)):
        scope.post(where.platform, where.chat_external_id, key, keyboard,
                   _card_params(scope, item), edit_message_id=where.message_id)


def pick(ctx: Context, args: str, candidates: list[Activity],
         action: type[ForActivity]) -> Activity | None:
    """The activity meant by `args` (fuzzy by title); None after asking which one."""
    if not candidates:
        raise DomainError("no_activity")
    wanted = normalize(args)
    if not wanted and len(candidates) == 1:
        return candidates[0]
    if wanted:
        titles = {a.id: normalize(a.title) for a in candidates}
        scored = process.extract(wanted, titles, scorer=fuzz.partial_ratio,
                                 score_cutoff=MATCH_CUTOFF, limit=None)
        if not scored:
            raise DomainError("unknown_activity", title=args[:30])
        best = [s for s in scored if s[1] == scored[0][1]]
        if len(best) == 1:
            return next(a for a in candidates if a.id == best[0][2])
        candidates = [a for a in candidates if a.id in {s[2] for s in best}]
    ctx.reply("activity.which", [[ButtonSpec.of("activity.button.pick", action(a.id),
                                         title=a.title, when=_span(ctx.t, ctx, a))]
                                 for a in candidates[:8]])
    return None


# ---------------------------------------------------------------- timers


def remind(scope: Scope, ref: str) -> None:
    """A reminder timer: tell everyone with a confirmed place (not the waitlist)."""
    activity_id, _, hours = ref.partition(":")
    item = activities.get(scope.session, int(activity_id))
    if item is None or item.cancelled_at is not None:
        return
    for person_id in activities.people_with(scope.session, item.id, SignupStatus.CONFIRMED):
        scope.tell(person_id, "activity.reminder", title=item.title, place=item.place,
                   when=Phrase.of("activity.reminder_when", hours=hours, count=float(hours)),
                   start=f"{scope.local(item.starts_at):%H:%M}")


def close(scope: Scope, ref: str) -> None:
    """The activity is over: who had a place and never came is recorded and loses points."""
    item = activities.get(scope.session, int(ref))
    if item is None or item.cancelled_at is not None:
        return  # called off: nobody missed anything
    came = {a.person_id for a in activities.attendances(scope.session, item.id)}
    for person_id in activities.people_with(scope.session, item.id, SignupStatus.CONFIRMED):
        if person_id not in came:
            activities.record_no_show(scope.session, item.id, person_id, "absent", scope.now)
            lost = points.for_no_show(scope, item, person_id)
            _tell_no_show(scope, item, person_id, lost)
    refresh_cards(scope, item)


def _tell_no_show(scope: Scope, item: Activity, person_id: int, lost: int) -> None:
    """A no-show, its points and a block are the person's own business: told privately."""
    from handlers.signups import blocked_line

    scope.tell(person_id, "activity.no_show_told", title=item.title,
               points=Phrase.of("activity.no_show_points", count=-lost) if lost else "",
               blocked=blocked_line(scope, person_id))


def _lift(ctx: Context, args: str) -> None:
    from handlers import signups

    signups.lift(ctx, args)


def _report(ctx: Context, args: str) -> None:
    from handlers import attendance

    attendance.report(ctx, args)


def _admin(name: str) -> Callable[[Context, str], None]:
    """A secretary's control from handlers/activity_admin.py (which builds on this module)."""

    def run(ctx: Context, args: str) -> None:
        from handlers import activity_admin

        getattr(activity_admin, name)(ctx, args)

    return run


SUBCOMMANDS = {"new": start_form, "list": list_upcoming, "report": _report, "lift": _lift,
               "cancel": _admin("cancel"), "edit": _admin("edit"), "roster": _admin("roster"),
               "add": _admin("add"), "notify": _admin("notify")}

PERSONAL_DATA: list[PersonalData | Reference] = [Reference(Activity, "created_by")]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("activity", activity, takes=subcommands("activity"))],
    forms=[FORM],
    start_payloads=[On(ActivityLink, start_from_link)],
    timers={"activity_reminder": remind, "activity_close": close},
)
