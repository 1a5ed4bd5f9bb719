"""通知: a secretary broadcasts a notice now, at a time, or on a rule, with a 收到 button.

`/notice` is a private form: the text, the targets (this group, every group of my branch,
every branch of my community), and when. Each sending is a run; each (run, chat) is a row of
the delivery outbox that a sender in bot/ drains within the platform's limits. Who tapped
收到 is stored once per person; members who have not are nudged privately once.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from handlers import forms, robots
from handlers.addressing import subcommands
from handlers.context import Context, Scope
from handlers.errors import DomainError
from handlers.forms import Form, Option, Prompt, Step
from handlers.i18n import Catalogs, Phrase
from handlers.messages import ChatKind, Incoming
from handlers.moments import example, moment, parse_moment, short
from handlers.payloads import ButtonData, StartPayload
from handlers.personal import Erase, PersonalData, Reference, of_accounts
from handlers.roles import Role, require, require_branch, role_in
from handlers.router import Command, Feature, On, run_subcommand, subcommand, typed_number
from handlers.rules import Rules
from handlers.schedules import Occurrence, Rule, WorkCalendar, first_workday_at, next_run
from handlers.text import clean_field, excerpt
from storage import activities, notices, orgs, people, states, timers
from storage.models import (
    Ack,
    Delivery,
    MemberStatus,
    Notice,
    NoticeRun,
    NoticeState,
    RunState,
    SignupStatus,
)

MAX_TEXT = 1000
# Characters of a notice shown where it is listed or recalled.
EXCERPT = 40
# Private audiences: verified members, members of some buildings, an activity's people.
AUDIENCES = ["members", "buildings", "activity"]
RULES = ("now", "once", "monthly_first_workday", "monthly_day", "weekly", "daily")
# What is left out when comparing a message with the words for 收到: punctuation, spaces, emoji.
_NOT_WORDS = re.compile(r"[\W_]+")
Data = dict[str, Any]


def notice(ctx: Context, args: str) -> None:
    """`/notice` starts the form; `list`, `cancel <n>`, `edit <n> …`, `status <n>`."""
    if run_subcommand(ctx, args, SUBCOMMANDS, "notice"):
        return
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    forms.start(ctx, FORM, {"branch_id": branch.id,
                            "chat_id": ctx.chat.id if ctx.in_group else None})


@dataclass(frozen=True)
class Acknowledge(ButtonData, prefix="ack"):
    """收到 under a notice sent to a group."""

    run_id: int


@dataclass(frozen=True)
class NoticeLink(StartPayload, prefix="nt"):
    """The deep link from a group: a new notice, with that group as a target."""

    chat_id: int


def start_from_link(ctx: Context, link: NoticeLink) -> None:
    """The deep link from a group: the form, with "this group" as a target."""
    chat = orgs.chat(ctx.session, link.chat_id)
    if chat is None or chat.branch_id is None:
        raise DomainError("bad_start_payload")
    branch = orgs.branch(ctx.session, chat.branch_id)
    require(ctx, Role.SECRETARY, branch)
    assert branch is not None
    forms.start(ctx, FORM, {"branch_id": branch.id, "chat_id": chat.id})


# ---------------------------------------------------------------- the form


def _ask_text(ctx: Context, data: Data) -> Prompt:
    branch = orgs.branch(ctx.session, data["branch_id"])
    return "notice.ask_text", {"branch": branch.name if branch else "", "limit": MAX_TEXT}


def _text(ctx: Context, text: str, _data: Data) -> Data:
    body = clean_field(text.replace("\n", " \n").strip(), MAX_TEXT, "notice_text")
    return {"text": body.replace(" \n", "\n")}


def _targets_offered(ctx: Context, data: Data) -> list[Option]:
    branch = orgs.branch(ctx.session, data["branch_id"])
    offered = ["chat"] if data["chat_id"] else []
    offered.append("branch")
    if role_in(ctx, ctx.person.id, branch) >= Role.COMMUNITY_ADMIN:
        offered.append("community")
    offered += AUDIENCES
    return [Option(t, f"notice.target.{t}") for t in offered]


def _buildings(_ctx: Context, text: str, _data: Data) -> Data:
    """"3号楼，5号楼": the buildings whose members get the notice privately."""
    names = [n.strip() for n in re.split(r"[,\uff0c\u3001\s]+", text) if n.strip()]
    if not names:
        raise DomainError("text_empty", field="building")
    return {"detail": clean_field(",".join(names), 200, "building")}


def _activities_offered(ctx: Context, data: Data) -> list[Option]:
    coming = activities.upcoming(ctx.session, data["branch_id"], ctx.now)
    return [Option.of(str(a.id), "activity.button.pick", title=a.title,
                      when=short(a.starts_at, ctx.local_now)) for a in coming[:8]]


def _activity_shown(ctx: Context, data: Data) -> object:
    item = activities.get(ctx.session, int(data["detail"]))
    return item.title if item is not None else Phrase("form.none")


def _when(ctx: Context, text: str, data: Data) -> Data:
    return _parse_when(ctx, data["rule"], text)


def _summary_note(ctx: Context, data: Data) -> str:
    """How many it goes to, before it is sent: groups, or people for a private audience."""
    if data["target"] in AUDIENCES:
        count = len(audience(ctx, data["branch_id"], data["target"], data.get("detail", "")))
        return ctx.t("notice.summary_note_people", count=count)
    targets = _targets(ctx, data["target"], data["branch_id"], data["chat_id"])
    followers = sum(platform in PRIVATE_ONLY for platform, _chat in targets)
    if followers and len(targets) == followers:
        return ctx.t("notice.summary_note_private", count=followers)  # no group at all
    note = ctx.t("notice.summary_note", chats=len(targets) - followers)
    if followers:
        note += ctx.t("notice.summary_note_followers", count=followers)
    return note


def _future(ctx: Context, text: str) -> dt.datetime:
    """A typed moment for a notice; one already past is refused."""
    at = parse_moment(text, ctx.local_now)
    if at <= ctx.now:
        raise DomainError("notice_in_past", when=moment(ctx.t, at, ctx.local_now))
    return at


def _parse_when(ctx: Context, rule: str, text: str) -> Data:
    """The time (and day) a rule needs, typed by the secretary."""
    folded = unicodedata.normalize("NFKC", text).strip()
    if rule == "once":
        at = _future(ctx, folded)
        return {"at": at.isoformat(), "time": f"{at:%H:%M}", "day": 0}
    parts = folded.split()
    time = _clock_time(ctx, parts[-1] if parts else "")
    day = 0
    if rule in ("monthly_day", "weekly"):
        day = _rule_day(ctx, rule, parts[0] if len(parts) == 2 else "")
    return {"time": time, "day": day}


def _clock_time(ctx: Context, text: str) -> str:
    """The time of day of a rule: 09:00, 9点半, 上午九点…"""
    try:
        at = parse_moment(text, ctx.local_now)
    except DomainError:
        raise DomainError("bad_clock_time") from None
    return f"{at:%H:%M}"


def _rule_day(ctx: Context, rule: str, text: str) -> int:
    if rule == "monthly_day":
        if not text.isdigit() or not 1 <= int(text) <= 31:
            raise DomainError("bad_month_day")
        return int(text)
    for lang in ("zh_CN", "en"):
        names = ctx.catalogs.get(lang)("notice.weekdays").split(",")
        if text.casefold() in (n.strip().casefold() for n in names):
            return [n.strip().casefold() for n in names].index(text.casefold()) % 7
    if text.isdigit() and 1 <= int(text) <= 7:
        return int(text) - 1
    raise DomainError("bad_weekday")


def _first_occurrence(scope: Scope, data: Data) -> Occurrence | None:
    if data["rule"] == "now":
        return Occurrence(scope.now)
    return next_run(_rule_of(data), scope.now, scope.rules.timezone,
                    scope.core.calendar(scope.session))


def _rule_of(data: Data) -> Rule:
    hour, minute = (int(x) for x in data["time"].split(":"))
    at = dt.datetime.fromisoformat(data["at"]) if data.get("at") else None
    return Rule(data["rule"], dt.time(hour, minute), data.get("day", 0), at)


def describe_rule(ctx: Context, data: Data, first: Occurrence | None) -> object:
    if first is None:
        return Phrase("notice.when.never")
    at = moment(ctx.t, first.at, ctx.local_now)
    fallback = Phrase.of("notice.fallback_note", year=ctx.local(first.at).year) \
        if first.fallback else ""
    return Phrase.of(f"notice.when.{data['rule']}", time=data.get("time", ""),
                day=data.get("day", 0), weekday=Phrase(f"notice.weekday.{data.get('day', 0)}"),
                first=at, fallback=fallback)


def _publish(ctx: Context, data: Data) -> None:
    branch = orgs.branch(ctx.session, data["branch_id"])
    require(ctx, Role.SECRETARY, branch)
    if data["target"] == "community":
        require(ctx, Role.COMMUNITY_ADMIN, branch)
    first = _first_occurrence(ctx, data)
    if first is None:
        raise DomainError("notice_in_past", when=moment(ctx.t, _rule_of(data).at or ctx.now,
                                                        ctx.local_now))
    private = data["target"] in AUDIENCES
    new = notices.create(
        ctx.session, branch_id=data["branch_id"], created_by=ctx.person.id, text=data["text"],
        target="branch" if private else data["target"],
        audience=data["target"] if private else "", audience_detail=data.get("detail", ""),
        target_chat_id=data["chat_id"] if data["target"] == "chat"
        else None, rule=data["rule"], rule_time=data.get("time", ""),
        rule_day=data.get("day", 0), created_at=ctx.now,
        rule_at=dt.datetime.fromisoformat(data["at"]) if data.get("at") else None)
    run = _plan(ctx, new, first)
    forms.done(ctx, "notice.scheduled", number=new.id, when=describe_rule(ctx, data, first))
    if data["rule"] == "now" and run is not None:
        _start_run(ctx, new, run)


FORM = Form("notice_new", "form.title.notice", (
    Step("text", _ask_text, _text, label="field.notice_text"),
    Step("target", "notice.ask_target", options=_targets_offered, resets=("detail",),
         show=lambda _c, d: Phrase(f"notice.target.{d['target']}")),
    Step("buildings", "notice.ask_buildings", _buildings, keys=("detail",), label="field.building",
         when=lambda d: d.get("target") == "buildings", show=lambda _c, d: d["detail"]),
    Step("activity", "notice.ask_activity", options=_activities_offered, keys=("detail",),
         pick=lambda _c, code, _d: {"detail": code}, label="field.activity",
         when=lambda d: d.get("target") == "activity", show=_activity_shown, per_row=1),
    Step("rule", "notice.ask_rule", options=lambda _c, _d: [
        Option(r, f"notice.rule.{r}") for r in RULES], per_row=1, resets=("time", "day", "at"),
         show=lambda _c, d: Phrase(f"notice.rule.{d['rule']}")),
    Step("when", lambda c, d: (f"notice.ask_when.{d['rule']}",
                               {"example": example(c.local_now)}), _when,
         when=lambda d: d.get("rule") != "now", keys=("time",),
         show=lambda c, d: describe_rule(c, d, _first_occurrence(c, d))),
), _publish, submit_label="notice.button.send", note=_summary_note)


# ---------------------------------------------------------------- runs


def _plan(scope: Scope, item: Notice, at: Occurrence) -> NoticeRun | None:
    """Plan one run and the timer that starts it."""
    run = notices.plan_run(scope.session, item.id, at.at, at.fallback)
    if run is not None and item.rule != "now":
        timers.schedule(scope.session, "notice_due", str(run.id), at.at)
    return run


def due(scope: Scope, ref: str) -> None:
    """The `notice_due` timer: send the run, or report it missed; plan the next one."""
    run = notices.run(scope.session, int(ref))
    item = notices.get(scope.session, run.notice_id) if run else None
    if run is None or item is None or run.state != RunState.PLANNED \
            or item.state != NoticeState.ACTIVE:
        return
    late = scope.now - run.planned_at
    if late > dt.timedelta(minutes=scope.rules.notice_grace_minutes):
        states.move(run, RunState.MISSED)
        scope.tell(item.created_by, "notice.missed", number=item.id,
                   planned=short(run.planned_at, scope.local_now))
    else:
        _start_run(scope, item, run)
    _plan_next(scope, item, run)


def _plan_next(scope: Scope, item: Notice, run: NoticeRun) -> None:
    if item.rule in ("now", "once"):
        states.move(item, NoticeState.DONE)
        return
    after = max(run.planned_at, scope.now)
    following = next_run(_rule_of(rule_data(item)), after, scope.rules.timezone,
                         scope.core.calendar(scope.session))
    if following is not None:
        _plan(scope, item, following)


def replan_first_workdays(scope: Scope, calendar: WorkCalendar) -> int:
    """After a calendar change, move each planned run of a first-working-day notice to its
    month's new first working day; returns how many runs moved."""
    planned = notices.planned_with_rule(scope.session, "monthly_first_workday")
    return sum(_move(scope, item, run, calendar) for item, run in planned)


