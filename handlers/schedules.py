"""The calendar behind scheduled notices: rules, working days and the next time a rule fires."""

from __future__ import annotations

import calendar as _monthdays
import copy
import datetime as dt
import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

KINDS = ("once", "monthly_first_workday", "monthly_day", "weekly", "daily")
_OVERRIDE_KEYS = ("holidays", "workdays")


@dataclass(frozen=True)
class Rule:
    """When a scheduled notice goes out; `time` is local wall-clock time in the schedule's zone."""

    kind: str  # one of KINDS
    time: dt.time = dt.time(0, 0)
    day: int = 0  # monthly_day: 1..31 (clamped to the month's last day); weekly: 0=Monday..6=Sunday
    at: dt.datetime | None = None  # once: the aware moment

    def __post_init__(self) -> None:
        """Reject rules that could never be computed."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown rule kind {self.kind!r}")
        if self.time.tzinfo is not None:
            raise ValueError("a rule's time is local wall-clock time, without tzinfo")
        if self.kind == "once" and (self.at is None or self.at.utcoffset() is None):
            raise ValueError("a once rule needs an aware `at`")
        if self.kind == "monthly_day" and not 1 <= self.day <= 31:
            raise ValueError(f"monthly day must be 1..31, not {self.day}")
        if self.kind == "weekly" and not 0 <= self.day <= 6:
            raise ValueError(f"weekday must be 0 (Monday)..6 (Sunday), not {self.day}")


@dataclass(frozen=True)
class Occurrence:
    """One firing of a rule: an aware moment, and whether its day is an estimate (`fallback`:
    the official schedule of that year is not published, so only statutory holidays count)."""

    at: dt.datetime
    fallback: bool = False


class WorkCalendar:
    """Chinese working days: the official calendar (调休 included) where published, else Mon–Fri
    less the statutory holidays (an estimate); overrides win over both."""

    def __init__(self, overrides_path: Path | None = None) -> None:
        """Load the override file if given and present; a missing file means no overrides."""
        self.overrides_path = overrides_path
        self._holidays: frozenset[dt.date] = frozenset()
        self._workdays: frozenset[dt.date] = frozenset()
        if overrides_path is not None and overrides_path.exists():
            self._holidays, self._workdays = load_overrides(overrides_path)

    def with_overrides(self, holidays: Iterable[dt.date],
                       workdays: Iterable[dt.date]) -> WorkCalendar:
        """A copy with more overrides, which win over this calendar's own (chat over file)."""
        more_holidays, more_workdays = frozenset(holidays), frozenset(workdays)
        other = copy.copy(self)
        other._holidays = (self._holidays - more_workdays) | more_holidays
        other._workdays = (self._workdays - more_holidays) | more_workdays
        return other

    @property
    def overrides(self) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
        """(holidays, workdays) set by hand, in the file or in chat."""
        return self._holidays, self._workdays

    def is_workday(self, day: dt.date) -> bool:
        """Whether people work on `day`: overrides, else official calendar, else the estimate."""
        if day in self._holidays:
            return False
        if day in self._workdays:
            return True
        if self.covers(day.year):
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5 and day not in statutory_holidays(day.year)

    @staticmethod
    def covers(year: int) -> bool:
        """Whether the chinesecalendar package has the official schedule for `year`."""
        return _published(year)

    def first_workday(self, year: int, month: int) -> tuple[dt.date, bool]:
        """The month's first working day and whether it is an estimate (year not published)."""
        for day in _days_of(year, month):
            if self.is_workday(day):
                return day, not self.covers(year)
        raise ValueError(f"no working day in {year}-{month:02d} (see {self.overrides_path})")


