"""Reading the dates and times people type, and showing them back in their language.

jionlp reads the phrase (明天上午9点, 下周三 14:00, 九点一刻, 12-06 9:00…); this module adds the
rules people rely on:
- a date without a year is its next occurrence (today counts if the moment is still ahead); a
  weekday alone (周六上午) is the next such day; a time alone (9点半) is today if still ahead,
  else tomorrow. Relative days (明天, 下周三) and dates with a year are taken as written, so they
  may be past: each form refuses those in its own words;
- a period without an hour takes a default hour: 早上 8:00, 上午 9:00, 中午 12:00, 下午 14:00,
  傍晚 18:00, 晚上 19:00; a day without any time is refused;
- a moment outside the current year is always shown with its year.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import re
import threading
import unicodedata
from collections.abc import Callable
from typing import Any

from babel.dates import format_skeleton

from handlers.errors import DomainError
from handlers.i18n import Translator

# How a phrase places its day, which decides how a moment already past moves forward.
_WITH_YEAR = re.compile(r"\d{4}\s*[-/.年]|[今明去前后]年")
_RELATIVE = re.compile(
    r"[今明昨]|前天|后天|[上下本这]+个?(?:周|星期|礼拜|月)|[天周月]后|小时后|分钟后")
_MONTH_DAY = re.compile(r"月|\d\s*[-/]\s*\d")
_WEEKDAY = re.compile(r"周|星期|礼拜")

# A period without an hour: the hour it stands for (see the module docstring).
_DEFAULT_HOURS = (
    (re.compile(r"早上|早晨|清晨"), 8), (re.compile(r"上午"), 9), (re.compile(r"中午"), 12),
    (re.compile(r"下午"), 14), (re.compile(r"傍晚"), 18), (re.compile(r"晚上|晚间"), 19))

# Shorthands jionlp misreads (明早8点 comes back as today) or does not know (明早 alone).
_SHORTHAND = re.compile(r"([今明])([早晚])(?!上)")
# What 明早 -> 明天早上 inserts (天, 上); a pattern's text, as the code holds no CJK literals.
_FILL = re.compile(r"天上").pattern
# "12.06 9:00": jionlp reads dots only after a four-digit year.
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})(?=\s)")
# jionlp wraps numbers out of range (25点 -> 05:00, 13月 -> March): refuse them first.
_LIMITS = ((re.compile(r"(\d+)\s*月"), 12), (re.compile(r"(\d+)\s*[日号]"), 31),
           (re.compile(r"(\d+)\s*[点时:]"), 24), (re.compile(r":\s*(\d+)"), 59))

# jionlp's parse_time is one shared object that keeps each call's base in its attributes.
_PARSER_LOCK = threading.Lock()

_ROLL = {"year": None, "week": dt.timedelta(days=7), "day": dt.timedelta(days=1)}


def parse_moment(text: str, now: dt.datetime) -> dt.datetime:
    """A typed date and time in `now`'s time zone; a yearless date or a lone weekday or time
    is its next occurrence. Relative days and dates with a year may come back past."""
    folded = _fold(text)
    return _forward(_read(folded, now), _kind(folded), now)


def parse_end(text: str, start: dt.datetime, now: dt.datetime | None = None) -> dt.datetime:
    """An end time after `start`: a time alone is on the start's day; relative days (明天)
    count from `now` when given."""
    folded = _fold(text)
    kind = _kind(folded)
    if kind == "day":
        end = _read(folded, start)
    else:
        base = now.astimezone(start.tzinfo) if now is not None else start
        end = _forward(_read(folded, base), kind, base)
    if end <= start:
        raise DomainError("end_before_start")
    return end


def example(now: dt.datetime) -> str:
    """A date and time three days ahead, written the way every form accepts."""
    return f"{now + dt.timedelta(days=3):%m-%d} 09:00"


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip()
    text = re.sub(r"(?<!\d)\s+|\s+(?!\d)", "", text)
    text = _DOTTED_DATE.sub(r"\1-\2", text)
    return _SHORTHAND.sub(lambda m: f"{m[1]}{_FILL[0]}{m[2]}{_FILL[1]}", text)


def _kind(text: str) -> str:
    if _WITH_YEAR.search(text) or _RELATIVE.search(text):
        return "fixed"
    if _MONTH_DAY.search(text):
        return "year"
    return "week" if _WEEKDAY.search(text) else "day"


def _read(text: str, base: dt.datetime) -> dt.datetime:
    """What jionlp makes of `text` seen from `base`, as an aware moment in base's zone."""
    bad = DomainError("bad_moment", example=example(base))
    for pattern, limit in _LIMITS:
        if any(int(n) > limit for n in pattern.findall(text)):
            raise bad
    try:
        with _PARSER_LOCK:
            found = _parser()(text, time_base=base.replace(tzinfo=None))
        first, last = (dt.datetime.fromisoformat(s) for s in found["time"])
    except (ValueError, TypeError, KeyError):
        raise bad from None
    if found.get("type") != "time_point":
        raise bad
    if found.get("definition") == "blur":
        first = first.replace(hour=_default_hour(text, base), minute=0)
    elif last - first >= dt.timedelta(hours=23):
        raise DomainError("moment_without_time", example=example(base))
    return first.replace(second=0, microsecond=0, tzinfo=base.tzinfo)


