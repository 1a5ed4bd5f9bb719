"""积分: the point rules in one place, `/points` and `/rank`, and the monthly summary.

Every award is a line in an append-only log naming its source record, so a record awards
once and every total can be explained line by line; a correction is a new line
(`/points adjust @someone -3 reason`, by the secretary), never an edit. The rules, each a
setting (Rules.points_*):

- 签到: `points_checkin` for the day's check-in;
- an activity: its own points at sign-in, and `points_per_hour` for each hour served
  (capped at the activity's length, rounded to whole points) at sign-out;
- 践诺 rated 1–5: the rating times `points_per_star`, to the member who made the claim;
- a help request the requester confirmed: `points_help_base` plus the 1–5 rating, to the helper;
- a problem report resolved: `points_problem_resolved` to the member it was assigned to, who did
  the work; the reporter gets nothing, so that nobody reports for points, and a report the
  secretary resolves without assigning it gives nothing (triage is her office);
- a confirmed place not used when the activity closes: `points_no_show` (negative).

`/rank` 排行 ranks the branch for this month (`/rank year`: this year); ties share a place.
Someone who chose `/rank hide` is counted but shown as "a neighbour". On the first working day
of each month at 09:00, every branch group gets last month's summary (a self-renewing timer,
first set by Core.ensure_recurring at start-up).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from handlers.addressing import any_of, first_word, subcommands
from handlers.context import Context, Scope
from handlers.errors import DomainError
from handlers.i18n import Phrase, Translator
from handlers.mentions import target_account
from handlers.personal import Erase, PersonalData, Reference
from handlers.roles import Role, require, require_branch
from handlers.router import Command, Feature, run_subcommand, subcommand
from handlers.schedules import Rule, WorkCalendar, first_workday_at, next_run
from handlers.text import clean_field
from storage import orgs, timers
from storage import points as log
from storage.models import (
    Activity,
    Branch,
    Chat,
    CheckIn,
    Claim,
    HelpRequest,
    Person,
    PointsEntry,
    ProblemReport,
)

LATEST_SHOWN, RANK_SHOWN, SUMMARY_TOP = 5, 10, 3
MIN_YEAR, MAX_YEAR = 2000, 2099
GIVEN_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")
MAX_ADJUST, MAX_NOTE = 100, 100
SUMMARY = "monthly_summary"
SUMMARY_RULE = Rule("monthly_first_workday", dt.time(9, 0))


# ---------------------------------------------------------------- the rules


def for_checkin(scope: Scope, row: CheckIn) -> int:
    """签到: the day's check-in."""
    return _award(scope, row.person_id, row.branch_id, scope.rules.points_checkin, "checkin",
                  f"checkin:{row.id}")


def for_attending(scope: Scope, item: Activity, person_id: int) -> log.Award | None:
    """Signed in at an activity: the points the secretary set for it (None: none set), to be
    written with the sign-in (storage.activities.sign_in)."""
    if item.points == 0:
        return None
    return log.Award(person_id, item.branch_id, item.points, "activity", f"activity:{item.id}",
                     scope.now)


def for_hours(scope: Scope, item: Activity, person_id: int, hours: float) -> int:
    """Signed out: the hours served, rounded to whole points."""
    earned = int(hours * scope.rules.points_per_hour + 0.5)
    return _award(scope, person_id, item.branch_id, earned, "hours", f"hours:{item.id}")


def for_deed(scope: Scope, claim: Claim, rating: int) -> int:
    """A 践诺 rated 1–5, to the member who claimed the item."""
    return _award(scope, claim.person_id, claim.branch_id,
                  rating * scope.rules.points_per_star, "claim", f"claim:{claim.id}")


def for_help(scope: Scope, request: HelpRequest, helper_id: int, stars: int) -> int:
    """A help request the requester confirmed with 1–5 stars, to the helper."""
    return _award(scope, helper_id, request.branch_id, scope.rules.points_help_base + stars,
                  "help", f"help:{request.id}")


