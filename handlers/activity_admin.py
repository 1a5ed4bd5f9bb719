"""The secretary's controls over a published activity: 取消, 修改, 名单, 代报名.

`活动 取消 <活动>` asks for a reason, tells everyone signed up or waiting privately, turns
every card to "已取消：原因" and stops its sign-in codes; nobody gets a no-show.
`活动 修改 <活动>` opens the publishing form's summary with the current values, a 修改 button
per field; those signed up are told what changed, a raised capacity promotes the waitlist in
order, a capacity below the places already taken is refused with the count.
`活动 名单 <活动>` lists names, buildings and states privately, with phone numbers only of
people signed up by hand who gave one for this purpose. `活动 代报名 <活动> <姓名>` signs up a
member by name, or a neighbour without an account (a paper sign-up) as a person of the roster.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any

from handlers import activities as published
from handlers import forms
from handlers.activities import ForActivity, pick, refresh_cards
from handlers.context import Context, Scope
from handlers.errors import DomainError
from handlers.forms import Form, Option, Step
from handlers.fuzzy import best_matches
from handlers.i18n import Phrase
from handlers.moments import short
from handlers.personal import PersonalData, Reference
from handlers.roles import Role, require, require_branch
from handlers.router import Feature, On
from handlers.text import clean_field
from storage import activities, hand_added, orgs, people, timers
from storage.models import Activity, HandAddedPerson, MemberStatus, SignupStatus

Data = dict[str, Any]
MAX_REASON = 100
MAX_PHONE = 20
_PHONE = re.compile(r"\+?[0-9][0-9 -]{4,18}[0-9]")
# Fields of the publishing form the secretary may change, in the order the summary shows.
EDITABLE = ("title", "start", "end", "place", "capacity", "points", "note")
ROSTER_DAYS = 30


def secretary_activity(ctx: Context, activity_id: int) -> Activity:
    """An activity of a branch the sender is secretary of (a stale button is refused)."""
    item = activities.get(ctx.session, activity_id)
    if item is None:
        raise DomainError("button_expired")
    require(ctx, Role.SECRETARY, orgs.branch(ctx.session, item.branch_id))
    return item


def _still_open(item: Activity | None, scope: Scope) -> Activity:
    """The activity, refused when it was called off or is over."""
    if item is None:
        raise DomainError("button_expired")
    if item.cancelled_at is not None:
        raise DomainError("activity_cancelled", title=item.title, reason=item.cancel_reason)
    if item.ends_at <= scope.now:
        raise DomainError("activity_over", title=item.title)
    return item


@dataclass(frozen=True)
class CancelActivity(ForActivity, prefix="actcancel"):
    """An activity picked for 活动 取消."""


@dataclass(frozen=True)
class EditActivity(ForActivity, prefix="actedit"):
    """An activity picked for 活动 修改."""


@dataclass(frozen=True)
class ActivityRoster(ForActivity, prefix="actroster"):
    """An activity picked for 活动 名单."""


def _choose(ctx: Context, args: str, action: type[ForActivity], *,
            ended_too: bool = False) -> Activity | None:
    """The secretary's activity named in `args` (asked about when unclear)."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    since = ctx.now - dt.timedelta(days=ROSTER_DAYS) if ended_too else ctx.now
    return pick(ctx, args, list(activities.recent(ctx.session, branch.id, since)), action)


# ---------------------------------------------------------------- 取消


def cancel(ctx: Context, args: str) -> None:
    """`活动 取消 <活动>`: asks for the reason first."""
    chosen = _choose(ctx, args, CancelActivity)
    if chosen is not None:
        _start_cancel(ctx, chosen)


def cancel_button(ctx: Context, tapped: CancelActivity) -> None:
    _start_cancel(ctx, secretary_activity(ctx, tapped.activity_id))


def _start_cancel(ctx: Context, item: Activity) -> None:
    _still_open(item, ctx)
    forms.start(ctx, CANCEL_FORM, {"activity_id": item.id, "title": item.title})


def _reason(_ctx: Context, text: str, _data: Data) -> Data:
    return {"reason": clean_field(text, MAX_REASON, "reason")}


