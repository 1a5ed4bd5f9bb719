"""Schedule rules on the Chinese working-day calendar: 2026, the estimated 2027, overrides."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from handlers.schedules import (
    Occurrence,
    Rule,
    WorkCalendar,
    first_workday_at,
    load_overrides,
    next_run,
    statutory_holidays,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
ROOT = Path(__file__).resolve().parent.parent
NINE = dt.time(9, 0)
MONTHLY = Rule("monthly_first_workday", NINE)

# The first working day of each month of 2026, written by hand from 国务院办公厅关于2026年部分
# 节假日安排的通知 (国办发明电, 2025-11-04, published by Xinhua the same day), which
# chinesecalendar 1.11.0 encodes in chinese_calendar/constants.py:
#   元旦 1月1日(周四)–3日 off, 1月4日(周日) works; 春节 2月15日–23日 off, 2月14日(周六) and
#   2月28日(周六) work; 清明 4月4日–6日 off; 劳动节 5月1日–5日 off, 5月9日(周六) works;
#   端午 6月19日–21日 off; 中秋 9月25日–27日 off; 国庆 10月1日–7日 off, 9月20日(周日) and
#   10月10日(周六) work.
FIRST_WORKDAYS_2026 = {
    1: dt.date(2026, 1, 4),  # Jan 1-3 (Thu-Sat) 元旦 off; Sun Jan 4 is an adjusted working day
    2: dt.date(2026, 2, 2),  # Feb 1 is a Sunday; Monday Feb 2 (春节 starts only Feb 15)
    3: dt.date(2026, 3, 2),  # Mar 1 is a Sunday; Monday Mar 2
    4: dt.date(2026, 4, 1),  # Wednesday; 清明 is Apr 4-6, later in the month
    5: dt.date(2026, 5, 6),  # May 1-5 (Fri-Tue) 劳动节 off; Wednesday May 6
    6: dt.date(2026, 6, 1),  # Monday; 端午 is Jun 19-21
    7: dt.date(2026, 7, 1),  # Wednesday, no holiday
    8: dt.date(2026, 8, 3),  # Aug 1-2 are Sat-Sun; Monday Aug 3
    9: dt.date(2026, 9, 1),  # Tuesday; 中秋 is Sep 25-27
    10: dt.date(2026, 10, 8),  # Oct 1-7 (Thu-Wed) 国庆 off; Thursday Oct 8 is an ordinary workday
    11: dt.date(2026, 11, 2),  # Nov 1 is a Sunday; Monday Nov 2
    12: dt.date(2026, 12, 1),  # Tuesday, no holiday
}


def at(year: int, month: int, day: int, hour: int, minute: int,
       tz: dt.tzinfo = SHANGHAI) -> dt.datetime:
    """An aware moment, in Shanghai unless told."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz)


def overrides(tmp_path: Path, text: str) -> Path:
    """An override file with `text`."""
    path = tmp_path / "holidays.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the official calendar, 2026 ------------------------------------------------------------

@pytest.mark.parametrize(("month", "expected"), sorted(FIRST_WORKDAYS_2026.items()))
def test_first_workday_of_every_month_of_2026(month: int, expected: dt.date) -> None:
    assert WorkCalendar().first_workday(2026, month) == (expected, False)


def test_the_hand_written_2026_dates_agree_with_the_package_data() -> None:
    for month, first in FIRST_WORKDAYS_2026.items():
        assert chinese_calendar.is_workday(first)
        before = [first.replace(day=day) for day in range(1, first.day)]
        assert not any(chinese_calendar.is_workday(day) for day in before), month


def test_adjusted_working_days_and_holidays_of_2026() -> None:
    calendar = WorkCalendar()
    assert calendar.is_workday(dt.date(2026, 1, 4))  # Sunday, 调休 for 元旦
    assert calendar.is_workday(dt.date(2026, 10, 10))  # Saturday, 调休 for 国庆
    assert not calendar.is_workday(dt.date(2026, 1, 2))  # Friday, 元旦
    assert not calendar.is_workday(dt.date(2026, 10, 7))  # Wednesday, 国庆
    assert calendar.covers(2026)
    assert not calendar.covers(2027)


