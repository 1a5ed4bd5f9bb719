"""Reading the dates and times people type, and showing them back in their language."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from babel.dates import format_skeleton

from handlers.errors import DomainError
from handlers.i18n import Translator

# 2026-11-28 09:00 · 11-28 9:00 · 11/28 9:00 · 11月28日 9:00 · 11月28日9点 · 2026年11月28日 9:30
_MOMENT = re.compile(
    r"^(?:(?P<year>\d{4})\s*[-/.年]\s*)?(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*[日号]?"
    r"\s*(?P<hour>\d{1,2})\s*[:点时]\s*(?P<minute>\d{1,2})?\s*分?$")
_TIME = re.compile(r"^(?P<hour>\d{1,2})\s*[:点时]\s*(?P<minute>\d{1,2})?\s*分?$")


def parse_moment(text: str, now: dt.datetime) -> dt.datetime:
    """A typed date and time in `now`'s time zone; without a year, the next such date."""
    match = _MOMENT.match(_fold(text))
    if match is None:
        raise DomainError("bad_moment", example=_example(now))
    year = int(match["year"]) if match["year"] else now.year
    moment = _build(year, match, now)
    if match["year"] is None and moment < now - dt.timedelta(days=1):
        moment = _build(year + 1, match, now)
    return moment


def parse_end(text: str, start: dt.datetime) -> dt.datetime:
    """An end time: a time on the start's day, or a full date and time."""
    folded = _fold(text)
    only_time = _TIME.match(folded)
    end = parse_moment(folded, start) if only_time is None else _at(start, only_time)
    if end <= start:
        raise DomainError("end_before_start")
    return end


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _build(year: int, match: re.Match[str], now: dt.datetime) -> dt.datetime:
    try:
        day = dt.datetime(year, int(match["month"]), int(match["day"]), tzinfo=now.tzinfo)
    except ValueError:
        raise DomainError("bad_moment", example=_example(now)) from None
    return _at(day, match)


def _at(day: dt.datetime, match: re.Match[str]) -> dt.datetime:
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if hour > 23 or minute > 59:
        raise DomainError("bad_moment", example=_example(day))
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _example(now: dt.datetime) -> str:
    return (now + dt.timedelta(days=3)).strftime("%m-%d 09:00")


def span(t: Translator, start: dt.datetime, end: dt.datetime) -> str:
    """"11月28日周六 09:00–11:00" in the reader's language (dates in the local zone)."""
    day = format_skeleton("MMMEd", start, locale=t.lang)
    if end.date() == start.date():
        return t("moment.span_same_day", day=day, start=f"{start:%H:%M}", end=f"{end:%H:%M}")
    end_day = format_skeleton("MMMEd", end, locale=t.lang)
    return t("moment.span", day=day, start=f"{start:%H:%M}", end_day=end_day,
             end=f"{end:%H:%M}")