def _affected(scope: Scope, activity_id: int) -> list[int]:
    """Everyone holding a place or waiting for one, in the order they joined."""
    return [*activities.people_with(scope.session, activity_id, SignupStatus.CONFIRMED),
            *activities.people_with(scope.session, activity_id, SignupStatus.WAITLISTED)]


def _cancel_note(ctx: Context, data: Data) -> str:
    return ctx.t("activity.cancel_note", count=len(_affected(ctx, data["activity_id"])))


def _cancel(ctx: Context, data: Data) -> None:
    item = _still_open(activities.locked(ctx.session, data["activity_id"]), ctx)
    require(ctx, Role.SECRETARY, orgs.branch(ctx.session, item.branch_id))
    item.cancelled_at, item.cancel_reason = ctx.now, data["reason"]
    affected = _affected(ctx, item.id)
    unreached = [p for p in affected
                 if not ctx.tell(p, "activity.cancelled_told", title=item.title,
                                 start=short(item.starts_at, ctx.local_now),
                                 reason=item.cancel_reason)]
    refresh_cards(ctx, item)
    forms.done(ctx, "activity.cancelled", title=item.title,
               count=len(affected) - len(unreached), by_phone=_by_phone(ctx, unreached))


def _by_phone(ctx: Context, person_ids: list[int]) -> object:
    """"请电话告知：李奶奶 13800000000" for people without an account, else nothing."""
    if not person_ids:
        return ""
    written = hand_added.of_people(ctx.session, person_ids)
    names = [f"{written[p].name} {written[p].phone}".strip() if p in written
             else ctx.name_of(p) for p in person_ids]
    return Phrase.of("activity.tell_by_phone", names=ctx.t("list.separator").join(names))


CANCEL_FORM = Form("activity_cancel", "form.title.activity_cancel", (
    Step("reason", lambda _c, d: ("activity.ask_cancel_reason", {"title": d["title"]}),
         _reason),
), _cancel, submit_label="activity.button.confirm_cancel", note=_cancel_note)


# ---------------------------------------------------------------- 修改


def edit(ctx: Context, args: str) -> None:
    """`活动 修改 <活动>`: the summary of the activity as it is, a 修改 button per field."""
    chosen = _choose(ctx, args, EditActivity)
    if chosen is not None:
        _start_edit(ctx, chosen)


def edit_button(ctx: Context, tapped: EditActivity) -> None:
    _start_edit(ctx, secretary_activity(ctx, tapped.activity_id))


def _current(item: Activity) -> Data:
    return {"title": item.title, "start": item.starts_at.isoformat(),
            "end": item.ends_at.isoformat(), "place": item.place, "capacity": item.capacity,
            "points": item.points, "note": item.note}


def _start_edit(ctx: Context, item: Activity) -> None:
    _still_open(item, ctx)
    forms.start(ctx, EDIT_FORM, {"activity_id": item.id, "branch_id": item.branch_id,
                                 **_current(item)})


def _capacity(ctx: Context, text: str, data: Data) -> Data:
    """A new capacity: never below the places already taken."""
    value = published.FORM.steps_by_name["capacity"].parse
    assert value is not None
    capacity = value(ctx, text, data)["capacity"]
    taken = activities.counts(ctx.session, data["activity_id"]).confirmed
    if capacity < taken:
        raise DomainError("capacity_below_taken", count=taken)
    return {"capacity": capacity}


def _save(ctx: Context, data: Data) -> None:
    item = _still_open(activities.locked(ctx.session, data["activity_id"]), ctx)
    require(ctx, Role.SECRETARY, orgs.branch(ctx.session, item.branch_id))
    new = {key: data[key] for key in EDITABLE}
    changed = [key for key in EDITABLE if _current(item)[key] != new[key]]
    taken = activities.counts(ctx.session, item.id).confirmed
    if new["capacity"] < taken:
        raise DomainError("capacity_below_taken", count=taken)
    old_start = item.starts_at
    _apply(item, new)
    if item.starts_at != old_start or "end" in changed:
        _move_timers(ctx, item)
    promoted = _promote(ctx, item)
    told = _tell_changes(ctx, item, changed, promoted)
    refresh_cards(ctx, item)
    forms.done(ctx, "activity.saved" if changed else "activity.unchanged", title=item.title,
               count=told)