def test_the_monthly_rule_walks_through_2026_at_nine() -> None:
    moment, seen = at(2025, 12, 31, 9, 0), []
    for _ in range(12):
        occurrence = next_run(MONTHLY, moment, SHANGHAI, WorkCalendar())
        assert occurrence is not None
        assert occurrence.fallback is False
        seen.append(occurrence.at)
        moment = occurrence.at
    assert seen == [at(d.year, d.month, d.day, 9, 0) for d in FIRST_WORKDAYS_2026.values()]


def test_the_monthly_rule_fires_later_the_same_day_but_never_twice() -> None:
    calendar = WorkCalendar()
    assert next_run(MONTHLY, at(2026, 1, 4, 8, 59), SHANGHAI, calendar) == Occurrence(
        at(2026, 1, 4, 9, 0), False)
    assert next_run(MONTHLY, at(2026, 1, 4, 9, 0), SHANGHAI, calendar) == Occurrence(
        at(2026, 2, 2, 9, 0), False)


# --- 2027: not published yet, estimated from the statutory holidays ------------------------

# What holidays 0.108 computes from the law for 2027 (observed days included); no 调休 is known.
STATUTORY_2027 = {
    dt.date(2027, 1, 1),  # 元旦, a Friday
    *(dt.date(2027, 2, day) for day in range(5, 11)),  # 春节: 除夕 Fri 5th … Wed 10th
    dt.date(2027, 4, 5),  # 清明, a Monday
    *(dt.date(2027, 5, day) for day in range(1, 5)),  # 劳动节 Sat 1st … Tue 4th
    dt.date(2027, 6, 9),  # 端午, a Wednesday
    dt.date(2027, 9, 15),  # 中秋, a Wednesday
    *(dt.date(2027, 10, day) for day in range(1, 6)),  # 国庆 Fri 1st … Tue 5th
}

# The first working day of each month of 2027 by that estimate, worked out by hand.
FIRST_WORKDAYS_2027 = {
    1: dt.date(2027, 1, 4),  # Fri Jan 1 元旦, Jan 2-3 weekend: Monday Jan 4
    2: dt.date(2027, 2, 1),  # Monday; 春节 starts only Feb 5
    3: dt.date(2027, 3, 1),  # Monday
    4: dt.date(2027, 4, 1),  # Thursday; 清明 is Apr 5
    5: dt.date(2027, 5, 5),  # May 1-4 (Sat-Tue) 劳动节: Wednesday May 5
    6: dt.date(2027, 6, 1),  # Tuesday
    7: dt.date(2027, 7, 1),  # Thursday
    8: dt.date(2027, 8, 2),  # Aug 1 is a Sunday: Monday Aug 2
    9: dt.date(2027, 9, 1),  # Wednesday
    10: dt.date(2027, 10, 6),  # Oct 1-5 (Fri-Tue) 国庆: Wednesday Oct 6
    11: dt.date(2027, 11, 1),  # Monday
    12: dt.date(2027, 12, 1),  # Wednesday
}


def test_the_statutory_holidays_of_2027_are_the_ones_the_law_gives() -> None:
    assert statutory_holidays(2027) == STATUTORY_2027


@pytest.mark.parametrize(("month", "expected"), sorted(FIRST_WORKDAYS_2027.items()))
def test_first_workday_of_every_month_of_2027_is_an_estimate(
        month: int, expected: dt.date) -> None:
    assert WorkCalendar().first_workday(2027, month) == (expected, True)


@pytest.mark.parametrize(("day", "works"), [
    (dt.date(2027, 1, 1), False),  # 元旦, a Friday
    (dt.date(2027, 1, 2), False),  # a Saturday
    (dt.date(2027, 1, 4), True),  # an ordinary Monday
    (dt.date(2027, 2, 5), False),  # 除夕, a Friday
    (dt.date(2027, 2, 9), False),  # 春节 observed, a Tuesday
    (dt.date(2027, 2, 10), False),  # 春节 observed, a Wednesday
    (dt.date(2027, 2, 11), True),  # Thursday after 春节
    (dt.date(2027, 4, 5), False),  # 清明, a Monday
    (dt.date(2027, 6, 9), False),  # 端午, a Wednesday
    (dt.date(2027, 9, 15), False),  # 中秋, a Wednesday
    (dt.date(2027, 10, 5), False),  # 国庆 observed, a Tuesday
    (dt.date(2027, 10, 6), True),  # Wednesday after 国庆
    (dt.date(2027, 10, 9), False),  # a Saturday: no 调休 is known for 2027
])
def test_working_days_of_2027_by_the_estimate(day: dt.date, works: bool) -> None:
    assert WorkCalendar().is_workday(day) is works