def for_resolved(scope: Scope, report: ProblemReport) -> int:
    """A resolved problem report, to the member it was assigned to (none: nobody earns)."""
    source = f"problem:{report.id}"
    if report.assignee_id is None or log.awarded(scope.session, source):
        return 0  # reopened and resolved again, perhaps by someone else: still one award
    return _award(scope, report.assignee_id, report.branch_id,
                  scope.rules.points_problem_resolved, "problem", source)


def for_no_show(scope: Scope, item: Activity, person_id: int) -> int:
    """A confirmed place not used when the activity closes."""
    return _award(scope, person_id, item.branch_id, scope.rules.points_no_show, "no_show",
                  f"noshow:{item.id}")


def _award(scope: Scope, person_id: int, branch_id: int, points: int, reason: str,
           source: str) -> int:
    """Log the points once per source; returns them (0 when nothing new was logged)."""
    if points == 0:
        return 0
    logged = log.award(scope.session, person_id, branch_id, points, reason, source, scope.now)
    return points if logged else 0


# ---------------------------------------------------------------- /points


def show_points(ctx: Context, args: str) -> None:
    """积分: my total and this month's, with the newest entries; `adjust` for the secretary."""
    if args and run_subcommand(ctx, args, {"adjust": adjust}, "points"):
        return
    if args:
        raise DomainError("points_usage")
    start, end = month_bounds(ctx.local_now.year, ctx.local_now.month, ctx.rules.timezone)
    entries = log.latest(ctx.session, ctx.person.id, LATEST_SHOWN)
    lines = "\n".join(entry_line(ctx, ctx.t, e) for e in entries) or ctx.t("points.no_entries")
    ctx.reply("points.mine", total=log.total(ctx.session, ctx.person.id),
              month=log.total(ctx.session, ctx.person.id, start, end), entries=lines)


def entry_line(scope: Scope, t: Translator, entry: PointsEntry) -> str:
    key = "points.entry_with_note" if entry.note else "points.entry"
    return t(key, date=f"{scope.local(entry.at):%m-%d}", reason=t(f"points.reason.{entry.reason}"),
             points=f"{entry.points:+d}", note=entry.note)


def adjust(ctx: Context, args: str) -> None:
    """`/points adjust @someone -3 <reason>`: a correction, logged as an entry of its own."""
    branch = require_branch(ctx)
    require(ctx, Role.SECRETARY, branch)
    words = args.split()
    amounts = [i for i, w in enumerate(words) if _signed_int(w) is not None]
    usage = DomainError("points_adjust_usage", limit=MAX_ADJUST)
    if not amounts:
        raise usage
    amount = _signed_int(words[amounts[0]]) or 0
    note = " ".join(words[amounts[0] + 1:])
    if amount == 0 or abs(amount) > MAX_ADJUST or not note:
        raise usage
    note = clean_field(note, MAX_NOTE, "reason")
    target = target_account(ctx, words[:amounts[0]], "points_adjust_usage",
                            limit=MAX_ADJUST)
    log.award(ctx.session, target.person_id, branch.id, amount, "adjust",
              f"adjust:{uuid.uuid4().hex[:16]}", ctx.now, note=note)
    name = ctx.name_of(target.person_id, branch.id)
    ctx.reply("points.adjusted", name=name, points=f"{amount:+d}", note=note,
              count=log.total(ctx.session, target.person_id))
    ctx.tell(target.person_id, "points.adjusted_told", points=f"{amount:+d}", note=note)


def _signed_int(word: str) -> int | None:
    try:
        return int(word)
    except ValueError:
        return None


# ---------------------------------------------------------------- /rank