def _apply(item: Activity, new: Data) -> None:
    item.title, item.place, item.note = new["title"], new["place"], new.get("note") or ""
    item.starts_at = dt.datetime.fromisoformat(new["start"])
    item.ends_at = dt.datetime.fromisoformat(new["end"])
    item.capacity, item.points = new["capacity"], new["points"]


def _move_timers(scope: Scope, item: Activity) -> None:
    """Reminders and the closing follow the new time; a reminder now past is dropped."""
    for hours in scope.rules.reminder_hours:
        due = item.starts_at - dt.timedelta(hours=hours)
        ref = f"{item.id}:{hours:g}"
        if due > scope.now:
            timers.move(scope.session, "activity_reminder", ref, due)
        else:
            timers.drop(scope.session, "activity_reminder", ref)
    closes = item.ends_at + dt.timedelta(minutes=scope.rules.signin_closes_minutes)
    timers.move(scope.session, "activity_close", str(item.id), closes)


def _promote(scope: Scope, item: Activity) -> list[int]:
    """Seats a raised capacity frees go to the waitlist in order; each is told."""
    promoted: list[int] = []
    while (first := activities.promote_first(scope.session, item)) is not None:
        promoted.append(first.person_id)
        scope.tell(first.person_id, "signup.promoted", title=item.title,
                   start=short(item.starts_at, scope.local_now), place=item.place)
    return promoted


def _tell_changes(scope: Scope, item: Activity, changed: list[str],
                  promoted: list[int]) -> int:
    """Everyone signed up or waiting hears what changed (a capacity alone is news to none)."""
    shown = [key for key in changed if key != "capacity"]
    if not shown:
        return 0
    lines = "\n".join(_change_line(scope, item, key) for key in shown)
    told = 0
    for person_id in _affected(scope, item.id):
        if person_id not in promoted:
            told += scope.tell(person_id, "activity.changed_told", title=item.title,
                               changes=lines)
    return told


def _change_line(scope: Scope, item: Activity, key: str) -> str:
    values = {"title": item.title, "place": item.place, "points": str(item.points),
              "note": item.note or "-",
              "start": short(item.starts_at, scope.local_now),
              "end": short(item.ends_at, scope.local_now)}
    return f"{scope.group_t(f'field.{key}')}：{values[key]}"


def _edit_steps() -> tuple[Step, ...]:
    steps = []
    for step in published.FORM.steps:
        if step.name == "capacity":
            step = replace(step, parse=_capacity)
        steps.append(step)
    return tuple(steps)


EDIT_FORM = Form("activity_edit", "form.title.activity_edit", _edit_steps(), _save,
                 submit_label="activity.button.save")


# ---------------------------------------------------------------- 通知参与者


def notify(ctx: Context, args: str) -> None:
    """`活动 通知参与者 <活动> <文字>`: a message to everyone signed up or waiting, sent
    privately through the outbox."""
    from handlers import notices

    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    title, _, text = args.strip().partition(" ")
    if not text.strip():
        raise DomainError("notify_usage")
    coming = list(activities.upcoming(ctx.session, branch.id, ctx.now))
    if not coming:
        raise DomainError("no_activity")
    chosen = _only_fit(title, coming)
    if chosen is None:
        raise DomainError("unknown_activity", title=title[:30])
    body = clean_field(text, notices.MAX_TEXT, "notice_text")
    count = notices.send_to_people(ctx, branch.id, ctx.person.id, body, "activity",
                                   str(chosen.id))
    ctx.reply("activity.notified", title=chosen.title, count=count)


# ---------------------------------------------------------------- 名单


def roster(ctx: Context, args: str) -> None:
    """`活动 名单 <活动>`: who signed up, waits, came, left or stayed away; privately."""
    chosen = _choose(ctx, args, ActivityRoster, ended_too=True)
    if chosen is not None:
        _roster(ctx, chosen)