def test_the_monthly_rule_crosses_into_2027_on_the_estimate() -> None:
    calendar = WorkCalendar()
    january = next_run(MONTHLY, at(2026, 12, 1, 9, 0), SHANGHAI, calendar)
    assert january == Occurrence(at(2027, 1, 4, 9, 0), fallback=True)  # not 元旦
    february = next_run(MONTHLY, january.at, SHANGHAI, calendar)
    assert february == Occurrence(at(2027, 2, 1, 9, 0), fallback=True)
    december = next_run(MONTHLY, at(2026, 11, 2, 9, 0), SHANGHAI, calendar)
    assert december == Occurrence(at(2026, 12, 1, 9, 0), fallback=False)  # 2026 is published


def test_first_workday_at_gives_the_month_s_day_even_when_past() -> None:
    assert first_workday_at(NINE, 2027, 10, SHANGHAI, WorkCalendar()) == Occurrence(
        at(2027, 10, 6, 9, 0), fallback=True)


# --- the override file and the days set in chat -----------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ('holidays = ["2027-01-01"]', dt.date(2027, 1, 4)),  # already a holiday: no change
    # a holiday on the Monday the estimate would otherwise use
    ('holidays = ["2027-01-04"]', dt.date(2027, 1, 5)),
    # an adjusted working Sunday
    ('workdays = ["2027-01-03"]', dt.date(2027, 1, 3)),
    # the file wins over the statutory holiday too
    ('workdays = ["2027-01-01"]', dt.date(2027, 1, 1)),
])
def test_the_override_file_changes_january_2027(
        tmp_path: Path, text: str, expected: dt.date) -> None:
    calendar = WorkCalendar(overrides(tmp_path, text))
    occurrence = next_run(MONTHLY, at(2026, 12, 1, 9, 0), SHANGHAI, calendar)
    assert occurrence == Occurrence(at(expected.year, 1, expected.day, 9, 0), fallback=True)


def test_days_set_in_chat_win_over_the_file_and_leave_it_alone(tmp_path: Path) -> None:
    in_file = WorkCalendar(overrides(
        tmp_path, 'holidays = ["2027-01-04"]\nworkdays = ["2027-01-03"]'))
    in_chat = in_file.with_overrides(holidays=[dt.date(2027, 1, 3)],
                                     workdays=[dt.date(2027, 1, 4)])
    assert in_chat.first_workday(2027, 1) == (dt.date(2027, 1, 4), True)
    assert in_chat.overrides == ({dt.date(2027, 1, 3)}, {dt.date(2027, 1, 4)})
    assert in_file.first_workday(2027, 1) == (dt.date(2027, 1, 3), True)
    october = in_chat.with_overrides(holidays=[], workdays=[dt.date(2027, 10, 2)])
    assert october.first_workday(2027, 10) == (dt.date(2027, 10, 2), True)


def test_the_override_file_wins_over_the_official_calendar(tmp_path: Path) -> None:
    calendar = WorkCalendar(overrides(
        tmp_path, 'holidays = ["2026-06-01"]\nworkdays = ["2026-05-03"]'))
    assert calendar.first_workday(2026, 6) == (dt.date(2026, 6, 2), False)
    assert calendar.first_workday(2026, 5) == (dt.date(2026, 5, 3), False)


def test_bare_toml_dates_are_accepted(tmp_path: Path) -> None:
    path = overrides(tmp_path, "holidays = [2027-01-01]\nworkdays = []")
    assert load_overrides(path) == (frozenset({dt.date(2027, 1, 1)}), frozenset())


