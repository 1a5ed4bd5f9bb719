"""Times as people write them: the corpus in fixtures/times.toml, then the forms that read them."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.console import ConsoleWorld
from handlers.errors import DomainError
from handlers.i18n import Catalogs
from handlers.moments import moment, parse_end, parse_moment, span
from tests.conftest import Clock
from tests.story import GROUP, card, publish, set_up_branch, texts

SHANGHAI = ZoneInfo("Asia/Shanghai")
CORPUS = tomllib.loads((Path(__file__).parent / "fixtures" / "times.toml").read_text("utf-8"))
ZH = Catalogs().get("zh_CN")


def _cases(section: str) -> list[tuple[dict, list[str]]]:
    return [pytest.param(block, case, id=f"{block['now']:%m-%d %H:%M} {case[0]}")
            for block in CORPUS[section] for case in block["cases"]]


def _outcome(read: object, now: dt.datetime) -> str:
    """What became of a typed text: the moment, "!past", or "!<error code>"."""
    try:
        at = read()  # type: ignore[operator]
    except DomainError as error:
        return f"!{error.code}"
    assert at.tzinfo is not None
    return "!past" if at <= now else f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def test_the_corpus_is_large_enough() -> None:
    assert sum(len(block["cases"]) for block in CORPUS["clock"]) >= 60


@pytest.mark.parametrize(("block", "case"), _cases("clock"))
def test_corpus(block: dict, case: list[str]) -> None:
    now = block["now"].astimezone(SHANGHAI)
    text, expected, *shown = case
    assert _outcome(lambda: parse_moment(text, now), now) == expected
    if shown:
        assert moment(ZH, parse_moment(text, now), now) == shown[0]


@pytest.mark.parametrize(("block", "case"), _cases("end"))
def test_end_corpus(block: dict, case: list[str]) -> None:
    now, start = (block[k].astimezone(SHANGHAI) for k in ("now", "start"))
    text, expected = case
    assert _outcome(lambda: parse_end(text, start, now), now) == expected


def test_a_span_shows_the_year_of_each_day_not_in_this_year() -> None:
    now = dt.datetime(2026, 12, 31, 10, 0, tzinfo=SHANGHAI)
    start = dt.datetime(2026, 12, 31, 22, 0, tzinfo=SHANGHAI)
    end = dt.datetime(2027, 1, 1, 2, 0, tzinfo=SHANGHAI)
    assert span(ZH, start, end, now) == "12月31日周四 22:00 至 2027年1月1日周五 02:00"
    en = Catalogs().get("en")
    assert moment(en, end, now) == "Fri, Jan 1, 2027 02:00"


# ---------------------------------------------------------------- through the forms


def _activity_form(world: ConsoleWorld) -> None:
    world.say("王书记", "private", "活动 new")
    world.say("王书记", "private", "清扫楼道")


def test_an_activity_typed_as_people_say_it(world: ConsoleWorld, clock: Clock) -> None:
    clock.set(2026, 12, 1, 10, 0)
    set_up_branch(world)
    _activity_form(world)
    assert texts(world.say("王书记", "private", "明天上午9点")) == [
        "第 3 步：结束时间，例如「11:00」（只写时间就是同一天）或完整的日期和时间。"]
    world.say("王书记", "private", "11点")
    for answer in ("3号楼大堂", "2", "5"):
        world.say("王书记", "private", answer)
    preview = texts(world.press("王书记", "private", "无"))[0]
    assert "开始时间：12月2日周三 09:00\n结束时间：12月2日周三 11:00\n" in preview


def test_the_examples_the_forms_show_are_accepted(world: ConsoleWorld, clock: Clock) -> None:
    clock.set(2026, 12, 1, 10, 0)
    set_up_branch(world)
    _activity_form(world)
    assert texts(world.say("王书记", "private", "改天")) == [
        "没看懂这个时间。请写成「明天上午9点」「12月6日 14:00」或「12-04 09:00」这样。"]
    for example in ("明天上午9点", "下周三 14:00", "12-04 09:00", "12月6日 14:00"):
        world.say("王书记", "private", "取消")
        _activity_form(world)
        asked_end = texts(world.say("王书记", "private", example))[0]
        assert asked_end.startswith("第 3 步：结束时间"), example
    world.say("王书记", "private", "取消")
    _activity_form(world)
    assert texts(world.say("王书记", "private", "明天上午9点")) == [
        "第 3 步：结束时间，例如「11:00」（只写时间就是同一天）或完整的日期和时间。"]
    assert texts(world.say("王书记", "private", "11:00")) == ["第 4 步：活动地点。"]
    world.say("王书记", "private", "取消")
    world.say("王书记", "private", "通知")
    world.say("王书记", "private", "停水")
    world.press("王书记", "private", "本支部所有群")
    assert texts(world.press("王书记", "private", "指定时间发一次")) == [
        "请发送日期和时间，例如「明天上午9点」或「12-04 09:00」。"]
    assert "12月2日周三 09:00 发送一次" in texts(world.say("王书记", "private", "明天上午9点"))[0]
    world.press("王书记", "private", "放弃")
    world.say("王书记", "private", "通知")
    world.say("王书记", "private", "停水")
    world.press("王书记", "private", "本支部所有群")
    world.press("王书记", "private", "指定时间发一次")
    assert "12月4日周五 09:00 发送一次" in texts(world.say("王书记", "private", "12-04 09:00"))[0]


def test_a_past_start_is_refused_in_the_activity_words(world: ConsoleWorld,
                                                       clock: Clock) -> None:
    clock.set(2026, 12, 1, 10, 0)
    set_up_branch(world)
    _activity_form(world)
    assert texts(world.say("王书记", "private", "今天上午9点")) == [
        "开始时间 12月1日周二 09:00 已经过去了，请写一个将来的时间。"]
    assert texts(world.say("王书记", "private", "2025年12月6日 9:00")) == [
        "开始时间 2025年12月6日周六 09:00 已经过去了，请写一个将来的时间。"]


def test_a_notice_at_a_time_people_write(world: ConsoleWorld, clock: Clock) -> None:
    clock.set(2026, 12, 1, 10, 0)
    set_up_branch(world)
    world.say("王书记", "private", "通知")
    world.say("王书记", "private", "周六停水")
    world.press("王书记", "private", "本支部所有群")
    world.press("王书记", "private", "指定时间发一次")
    assert texts(world.say("王书记", "private", "昨天晚上8点")) == [
        "通知时间 11月30日周一 20:00 已经过去了，请写一个将来的时间。"]
    world.say("王书记", "private", "12月6日上午9点")
    assert texts(world.press("王书记", "private", "确定")) == [
        "通知 #1 已安排：12月6日周日 09:00 发送一次。"]
    assert texts(world.say("王书记", "private", "通知 edit 1 time 今天上午9点")) == [
        "通知时间 12月1日周二 09:00 已经过去了，请写一个将来的时间。"]
    assert texts(world.say("王书记", "private", "通知 edit 1 time 后天下午三点半")) == [
        "通知 #1 已修改。"]
    assert texts(world.say("王书记", "private", "通知 list")) == [
        "待发送的通知：\n#1 周六停水\n   12月3日周四 15:30 发送一次"]
    clock.set(2026, 12, 3, 15, 30)
    world.run_timers()
    assert [s.text for s in world.drain_outbox() if s.chat_id == world.group(GROUP)] == [
        "【通知】周六停水"]


def test_a_daily_notice_takes_its_time_as_people_write_it(world: ConsoleWorld,
                                                          clock: Clock) -> None:
    clock.set(2026, 12, 1, 10, 0)
    set_up_branch(world)
    world.say("王书记", "private", "通知")
    world.say("王书记", "private", "垃圾分类提醒")
    world.press("王书记", "private", "本支部所有群")
    world.press("王书记", "private", "每天")
    assert texts(world.say("王书记", "private", "明天")) == [
        "请写成「09:00」或「上午9点」这样的时间。"]
    world.say("王书记", "private", "晚上7点半")
    assert texts(world.press("王书记", "private", "确定")) == [
        "通知 #1 已安排：每天 19:30，下次 12月1日周二 19:30。"]


def test_a_yearless_date_already_past_is_next_year_and_says_so(world: ConsoleWorld,
                                                               clock: Clock) -> None:
    clock.set(2026, 12, 1, 10, 0)
    set_up_branch(world)
    publish(world, start="11月28日 9:00", end="11点")
    assert card(world).text.startswith("【志愿活动】清扫楼道\n时间：2027年11月28日周日 09:00–11:00")
    listed = texts(world.say("王书记", "private", "活动"))[0]
    assert "2027年11月28日周日 09:00–11:00 · 3号楼大堂" in listed


def test_late_in_the_year_january_is_next_january(world: ConsoleWorld, clock: Clock) -> None:
    clock.set(2026, 12, 20, 10, 0)
    set_up_branch(world)
    _activity_form(world)
    world.say("王书记", "private", "1月5日上午9点")
    for answer in ("11点", "3号楼大堂", "2", "5"):
        world.say("王书记", "private", answer)
    preview = texts(world.press("王书记", "private", "无"))[0]
    assert "开始时间：2027年1月5日周二 09:00\n结束时间：2027年1月5日周二 11:00\n" in preview