def roster_button(ctx: Context, tapped: ActivityRoster) -> None:
    _roster(ctx, secretary_activity(ctx, tapped.activity_id))


def _roster(ctx: Context, item: Activity) -> None:
    rows = roster_rows(ctx, item)
    written = hand_added.of_people(ctx.session, [person_id for person_id, _ in rows])
    lines = []
    for number, (person_id, state) in enumerate(rows, 1):
        entry = written.get(person_id)
        phone = ctx.t("roster.phone", phone=entry.phone) if entry and entry.phone else ""
        lines.append(ctx.t("roster.line", number=number, state=Phrase(f"roster.state.{state}"),
                           name=ctx.name_of(person_id, item.branch_id),
                           building=_building(ctx, person_id, item, entry), phone=phone))
    ctx.reply_private("roster.text", title=item.title, count=len(rows),
                      capacity=item.capacity,
                      lines="\n".join(lines) or ctx.t("report.nobody"))


def _building(ctx: Context, person_id: int, item: Activity, entry: Any) -> object:
    if entry is not None:
        return entry.building or Phrase("form.none")
    profile = people.profile(ctx.session, person_id, item.branch_id)
    return profile.building if profile is not None else Phrase("form.none")


def roster_rows(scope: Scope, item: Activity) -> list[tuple[int, str]]:
    """(person, state) for everyone who holds, held or waits for a place, in joining order."""
    came = {a.person_id: a for a in activities.attendances(scope.session, item.id)}
    absent = {n.person_id for n in activities.no_shows(scope.session, item.id)
              if n.excused_at is None}
    rows: list[tuple[int, str]] = []
    for person_id in activities.people_with(scope.session, item.id, SignupStatus.CONFIRMED):
        attended = came.get(person_id)
        if attended is not None:
            rows.append((person_id, "signed_out" if attended.signed_out_at else "signed_in"))
        else:
            rows.append((person_id, "absent" if person_id in absent else "confirmed"))
    rows += [(p, "waitlisted")
             for p in activities.people_with(scope.session, item.id, SignupStatus.WAITLISTED)]
    rows += [(p, "absent") for p in activities.people_with(
        scope.session, item.id, SignupStatus.CANCELLED) if p in absent]
    return rows


# ---------------------------------------------------------------- 代报名