def test_a_missing_override_file_means_no_overrides(tmp_path: Path) -> None:
    calendar = WorkCalendar(tmp_path / "holidays.toml")
    assert calendar.first_workday(2027, 1) == (dt.date(2027, 1, 4), True)


def test_the_example_file_is_a_valid_override_file() -> None:
    holidays, workdays = load_overrides(ROOT / "locales" / "holidays.example.toml")
    assert dt.date(2027, 1, 1) in holidays
    assert not holidays & workdays


@pytest.mark.parametrize(("text", "entry"), [
    ('holidays = ["2027-02-30"]', "2027-02-30"),
    ('workdays = ["2027-1-3"]', "2027-1-3"),
    ("holidays = [20270101]", "20270101"),
    ('holidays = "2027-01-01"', "holidays"),
    ('holiday = ["2027-01-01"]', "holiday"),
    ('holidays = ["2027-01-01"', "TOML"),
    ('holidays = ["2027-01-01"]\nworkdays = ["2027-01-01"]', "2027-01-01"),
])
def test_a_malformed_override_file_names_the_file_and_the_entry(
        tmp_path: Path, text: str, entry: str) -> None:
    path = overrides(tmp_path, text)
    with pytest.raises(ValueError, match=r"holidays\.toml") as raised:
        WorkCalendar(path)
    assert str(path) in str(raised.value)
    assert entry in str(raised.value)


def test_a_month_without_any_working_day_is_a_clear_error(tmp_path: Path) -> None:
    days = ", ".join(f'"2027-02-{day:02d}"' for day in range(1, 29))
    calendar = WorkCalendar(overrides(tmp_path, f"holidays = [{days}]"))
    with pytest.raises(ValueError, match="2027-02"):
        calendar.first_workday(2027, 2)


# --- monthly on a day, weekly, daily, once ---------------------------------------------------

@pytest.mark.parametrize(("after", "expected"), [
    (at(2026, 1, 31, 9, 0), at(2026, 2, 28, 9, 0)),  # February has no 31st: its last day
    (at(2026, 2, 28, 9, 0), at(2026, 3, 31, 9, 0)),
    (at(2026, 3, 31, 9, 0), at(2026, 4, 30, 9, 0)),  # nor has April
    (at(2026, 4, 30, 9, 0), at(2026, 5, 31, 9, 0)),
    (at(2026, 12, 31, 9, 0), at(2027, 1, 31, 9, 0)),
    (at(2028, 2, 1, 0, 0), at(2028, 2, 29, 9, 0)),  # leap year
])
def test_monthly_on_day_31(after: dt.datetime, expected: dt.datetime) -> None:
    rule = Rule("monthly_day", NINE, day=31)
    assert next_run(rule, after, SHANGHAI, WorkCalendar()) == Occurrence(expected)


def test_monthly_on_a_day_later_the_same_day() -> None:
    rule = Rule("monthly_day", NINE, day=15)
    assert next_run(rule, at(2026, 3, 15, 8, 0), SHANGHAI, WorkCalendar()) == Occurrence(
        at(2026, 3, 15, 9, 0))


@pytest.mark.parametrize(("weekday", "after", "expected"), [
    (0, at(2026, 3, 9, 8, 0), at(2026, 3, 9, 9, 0)),  # Monday before nine: today
    (0, at(2026, 3, 9, 9, 0), at(2026, 3, 16, 9, 0)),  # Monday at nine: next week
    (2, at(2026, 3, 9, 10, 0), at(2026, 3, 11, 9, 0)),  # Wednesday
    (6, at(2026, 12, 30, 10, 0), at(2027, 1, 3, 9, 0)),  # Sunday, across the year
])
def test_weekly(weekday: int, after: dt.datetime, expected: dt.datetime) -> None:
    rule = Rule("weekly", NINE, day=weekday)
    assert next_run(rule, after, SHANGHAI, WorkCalendar()) == Occurrence(expected)