def _default_hour(text: str, base: dt.datetime) -> int:
    for pattern, hour in _DEFAULT_HOURS:
        if pattern.search(text):
            return hour
    raise DomainError("moment_without_time", example=example(base))


def _forward(moment: dt.datetime, kind: str, now: dt.datetime) -> dt.datetime:
    """The next occurrence of a moment whose phrase left the year, week or day open."""
    if kind == "fixed" or moment > now:
        return moment
    step = _ROLL[kind]
    if step is not None:
        return moment + step
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:  # 2月29日 in a year before a common year
        raise DomainError("bad_moment", example=example(now)) from None


@functools.cache
def _parser() -> Callable[..., Any]:
    """jionlp's parse_time, imported on first use (about 0.3 s): it prints a banner on import."""
    with contextlib.redirect_stdout(io.StringIO()):
        import jionlp
    return jionlp.parse_time


# ---------------------------------------------------------------- showing moments


def day(t: Translator, at: dt.datetime, now: dt.datetime) -> str:
    """"12月6日周日" in the reader's language, with the year when it is not `now`'s."""
    at = at.astimezone(now.tzinfo)
    return format_skeleton("MMMEd" if at.year == now.year else "yMMMEd", at, locale=t.lang)


def moment(t: Translator, at: dt.datetime, now: dt.datetime) -> str:
    """"12月6日周日 09:00" (in the local zone of `now`), with the year when not this year."""
    local = at.astimezone(now.tzinfo)
    return t("moment.at", day=day(t, local, now), time=f"{local:%H:%M}")


def short(at: dt.datetime, now: dt.datetime) -> str:
    """"12-06 09:00" in any language; "2027-01-05 09:00" when not in `now`'s year."""
    local = at.astimezone(now.tzinfo)
    return f"{local:%m-%d %H:%M}" if local.year == now.year else f"{local:%Y-%m-%d %H:%M}"


def span(t: Translator, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> str:
    """"11月28日周六 09:00–11:00" in the reader's language (dates in `now`'s zone), with the
    year of any day not in `now`'s year."""
    start, end = start.astimezone(now.tzinfo), end.astimezone(now.tzinfo)
    if end.date() == start.date():
        return t("moment.span_same_day", day=day(t, start, now), start=f"{start:%H:%M}",
                 end=f"{end:%H:%M}")
    return t("moment.span", day=day(t, start, now), start=f"{start:%H:%M}",
             end_day=day(t, end, now), end=f"{end:%H:%M}")