@functools.cache
def _published(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@functools.cache
def statutory_holidays(year: int) -> frozenset[dt.date]:
    """The days off the law gives in `year` (元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆, with
    their observed extensions), as computed by the `holidays` package; no 调休 is known."""
    return frozenset(holidays.China(years=year))


def load_overrides(path: Path) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """(holidays, workdays) from a TOML override file; ValueError names the file and entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a valid TOML file: {error}") from error
    unknown = sorted(set(data) - set(_OVERRIDE_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown key {unknown[0]!r}; expected holidays, workdays")
    holidays, workdays = (_dates(path, key, data.get(key, [])) for key in _OVERRIDE_KEYS)
    both = sorted(holidays & workdays)
    if both:
        raise ValueError(f"{path}: {both[0].isoformat()} is in both holidays and workdays")
    return holidays, workdays


def _dates(path: Path, key: str, entries: object) -> frozenset[dt.date]:
    """The dates of one override list, each a "YYYY-MM-DD" string or a bare TOML date."""
    if not isinstance(entries, list):
        raise ValueError(f"{path}: {key} must be a list of dates like \"2027-01-01\"")
    return frozenset(_date(path, key, entry) for entry in entries)


def _date(path: Path, key: str, entry: object) -> dt.date:
    """One override entry as a date."""
    if isinstance(entry, dt.date) and not isinstance(entry, dt.datetime):
        return entry
    if isinstance(entry, str):
        try:
            return dt.date.fromisoformat(entry.strip())
        except ValueError:
            pass
    raise ValueError(f"{path}: {key}: {entry!r} is not a date like \"2027-01-01\"")


def next_run(rule: Rule, after: dt.datetime, tz: ZoneInfo,
             calendar: WorkCalendar) -> Occurrence | None:
    """The rule's first occurrence strictly after the aware `after`, in `tz`; None if none."""
    if after.utcoffset() is None:
        raise ValueError("next_run needs an aware `after`")
    if rule.kind == "once":
        assert rule.at is not None
        return Occurrence(rule.at.astimezone(tz)) if rule.at > after else None
    if rule.kind == "monthly_first_workday":
        return _next_first_workday(rule.time, after, tz, calendar)
    today = after.astimezone(tz).date()
    candidates = [_candidate(rule, today, shift) for shift in range(3)]
    return next(Occurrence(at) for day in candidates if (at := _at(day, rule.time, tz)) > after)


def _candidate(rule: Rule, today: dt.date, shift: int) -> dt.date:
    """The shift-th day (0 = today's period) on which a daily, weekly or monthly-day rule fires."""
    if rule.kind == "daily":
        return today + dt.timedelta(days=shift)
    if rule.kind == "weekly":
        return today + dt.timedelta(days=(rule.day - today.weekday()) % 7 + 7 * shift)
    year, month = _add_months(today.year, today.month, shift)
    return dt.date(year, month, min(rule.day, _monthdays.monthrange(year, month)[1]))


def _next_first_workday(time: dt.time, after: dt.datetime, tz: ZoneInfo,
                        calendar: WorkCalendar) -> Occurrence:
    """The next first-working-day-of-the-month occurrence after `after`."""
    local = after.astimezone(tz)
    for shift in range(3):
        occurrence = first_workday_at(time, *_add_months(local.year, local.month, shift), tz,
                                      calendar)
        if occurrence.at > after:
            return occurrence
    raise AssertionError("a month's first working day is always within the next two months")


def first_workday_at(time: dt.time, year: int, month: int, tz: ZoneInfo,
                     calendar: WorkCalendar) -> Occurrence:
    """Wall-clock `time` on the first working day of (year, month), past or not."""
    day, estimate = calendar.first_workday(year, month)
    return Occurrence(_at(day, time, tz), estimate)


def _at(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """Wall-clock `time` on `day` in `tz`; a time skipped by a DST jump moves forward past it."""
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC).astimezone(tz)


def _add_months(year: int, month: int, shift: int) -> tuple[int, int]:
    """(year, month) `shift` months later."""
    index = year * 12 + month - 1 + shift
    return index // 12, index % 12 + 1


def _days_of(year: int, month: int) -> list[dt.date]:
    """Every day of a month."""
    last = _monthdays.monthrange(year, month)[1]
    return [dt.date(year, month, number) for number in range(1, last + 1)]