def test_daily() -> None:
    rule, calendar = Rule("daily", NINE), WorkCalendar()
    assert next_run(rule, at(2026, 3, 10, 8, 59), SHANGHAI, calendar) == Occurrence(
        at(2026, 3, 10, 9, 0))
    assert next_run(rule, at(2026, 3, 10, 9, 0), SHANGHAI, calendar) == Occurrence(
        at(2026, 3, 11, 9, 0))
    assert next_run(rule, at(2026, 12, 31, 23, 0), SHANGHAI, calendar) == Occurrence(
        at(2027, 1, 1, 9, 0))


def test_utc_input_is_read_in_the_schedules_zone_and_the_answer_is_in_it() -> None:
    calendar = WorkCalendar()
    # 20:00 UTC on Monday 9 March is 04:00 on Tuesday 10 March in Shanghai
    tuesday = next_run(Rule("weekly", NINE, day=1), at(2026, 3, 9, 20, 0, tz=dt.UTC),
                       SHANGHAI, calendar)
    assert tuesday is not None
    assert tuesday.at == at(2026, 3, 10, 1, 0, tz=dt.UTC)
    assert tuesday.at.tzinfo == SHANGHAI
    assert (tuesday.at.hour, tuesday.at.utcoffset()) == (9, dt.timedelta(hours=8))
    daily = Rule("daily", NINE)
    assert next_run(daily, at(2026, 3, 10, 0, 59, tz=dt.UTC), SHANGHAI, calendar) == Occurrence(
        at(2026, 3, 10, 9, 0))
    assert next_run(daily, at(2026, 3, 10, 1, 0, tz=dt.UTC), SHANGHAI, calendar) == Occurrence(
        at(2026, 3, 11, 9, 0))
    # 16:30 UTC on Sunday 3 January 2027 is already Monday the 4th in Shanghai
    assert next_run(MONTHLY, at(2027, 1, 3, 16, 30, tz=dt.UTC), SHANGHAI, calendar) == (
        Occurrence(at(2027, 1, 4, 9, 0), fallback=True))


def test_wall_clock_time_holds_across_a_dst_change() -> None:
    calendar = WorkCalendar()
    nine = next_run(Rule("daily", NINE), at(2026, 3, 7, 10, 0, tz=NEW_YORK), NEW_YORK, calendar)
    assert nine is not None
    assert (nine.at.day, nine.at.hour, nine.at.utcoffset()) == (8, 9, dt.timedelta(hours=-4))
    skipped = next_run(Rule("daily", dt.time(2, 30)), at(2026, 3, 7, 10, 0, tz=NEW_YORK),
                       NEW_YORK, calendar)
    assert skipped is not None
    assert (skipped.at.day, skipped.at.hour, skipped.at.minute) == (8, 3, 30)


def test_once() -> None:
    moment, calendar = at(2026, 11, 28, 9, 0), WorkCalendar()
    rule = Rule("once", at=moment)
    assert next_run(rule, at(2026, 11, 28, 8, 0), SHANGHAI, calendar) == Occurrence(moment)
    assert next_run(rule, moment, SHANGHAI, calendar) is None
    assert next_run(rule, at(2026, 12, 1, 9, 0), SHANGHAI, calendar) is None
    from_utc = next_run(Rule("once", at=moment.astimezone(dt.UTC)), at(2026, 1, 1, 0, 0),
                        SHANGHAI, calendar)
    assert from_utc is not None
    assert from_utc.at.tzinfo == SHANGHAI


def test_a_naive_moment_is_refused() -> None:
    naive = at(2026, 3, 10, 9, 0).replace(tzinfo=None)
    with pytest.raises(ValueError, match="aware"):
        next_run(Rule("daily", NINE), naive, SHANGHAI, WorkCalendar())
    with pytest.raises(ValueError, match="aware"):
        Rule("once", at=naive)


@pytest.mark.parametrize(("kind", "time", "day", "error"), [
    ("yearly", NINE, 0, "unknown rule kind"),
    ("monthly_day", NINE, 0, "1..31"),
    ("monthly_day", NINE, 32, "1..31"),
    ("weekly", NINE, 7, "Sunday"),
    ("daily", dt.time(9, 0, tzinfo=dt.UTC), 0, "tzinfo"),
])
def test_impossible_rules_are_refused(kind: str, time: dt.time, day: int, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Rule(kind, time, day)
