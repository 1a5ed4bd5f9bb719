"""假期: the days off and adjusted working days (调休) a community admin sets in chat.

Scheduled notices ("monthly on the first working day") and the monthly summary follow the
official calendar; for a year whose schedule is not yet published, an estimate from the
statutory holidays. A community admin corrects either here: `/holidays add 2027-10-08 workday`,
`/holidays add 2027-02-04 holiday`, `/holidays remove 2027-10-08`, `/holidays` to list. The
days set here win over the computed calendar and over the override file, for every branch of
the deployment (the calendar is one). What is already planned moves with them.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from handlers import notices, points
from handlers.addressing import first_word
from handlers.context import Context, Scope
from handlers.errors import DomainError
from handlers.i18n import Phrase
from handlers.personal import PersonalData, Reference
from handlers.roles import Role, require
from handlers.router import Command, Feature
from handlers.schedules import WorkCalendar
from storage import day_overrides
from storage.models import DayKind, DayOverride

_ADD = re.compile(r"add|set|添加|增加|设置", re.IGNORECASE)
_REMOVE = re.compile(r"remove|delete|del|删除|撤销|取消", re.IGNORECASE)
_LIST = re.compile(r"list|列表|查看", re.IGNORECASE)
_KINDS = {DayKind.WORKDAY: re.compile(r"workday|work|上班|调休|补班", re.IGNORECASE),
          DayKind.HOLIDAY: re.compile(r"holiday|off|放假|休息|假日", re.IGNORECASE)}
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def holidays(ctx: Context, args: str) -> None:
    """`/holidays` lists; `add <date> <workday|holiday>` and `remove <date>` change a day."""
    words = unicodedata.normalize("NFKC", args).split()
    if not words or _LIST.fullmatch(words[0]):
        _list(ctx)
        return
    require(ctx, Role.COMMUNITY_ADMIN, None)  # the calendar is one for every community
    if _ADD.fullmatch(words[0]) and len(words) == 3:
        _add(ctx, _date(words[1]), _kind(words[2]))
    elif _REMOVE.fullmatch(words[0]) and len(words) == 2:
        _remove(ctx, _date(words[1]))
    else:
        raise DomainError("holidays_usage")


def _date(text: str) -> dt.date:
    match = _DATE.fullmatch(text)
    try:
        if match:
            return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        pass
    raise DomainError("holidays_bad_date", text=text[:20])


def _kind(text: str) -> DayKind:
    for kind, pattern in _KINDS.items():
        if pattern.fullmatch(text):
            return kind
    raise DomainError("holidays_usage")


def _add(ctx: Context, day: dt.date, kind: DayKind) -> None:
    day_overrides.set_day(ctx.session, day, kind, ctx.person.id, ctx.now)
    _changed(ctx, "holidays.set", day, kind=Phrase(f"holidays.kind.{kind}"))


def _remove(ctx: Context, day: dt.date) -> None:
    if not day_overrides.remove(ctx.session, day):
        in_file = day in set().union(*ctx.core.file_calendar.overrides)
        raise DomainError("holidays_in_file" if in_file else "holidays_not_set",
                          date=day.isoformat())
    _changed(ctx, "holidays.removed", day)


def _changed(ctx: Context, key: str, day: dt.date, **params: object) -> None:
    """Confirm a change with the month's first working day now, and move what it affects."""
    calendar = ctx.core.calendar(ctx.session)
    moved = replan(ctx, calendar)
    ctx.reply(key, date=day.isoformat(), weekday=Phrase(f"notice.weekday.{day.weekday()}"),
              year=day.year, month=day.month, first=_first_day(calendar, day.year, day.month),
              moved=Phrase.of("holidays.moved", count=moved) if moved else "", **params)


def replan(scope: Scope, calendar: WorkCalendar) -> int:
    """Move planned first-working-day notices and the monthly summary to the calendar as it
    is now; returns how many moved."""
    moved = notices.replan_first_workdays(scope, calendar)
    return moved + points.replan_summary(scope, calendar)


def _first_day(calendar: WorkCalendar, year: int, month: int) -> Phrase:
    day, estimate = calendar.first_workday(year, month)
    key = "holidays.first_day_estimated" if estimate else "holidays.first_day"
    return Phrase.of(key, date=day.isoformat(), weekday=Phrase(f"notice.weekday.{day.weekday()}"))


def _list(ctx: Context) -> None:
    """The days set in chat and in the file, from this year on, and which years are estimates."""
    first = dt.date(ctx.today.year, 1, 1)
    days = {day: (kind, "holidays.line_file") for day, kind in _file_days(ctx, first).items()}
    days |= {row.day: (DayKind(row.kind), "holidays.line")
             for row in day_overrides.since(ctx.session, first)}
    lines = [ctx.t(key, date=day.isoformat(), weekday=Phrase(f"notice.weekday.{day.weekday()}"),
                   kind=Phrase(f"holidays.kind.{kind}"))
             for day, (kind, key) in sorted(days.items())]
    estimated = [str(y) for y in (first.year, first.year + 1) if not WorkCalendar.covers(y)]
    ctx.reply("holidays.list", lines="\n".join(lines) or ctx.t("holidays.none"),
              estimate=Phrase.of("holidays.estimated",
                                 years=ctx.t("list.separator").join(estimated))
              if estimated else "")


def _file_days(ctx: Context, first: dt.date) -> dict[dt.date, DayKind]:
    file_holidays, file_workdays = ctx.core.file_calendar.overrides
    days = {day: DayKind.HOLIDAY for day in file_holidays if day >= first}
    return days | {day: DayKind.WORKDAY for day in file_workdays if day >= first}


# "假期" alone, or one of its subcommand words first ("假期 添加 2027-10-08 上班").
_SUBCOMMAND = re.compile(f"(?:{_ADD.pattern}|{_REMOVE.pattern}|{_LIST.pattern})",
                         re.IGNORECASE)

PERSONAL_DATA: list[PersonalData | Reference] = [Reference(DayOverride, "set_by")]

FEATURE = Feature(
    personal=PERSONAL_DATA,commands=[Command("holidays", holidays, role=Role.COMMUNITY_ADMIN,
                                    takes=first_word(_SUBCOMMAND))])