def add(ctx: Context, args: str) -> None:
    """`活动 代报名 <活动> <姓名>`: a member by name at once; anyone else through a short form
    (the activity when unclear, the name, building and an optional phone)."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    coming = [a for a in activities.upcoming(ctx.session, branch.id, ctx.now)
              if a.starts_at > ctx.now]
    if not coming:
        raise DomainError("no_activity")
    title, _, name = args.strip().rpartition(" ")
    if not title and _fits(name, coming) and _known_person(ctx, branch.id, name) is None:
        title, name = name, ""  # "活动 代报名 清扫楼道": the name is asked
    data: Data = {"branch_id": branch.id}
    if name:
        data["name"] = clean_field(name, ctx.rules.max_name_length, "name")
    chosen = _only_fit(title, coming)
    if chosen is not None:
        data["activity_id"] = chosen.id
    known = _known_person(ctx, branch.id, data.get("name", ""))
    if chosen is not None and known is not None:
        _sign_up(ctx, chosen.id, known)
        return
    forms.start(ctx, ADD_FORM, data)


def _fits(title: str, coming: list[Activity]) -> list[int]:
    return best_matches(title, {a.id: a.title for a in coming}) if title else []


def _only_fit(title: str, coming: list[Activity]) -> Activity | None:
    """The one activity `title` fits (or the only one there is), else None: then asked."""
    if not title:
        return coming[0] if len(coming) == 1 else None
    fits = _fits(title, coming)
    return next(a for a in coming if a.id == fits[0]) if len(fits) == 1 else None


def _known_person(ctx: Context, branch_id: int, name: str) -> int | None:
    """A verified member of the branch by that name, else someone added by hand before;
    None when there is nobody, or more than one and the secretary must say which."""
    if not name:
        return None
    branch = orgs.branch(ctx.session, branch_id)
    assert branch is not None
    members = [p for p in people.named_in_branch(ctx.session, branch.id,
                                                 branch.community_id, name)
               if (profile := people.profile(ctx.session, p, branch.id)) is not None
               and profile.status == MemberStatus.VERIFIED]
    if len(members) == 1:
        return members[0]
    written = hand_added.named(ctx.session, branch_id, name)
    return written[0].person_id if len(written) == 1 and not members else None


def _activities_offered(ctx: Context, data: Data) -> list[Option]:
    coming = activities.upcoming(ctx.session, data["branch_id"], ctx.now)
    return [Option.of(str(a.id), "activity.button.pick", title=a.title,
                      when=short(a.starts_at, ctx.local_now))
            for a in coming if a.starts_at > ctx.now][:8]


def _activity_shown(ctx: Context, data: Data) -> object:
    item = activities.get(ctx.session, int(data["activity_id"]))
    return item.title if item is not None else Phrase("form.none")


def _name(ctx: Context, text: str, _data: Data) -> Data:
    return {"name": clean_field(text, ctx.rules.max_name_length, "name")}


def _building_answer(ctx: Context, text: str, _data: Data) -> Data:
    return {"building": clean_field(text, ctx.rules.max_field_length, "building")}


def _phone(_ctx: Context, text: str, _data: Data) -> Data:
    folded = text.strip().replace("－", "-").replace("　", " ")
    if not _PHONE.fullmatch(folded) or len(folded) > MAX_PHONE:
        raise DomainError("bad_phone")
    return {"phone": folded}


def _added(ctx: Context, data: Data) -> None:
    branch_id = data["branch_id"]
    require(ctx, Role.SECRETARY, orgs.branch(ctx.session, branch_id))
    person_id = _known_person(ctx, branch_id, data["name"])
    if person_id is None:
        person_id = hand_added.add(ctx.session, branch_id, data["name"], data["building"],
                                   data.get("phone", ""), ctx.person.id, ctx.now).person_id
    _sign_up(ctx, int(data["activity_id"]), person_id)


def _sign_up(ctx: Context, activity_id: int, person_id: int) -> None:
    item = _still_open(activities.locked(ctx.session, activity_id), ctx)
    if item.starts_at <= ctx.now:
        raise DomainError("signup_closed", title=item.title)
    name = ctx.name_of(person_id, item.branch_id)
    signup, is_new = activities.join(ctx.session, item, person_id, ctx.now)
    if not is_new:
        raise DomainError("already_added", name=name, title=item.title)
    counted = activities.counts(ctx.session, item.id)
    if signup.status == SignupStatus.CONFIRMED:
        forms.done(ctx, "activity.added", name=name, title=item.title,
                   confirmed=counted.confirmed, capacity=item.capacity)
        ctx.tell(person_id, "activity.added_told", title=item.title,
                 start=short(item.starts_at, ctx.local_now), place=item.place)
    else:
        forms.done(ctx, "activity.added_waitlisted", name=name, title=item.title,
                   position=counted.waitlisted)
    refresh_cards(ctx, item)


ADD_FORM = Form("activity_add", "form.title.activity_add", (
    Step("activity_id", "activity.ask_which", options=_activities_offered, skip_known=True,
         label="field.activity", show=_activity_shown, per_row=1),
    Step("name", lambda c, _d: ("activity.ask_added_name", {"limit": c.rules.max_name_length}),
         _name, skip_known=True),
    Step("building", "activity.ask_added_building", _building_answer,
         skip="activity.button.unknown_building",
         skipped=lambda _d: {"building": ""}),
    Step("phone", "activity.ask_added_phone", _phone, skip="activity.button.no_phone",
         numeric=True),
), _added, submit_label="activity.button.add")


# People signed up by hand (代报名) have no account to ask with; their rows go with the person.
PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("hand_added", HandAddedPerson, "person_id", ("name", "building", "phone"),
                 shown="name"),
    Reference(HandAddedPerson, "added_by"),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    buttons=[On(CancelActivity, cancel_button), On(EditActivity, edit_button),
             On(ActivityRoster, roster_button)],
    forms=[CANCEL_FORM, EDIT_FORM, ADD_FORM],
)