def rank(ctx: Context, args: str) -> None:
    """排行: the branch's ranking this month, last month, a given month (`2026-11`) or this
    year; `hide` / `show` my name in it."""
    choice = subcommand(ctx.catalogs, "rank", args) if args.strip() else "month"
    if choice in ("hide", "show"):
        _set_public(ctx, ctx.person, choice == "show")
        return
    branch = require_branch(ctx)
    start, end, period = rank_period(ctx, choice, args)
    ranked = log.totals(ctx.session, branch.id, start, end)
    if not ranked:
        ctx.announce("points.rank_empty", branch=branch.name, period=period)
        return
    places = competition_places(ranked)
    lines = [ctx.t("points.rank_line", place=places[pid], name=public_name(ctx, pid, branch),
                   points=total) for pid, total in ranked[:RANK_SHOWN]]
    mine = dict(ranked).get(ctx.person.id)
    if mine is not None and not ctx.in_group:
        lines.append(ctx.t("points.rank_mine", place=places[ctx.person.id], count=mine))
    ctx.announce("points.rank", branch=branch.name, period=period, lines="\n".join(lines),
                 counted=len(ranked))
    if mine is not None and ctx.in_group:
        # The group sees the ranking; the asker's own place is nobody else's business.
        ctx.reply("points.rank_mine", place=places[ctx.person.id], count=mine)


def rank_period(ctx: Context, choice: str | None,
                 args: str) -> tuple[dt.datetime, dt.datetime, Phrase]:
    """[start, end) and the name of the period a ranking covers."""
    now, tz = ctx.local_now, ctx.rules.timezone
    if choice == "year":
        return (*year_bounds(now.year, tz), Phrase.of("points.period_year", year=now.year))
    if choice == "month":
        year, month = now.year, now.month
    elif choice == "last":
        year, month = _month_before(now.year, now.month)
    else:
        year, month = _given_month(args)
    return (*month_bounds(year, month, tz),
            Phrase.of("points.period_month", year=year, month=month))


def _given_month(text: str) -> tuple[int, int]:
    """`2026-11` (or 2026/11, 2026年11月) as (year, month); anything else is refused."""
    found = GIVEN_MONTH.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if found is None or not (MIN_YEAR <= int(found[1]) <= MAX_YEAR and 1 <= int(found[2]) <= 12):
        raise DomainError("rank_usage")
    return int(found[1]), int(found[2])


def competition_places(ranked: list[tuple[int, int]]) -> dict[int, int]:
    """Competition ranking (1, 1, 3): a place is one more than the number of people ahead."""
    places: dict[int, int] = {}
    for index, (person_id, total) in enumerate(ranked):
        tied = index > 0 and ranked[index - 1][1] == total
        places[person_id] = places[ranked[index - 1][0]] if tied else index + 1
    return places


def public_name(scope: Scope, person_id: int, branch: Branch) -> object:
    """The name in a public ranking, or "a neighbour" for someone who asked not to be named."""
    person = scope.session.get(Person, person_id)
    if person is None or not person.ranked_publicly or person.erased_at is not None:
        return Phrase("points.anonymous")
    return scope.name_of(person_id, branch.id) or Phrase("points.anonymous")


def _set_public(ctx: Context, person: Person, public: bool) -> None:
    person.ranked_publicly = public
    ctx.reply("points.rank_shown" if public else "points.rank_hidden")


# ---------------------------------------------------------------- the monthly summary


def ensure_summary(scope: Scope) -> None:
    """Set the timer for the next monthly summary, unless it is already set."""
    at = next_run(SUMMARY_RULE, scope.now, scope.rules.timezone,
                  scope.core.calendar(scope.session))
    assert at is not None
    year, month = _month_before(at.at.year, at.at.month)
    timers.schedule(scope.session, SUMMARY, f"{year:04d}-{month:02d}", at.at)