def _move(scope: Scope, item: Notice, planned: NoticeRun, calendar: WorkCalendar) -> bool:
    local = scope.local(planned.planned_at)
    following = first_workday_at(_rule_of(rule_data(item)).time, local.year, local.month,
                                 scope.rules.timezone, calendar)
    if following.at == planned.planned_at or following.at <= scope.now:
        return False  # unchanged, or the month's new first day has passed: keep this month's
    states.move(planned, RunState.CANCELLED)
    # A run cancelled by an earlier change may already sit at that moment: it comes back.
    run = notices.plan_run(scope.session, item.id, following.at, following.fallback)
    assert run is not None
    states.move(run, RunState.PLANNED)
    run.fallback = following.fallback
    timers.move(scope.session, "notice_due", str(run.id), following.at)
    return True


def _start_run(scope: Scope, item: Notice, run: NoticeRun) -> None:
    targets = _people_targets(scope, item) if item.audience else \
        _targets(scope, item.target, item.branch_id, item.target_chat_id)
    states.move(run, RunState.SENDING)
    run.started_at, run.text = scope.now, item.text
    notices.enqueue(scope.session, run.id, targets)
    _fail_unsent(scope, item, run, targets)
    if run.fallback:
        scope.tell(item.created_by, "notice.fallback_used", number=item.id,
                   year=scope.local(run.planned_at).year)
    if scope.tell(item.created_by, "notice.progress", number=item.id, sent=0,
                  total=len(targets)):
        scope.outbox[-1].ref = f"notice_progress:{run.id}"
    timers.schedule(scope.session, "notice_nudge", str(run.id),
                    scope.now + dt.timedelta(hours=scope.rules.notice_nudge_hours))
    if not targets:
        notices.finish_run(scope.session, run.id, scope.now)


def _fail_unsent(scope: Scope, item: Notice, run: NoticeRun,
                 targets: list[tuple[str, str]]) -> None:
    """Rows for a platform no sender serves fail at once, and the secretary is told: nothing
    stays pending for ever."""
    senders = scope.core.senders
    lost = sorted({platform for platform, _chat in targets} - set(senders or ()))
    if senders is None or not lost:
        return
    count = notices.fail_pending(scope.session, run.id, lost, "no sender running")
    if notices.progress(scope.session, run.id).finished:
        notices.finish_run(scope.session, run.id, scope.now)
    scope.tell(item.created_by, "notice.no_sender", number=item.id, count=count,
               channels=scope.group_t("list.separator").join(
                   scope.group_t(f"channel.{platform}") for platform in lost))


def _targets(scope: Scope, target: str, branch_id: int,
             chat_id: int | None) -> list[tuple[str, str]]:
    """(platform, chat id) of every group the notice goes to, and of the branches' robots."""
    if target == "chat" and chat_id is not None:
        chats = [c for c in [orgs.chat(scope.session, chat_id)] if c is not None]
        ids: list[int] = []
    else:
        branch = orgs.branch(scope.session, branch_id)
        assert branch is not None
        ids = [branch.id] if target == "branch" else [
            b.id for b in orgs.branches(scope.session, branch.community_id)]
        chats = [c for b in ids for c in orgs.chats_of_branch(scope.session, b)]
    groups = [(c.platform, c.external_id) for c in chats if c.kind == "group"]
    return groups + robots.targets(scope, ids) + _followers(scope, ids, groups)