def summary(scope: Scope, ref: str) -> None:
    """Last month's figures to every group of every branch; then the next month's timer."""
    year, month = (int(part) for part in ref.split("-"))
    _schedule_after(scope, year, month)
    local = scope.local_now
    if (local.year, local.month) != _month_after(year, month):
        return  # the bot was down past the month it belonged to: a summary this late is noise
    for branch in orgs.branches(scope.session):
        chats = orgs.chats_of_branch(scope.session, branch.id)
        if chats:
            _post_summary(scope, branch, chats, year, month)


def _schedule_after(scope: Scope, year: int, month: int) -> None:
    """The summary of the month after (year, month), due on the first working day after it."""
    nxt = _month_after(year, month)
    starts = month_bounds(*_month_after(*nxt), scope.rules.timezone)[0]
    at = next_run(SUMMARY_RULE, starts, scope.rules.timezone, scope.core.calendar(scope.session))
    assert at is not None
    timers.schedule(scope.session, SUMMARY, f"{nxt[0]:04d}-{nxt[1]:02d}", at.at)


def replan_summary(scope: Scope, calendar: WorkCalendar) -> bool:
    """After a calendar change, move the pending summary to its month's new first working day
    (unless that has passed); True when it moved."""
    moved = False
    for timer in timers.pending(scope.session, SUMMARY):
        year, month = (int(part) for part in timer.ref.split("-"))
        at = first_workday_at(SUMMARY_RULE.time, *_month_after(year, month),
                              scope.rules.timezone, calendar).at
        if at > scope.now and at != timer.due_at:
            timers.move(scope.session, SUMMARY, timer.ref, at)
            moved = True
    return moved


def _post_summary(scope: Scope, branch: Branch, chats: Sequence[Chat], year: int,
                  month: int) -> None:
    """One branch's summary, unless the branch did nothing at all that month."""
    from handlers.attendance import hours  # attendance imports this module for its awards

    tz = scope.rules.timezone
    start, end = month_bounds(year, month, tz)
    last_day = (end.astimezone(tz) - dt.timedelta(days=1)).date()
    done = log.month(scope.session, branch.id, start, end, start.date(), last_day)
    top = log.totals(scope.session, branch.id, start, end)[:SUMMARY_TOP]
    if not (done.checkins or done.activities or done.deeds or done.errands or done.problems
            or top):
        return
    t = scope.group_t
    named = [t("points.summary_person", name=public_name(scope, pid, branch), points=total)
             for pid, total in top if total > 0]
    params: dict[str, object] = {
        "branch": branch.name, "year": year, "month": month, "checkins": done.checkins,
        "activities": done.activities, "deeds": done.deeds, "errands": done.errands,
        "problems": done.problems, "top": t("list.separator").join(named),
        "hours": f"{sum(hours(row, item) for row, item in done.attendances):.1f}"}
    key = "points.summary" if named else "points.summary_no_top"
    for chat in chats:
        scope.post(chat.platform, chat.external_id, key, params=params)


# ---------------------------------------------------------------- periods


def month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar month, as aware moments."""
    after = _month_after(year, month)
    return (dt.datetime(year, month, 1, tzinfo=tz), dt.datetime(*after, 1, tzinfo=tz))


def year_bounds(year: int, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar year, as aware moments."""
    return dt.datetime(year, 1, 1, tzinfo=tz), dt.datetime(year + 1, 1, 1, tzinfo=tz)


def _month_after(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


# 排行 alone, "排行 year", "排行 hide", or a year or month ("排行 2026-11").
_rank_words = any_of(subcommands("rank"), first_word(GIVEN_MONTH))


# Points stay (the branch's rankings of the past do not change); a correction's note, written
# about the person, goes.
PERSONAL_DATA: list[PersonalData | Reference] = [
    PersonalData("points", PointsEntry, "person_id", ("note",), Erase.BLANK),
]

FEATURE = Feature(
    personal=PERSONAL_DATA,
    commands=[Command("points", show_points, takes=subcommands("points")),
              Command("rank", rank, takes=_rank_words)],
    timers={SUMMARY: summary},
)