def _followers(scope: Scope, branch_ids: list[int],
               groups: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The private chats of members who reach the bot only where there are no groups (an
    Official Account's followers): the notice comes to them one by one, once each."""
    with_groups = {platform for platform, _chat in groups}
    found = []
    for branch_id in branch_ids:
        for profile in people.roster(scope.session, branch_id):
            if profile.status != MemberStatus.VERIFIED:
                continue
            accounts = people.accounts_of(scope.session, profile.person_id)
            if any(a.platform in with_groups for a in accounts):
                continue
            found += [(a.platform, a.external_id) for a in accounts
                      if a.platform in PRIVATE_ONLY]
    return list(dict.fromkeys(found))


def audience(scope: Scope, branch_id: int, kind: str, detail: str) -> list[int]:
    """The people a private notice goes to: verified members (of some buildings), or those
    signed up for (or waiting on) an activity."""
    if kind == "activity":
        found = activities.get(scope.session, int(detail)) if detail.isdigit() else None
        if found is None:
            return []
        return [*activities.people_with(scope.session, found.id, SignupStatus.CONFIRMED),
                *activities.people_with(scope.session, found.id, SignupStatus.WAITLISTED)]
    members = [p for p in people.roster(scope.session, branch_id)
               if p.status == MemberStatus.VERIFIED]
    if kind == "buildings":
        wanted = [w for w in detail.split(",") if w]
        members = [p for p in members if any(p.building.startswith(w) for w in wanted)]
    return [p.person_id for p in members]


# Platforms whose people are reached one by one, as they have no groups with the bot.
PRIVATE_ONLY = ("wechat",)


def _people_targets(scope: Scope, item: Notice) -> list[tuple[str, str]]:
    """(platform, private chat) of each person of the notice's audience with an account."""
    found = []
    for person_id in audience(scope, item.branch_id, item.audience, item.audience_detail):
        accounts = people.accounts_of(scope.session, person_id)
        if accounts:
            found.append((accounts[0].platform, accounts[0].external_id))
    return found


def send_to_people(scope: Scope, branch_id: int, by_person: int, text: str, kind: str,
                   detail: str) -> int:
    """A notice sent now, privately, to an audience; returns how many it goes to."""
    new = notices.create(scope.session, branch_id=branch_id, created_by=by_person, text=text,
                         target="branch", audience=kind, audience_detail=detail, rule="now",
                         created_at=scope.now)
    run = _plan(scope, new, Occurrence(scope.now))
    if run is None:
        return 0
    _start_run(scope, new, run)
    return len(_people_targets(scope, new))


def nudge(scope: Scope, ref: str) -> None:
    """The `notice_nudge` timer: one private reminder to each member who has not acknowledged."""
    run = notices.run(scope.session, int(ref))
    item = notices.get(scope.session, run.notice_id) if run else None
    if run is None or item is None:
        return
    acked = {a.person_id for a in notices.acks(scope.session, run.id)}
    for person_id in members_of(scope, item):
        if person_id not in acked:
            scope.tell(person_id, _nudge_key(scope, person_id), text=excerpt(run.text, EXCERPT))


def _nudge_key(scope: Scope, person_id: int) -> str:
    """Where there is no group and no button, the nudge says to reply 收到."""
    accounts = people.accounts_of(scope.session, person_id)
    private = bool(accounts) and all(a.platform in PRIVATE_ONLY for a in accounts)
    return "notice.nudge_private" if private else "notice.nudge"


def members_of(scope: Scope, item: Notice) -> list[int]:
    """Verified members of the branches the notice went to (or its private audience)."""
    if item.audience:
        return audience(scope, item.branch_id, item.audience, item.audience_detail)
    branch = orgs.branch(scope.session, item.branch_id)
    assert branch is not None
    branches = [branch] if item.target != "community" else list(
        orgs.branches(scope.session, branch.community_id))
    return [p.person_id for b in branches for p in people.roster(scope.session, b.id)
            if p.status == MemberStatus.VERIFIED]



# ---------------------------------------------------------------- 收到 and status


def acknowledge(ctx: Context, tapped: Acknowledge) -> None:
    """收到: stored once per person."""
    run = notices.run(ctx.session, tapped.run_id)
    if run is None:
        raise DomainError("button_expired")
    first = notices.acknowledge(ctx.session, run.id, ctx.person.id, ctx.chat.id, ctx.now)
    ctx.toast("notice.acked" if first else "notice.already_acked")


def is_typed_ack(catalogs: Catalogs, incoming: Incoming) -> bool:
    """Whether a message says 收到 (or another word for it); looks at the text only."""
    if incoming.button_data is not None:
        return False
    said = _NOT_WORDS.sub("", unicodedata.normalize("NFKC", incoming.text)).casefold()
    return any(said == word.casefold()
               for words in catalogs.words.get("ack", {}).values() for word in words)


def acknowledged_run(session: Session, incoming: Incoming, rules: Rules,
                     now: dt.datetime) -> int | None:
    """The notice run a typed 收到 acknowledges, or None; reads, never writes.

    A reply acknowledges the notice it replies to (and a reply to anything else, nothing).
    Otherwise it acknowledges the newest notice sent to the group while that notice is open:
    until its nudge (`notice_nudge_hours` after it went out), when the members who have not
    acknowledged it are asked privately.
    """
    if incoming.reply_to_message_id is not None:
        if not incoming.reply_to_bot:
            return None
        return notices.run_of_message(session, incoming.platform, incoming.chat_id,
                                      incoming.reply_to_message_id)
    if incoming.reply_to is not None:
        return None
    if incoming.chat_kind == ChatKind.PRIVATE:
        # One to one, 收到 can only answer the newest notice sent to this person.
        return notices.latest_to(session, incoming.platform, incoming.chat_id)
    latest = notices.latest_sent(session, incoming.platform, incoming.chat_id)
    if latest is None:
        return None
    run_id, sent_at = latest
    return run_id if now < sent_at + dt.timedelta(hours=rules.notice_nudge_hours) else None


def acknowledge_typed(ctx: Context, run_id: int) -> None:
    """A typed 收到: counted once per person like the button; said nothing in a group, thanked
    for one to one (where the bot always answers)."""
    first = notices.acknowledge(ctx.session, run_id, ctx.person.id, ctx.chat.id, ctx.now)
    if not ctx.in_group:
        ctx.reply("notice.acked" if first else "notice.already_acked")


@dataclass(frozen=True)
class Channel:
    """How a run went on one way of sending: reached (template messages counted in), of how
    many, failed, and how many of the reached went as template messages."""

    channel: str
    sent: int
    total: int
    failed: int
    template: int


@dataclass(frozen=True)
class Received:
    """How one sending of a notice was received: delivery (in all and per channel), who of
    the members acknowledged, in which chats, and who has not."""

    run: NoticeRun
    sent: notices.Progress
    channels: list[Channel]
    members: list[int]
    acked: set[int]
    per_chat: dict[str, int]

    @property
    def acked_members(self) -> int:
        return len(self.acked & set(self.members))

    @property
    def missing(self) -> list[int]:
        return [p for p in self.members if p not in self.acked]


def received(scope: Scope, item: Notice, run: NoticeRun) -> Received:
    """The figures `通知 状态` says and the desk shows."""
    (got,) = received_all(scope, [(run, members_of(scope, item))])
    return got


def received_all(scope: Scope, sendings: Sequence[tuple[NoticeRun, list[int]]],
                 ) -> list[Received]:
    """`received` for several sendings, each with its members: their deliveries and their
    收到 taps are read in one query each for all of them."""
    run_ids = [run.id for run, members_of in sendings]
    rows = notices.by_channel_of(scope.session, run_ids)
    taps = notices.taps_of(scope.session, run_ids)
    return [Received(run, notices.progress_of(rows[run.id]), channels(rows[run.id]), members,
                     {tap.person_id for tap in taps[run.id]}, _acks_per_chat(scope, taps[run.id]))
            for run, members in sendings]


@dataclass(frozen=True)
class ForReader:
    """One sending of a notice as its reader's page on the desk shows it (the link of a
    template message): its words, whence and when, and the 收到 to tap."""

    number: int
    text: str
    branch: str
    sent_at: dt.datetime
    acked: bool
    ack: str  # the button data of 收到


def for_reader(ctx: Context, run_id: int) -> ForReader:
    """The notice run `run_id` for a person it went to (one of their accounts, or a member of
    its branches); anyone else is told it is not found."""
    run = notices.run(ctx.session, run_id)
    item = notices.get(ctx.session, run.notice_id) if run else None
    if run is None or item is None or run.started_at is None:
        raise DomainError("desk_not_found")
    accounts = {(a.platform, a.external_id) for a in people.accounts_of(ctx.session,
                                                                        ctx.person.id)}
    reached = notices.reached(ctx.session, run.id, accounts)
    if not reached and ctx.person.id not in members_of(ctx, item):
        raise DomainError("desk_not_found")
    branch = orgs.branch(ctx.session, item.branch_id)
    acked = any(a.person_id == ctx.person.id for a in notices.acks(ctx.session, run.id))
    return ForReader(item.id, run.text or item.text, branch.name if branch else "",
                     run.started_at, acked, Acknowledge(run.id).pack())


def status(ctx: Context, args: str) -> None:
    """`/notice status <n>`: delivery, acknowledgement rate per chat, who has not acknowledged."""
    item = _own_notice(ctx, args)
    run = notices.latest_sent_run(ctx.session, item.id)
    if run is None:
        raise DomainError("notice_not_sent", number=item.id)
    got = received(ctx, item, run)
    channel_lines = "\n".join(_channel_line(ctx, c) for c in got.channels)
    per_chat = "\n".join(ctx.t("notice.status_chat", count=n,
                                chat=title or ctx.t("notice.private_chat"))
                          for title, n in got.per_chat.items()) or ctx.t("report.nobody")
    missing = [ctx.name_of(p, item.branch_id) for p in got.missing]
    ctx.reply_private("notice.status", number=item.id, sent=got.sent.sent,
                      total=got.sent.total, failed=got.sent.failed, acked=got.acked_members,
                      members=len(got.members), per_chat=per_chat, channels=channel_lines,
                      missing=ctx.t("list.separator").join(missing) or ctx.t("report.nobody"))


def channels(rows: Sequence[tuple[str, str, int]]) -> list[Channel]:
    """Each way the notice went, with its counts, from the run's `by_channel` rows."""
    totals: dict[str, dict[str, int]] = {}
    for channel, state, count in rows:
        totals.setdefault(channel, {})[state] = count
    if "wechat_template" in totals:
        # A template message is a way of reaching a WeChat follower: one total for both.
        wechat = totals.setdefault("wechat", {})
        wechat["template"] = totals.pop("wechat_template").get("sent", 0)
    return [Channel(channel, counts.get("sent", 0) + counts.get("template", 0),
                    sum(counts.values()), counts.get("failed", 0), counts.get("template", 0))
            for channel, counts in totals.items()]


def _channel_line(ctx: Context, channel: Channel) -> str:
    """"微信客服消息：送达 3/5" for one way the notice went."""
    return ctx.t("notice.channel", channel=Phrase(f"channel.{channel.channel}"),
                 sent=channel.sent, total=channel.total, failed=channel.failed) \
        + (ctx.t("notice.channel_template", count=channel.template) if channel.template else "")


def _acks_per_chat(scope: Scope, acks: Sequence[notices.Tap]) -> dict[str, int]:
    """How many acknowledged in each chat, by its title ("" for a private chat)."""
    counts: dict[str, int] = {}
    for ack in acks:
        chat = orgs.chat(scope.session, ack.chat_id) if ack.chat_id else None
        title = chat.title if chat and chat.title else ""
        counts[title] = counts.get(title, 0) + 1
    return counts


def list_notices(ctx: Context, _args: str) -> None:
    """`/notice list`: the branch's notices still to be sent."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    lines = []
    for item in notices.of_branch(ctx.session, branch.id):
        planned = notices.planned_run(ctx.session, item.id)
        first = Occurrence(planned.planned_at, planned.fallback) if planned else None
        lines.append(ctx.t("notice.line", number=item.id, text=excerpt(item.text, EXCERPT),
                           when=describe_rule(ctx, rule_data(item), first)))
    ctx.reply("notice.list", lines="\n".join(lines) or ctx.t("notice.none"))


def cancel(ctx: Context, args: str) -> None:
    """`/notice cancel <n>`: nothing more of it is sent."""
    item = _own_notice(ctx, args)
    states.move(item, NoticeState.CANCELLED)
    item.cancelled_at = ctx.now
    planned = notices.planned_run(ctx.session, item.id)
    if planned is not None:
        states.move(planned, RunState.CANCELLED)
    ctx.reply("notice.cancelled", number=item.id)


def edit(ctx: Context, args: str) -> None:
    """`/notice edit <n> text <new text>` or `/notice edit <n> time <HH:MM | date time>`."""
    number, _, rest = args.partition(" ")
    item = _own_notice(ctx, number)
    what, _, value = rest.strip().partition(" ")
    field = subcommand(ctx.catalogs, "notice_edit", what)
    if field == "text":
        item.text = clean_field(value, MAX_TEXT, "notice_text")
    elif field == "time":
        _reschedule(ctx, item, value)
    else:
        raise DomainError("notice_edit_usage")
    ctx.reply("notice.edited", number=item.id)


def _reschedule(ctx: Context, item: Notice, value: str) -> None:
    """A new time (a rule keeps its day); the planned run is replaced."""
    if item.rule == "now":
        raise DomainError("notice_edit_usage")
    if item.rule == "once":
        at = _future(ctx, value)
        item.rule_at, item.rule_time = at, f"{at:%H:%M}"
    else:
        item.rule_time = _clock_time(ctx, value)
    planned = notices.planned_run(ctx.session, item.id)
    if planned is not None:
        states.move(planned, RunState.CANCELLED)
    first = _first_occurrence(ctx, rule_data(item))
    if first is not None:
        _plan(ctx, item, first)


def rule_data(item: Notice) -> Data:
    """A stored notice's rule in the shape the form uses."""
    at = item.rule_at.isoformat() if item.rule_at else None
    return {"rule": item.rule, "time": item.rule_time, "day": item.rule_day, "at": at}


def _own_notice(ctx: Context, number: str) -> Notice:
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    item = notices.get(ctx.session, typed_number(number, "unknown_notice"))
    if item is None or item.branch_id != branch.id:
        raise DomainError("unknown_notice")
    return item


SUBCOMMANDS = {"list": list_notices, "cancel": cancel, "edit": edit, "status": status}

# 收到 taps stay as anonymous counts (the branch's acknowledgement rate); notices sent to the
# person's private chat (WeChat followers) lose their address.
PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("acks", Ack, "person_id", erase=Erase.KEEP),
    PersonalData("deliveries", Delivery, "chat_external_id", ("chat_external_id",),
                 match=of_accounts(Delivery.platform, Delivery.chat_external_id)),
    Reference(Notice, "created_by"),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("notice", notice, role=Role.SECRETARY,
                      takes=subcommands("notice"))],
    buttons=[On(Acknowledge, acknowledge)],
    forms=[FORM],
    start_payloads=[On(NoticeLink, start_from_link)],
    timers={"notice_due": due, "notice_nudge": nudge},
)
