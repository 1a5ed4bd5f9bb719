"""假期: the 2027 theme day on the estimated calendar, and days a community admin sets in chat."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from bot.console import ConsoleWorld
from handlers.core import Core
from storage.models import DayOverride, Timer
from tests.conftest import SHANGHAI, TEST_RULES, Clock
from tests.story import GROUP, set_up_branch, texts, verified_member
from tests.test_notices import _notice

ESTIMATE = ("（估算：2027 年国务院节假日安排尚未公布，这个日期按法定节假日推算，未计调休；"
            "社区管理员可发送「假期」修正）")
THEME_DAY = ("主题党日", "本支部所有群", "每月第一个工作日", "09:00")


def _next(world: ConsoleWorld) -> str:
    """What `/notice list` says of notice #1's next sending."""
    listed = texts(world.say("王书记", "private", "/notice list"))[0]
    return listed.split("\n")[-1].strip()


def _summary_due(world: ConsoleWorld) -> dt.datetime:
    """When the pending monthly summary goes out, in Shanghai."""
    with world.core.db.session() as session:
        due = session.scalars(select(Timer.due_at).where(Timer.kind == "monthly_summary",
                                                         Timer.state == "pending")).one()
    return due.astimezone(SHANGHAI)


def _to_group(world: ConsoleWorld) -> list[str]:
    return [s.text for s in world.drain_outbox() if s.chat_id == world.group(GROUP)]


def test_the_2027_theme_day_falls_on_monday_4_january_and_is_called_an_estimate(
        world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    clock.set(2026, 12, 10, 10, 0)
    world.core.ensure_recurring()
    world.say("王书记", "private", "通知")
    world.say("王书记", "private", "主题党日")
    world.press("王书记", "private", "本支部所有群")
    world.press("王书记", "private", "每月第一个工作日")
    confirm = texts(world.say("王书记", "private", "09:00"))[0]
    assert f"每月第一个工作日 09:00，下次 2027年1月4日周一 09:00{ESTIMATE}" in confirm
    assert texts(world.press("王书记", "private", "确定"))[0] == (
        f"通知 #1 已安排：每月第一个工作日 09:00，下次 2027年1月4日周一 09:00{ESTIMATE}。")
    # The monthly points summary waits for the same day.
    assert _summary_due(world) == dt.datetime(2027, 1, 4, 9, 0, tzinfo=SHANGHAI)

    clock.set(2027, 1, 1, 9, 0)  # 元旦, a Friday
    assert world.run_timers() == []
    clock.set(2027, 1, 4, 9, 0)
    told = texts(world.run_timers())
    assert ("通知 #1 这次的发送日是估算的：2027 年国务院节假日安排尚未公布，按法定节假日推算。"
            "如有出入，社区管理员可发送「假期」修正。") in told
    assert _to_group(world) == ["【通知】主题党日"]
    # 1 February 2027 is an ordinary Monday; 春节 starts on the 5th.
    assert _next(world) == f"每月第一个工作日 09:00，下次 2月1日周一 09:00{ESTIMATE}"


def test_in_september_2027_the_october_theme_day_follows_national_day(
        world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    clock.set(2027, 9, 20, 10, 0)
    shown = _notice(world, *THEME_DAY)
    # 1–5 October 2027 (Friday to Tuesday) are 国庆 by the law: Wednesday the 6th.
    assert texts(shown)[0] == (
        f"通知 #1 已安排：每月第一个工作日 09:00，下次 10月6日周三 09:00{ESTIMATE}。")


def test_an_admin_moves_the_theme_day_and_the_summary_and_moves_them_back(
        world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    clock.set(2026, 12, 10, 10, 0)
    world.core.ensure_recurring()
    _notice(world, *THEME_DAY)

    assert texts(world.say("管理员", "private", "假期 添加 2027-01-04 放假")) == [
        "已设置：2027-01-04（周一）放假。2027年1月的第一个工作日：2027-01-05（周二，估算）。"
        "已把 2 项定时发送（通知、月度小结）改到新的日期。"]
    assert _next(world) == f"每月第一个工作日 09:00，下次 2027年1月5日周二 09:00{ESTIMATE}"
    assert _summary_due(world) == dt.datetime(2027, 1, 5, 9, 0, tzinfo=SHANGHAI)

    assert texts(world.say("管理员", "private", "假期 删除 2027-01-04")) == [
        "已撤销 2027-01-04（周一）的设置。2027年1月的第一个工作日：2027-01-04（周一，估算）。"
        "已把 2 项定时发送（通知、月度小结）改到新的日期。"]
    assert _next(world) == f"每月第一个工作日 09:00，下次 2027年1月4日周一 09:00{ESTIMATE}"
    assert _summary_due(world) == dt.datetime(2027, 1, 4, 9, 0, tzinfo=SHANGHAI)

    # The run set aside by the first change came back: the notice goes out once, on the 4th.
    clock.set(2027, 1, 4, 9, 0)
    world.run_timers()
    assert _to_group(world) == ["【通知】主题党日"]
    clock.set(2027, 1, 5, 9, 0)
    world.run_timers()
    assert _to_group(world) == []


def test_an_adjusted_working_sunday_brings_the_theme_day_forward(
        world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    clock.set(2026, 12, 10, 10, 0)
    _notice(world, *THEME_DAY)
    assert texts(world.say("管理员", "private", "/holidays add 2027-01-03 workday")) == [
        "已设置：2027-01-03（周日）上班（调休）。2027年1月的第一个工作日：2027-01-03（周日，估算）。"
        "已把 1 项定时发送（通知、月度小结）改到新的日期。"]
    assert _next(world) == f"每月第一个工作日 09:00，下次 2027年1月3日周日 09:00{ESTIMATE}"
    # A change that touches no planned month moves nothing.
    assert texts(world.say("管理员", "private", "假期 添加 2027-02-04 休息")) == [
        "已设置：2027-02-04（周四）放假。2027年2月的第一个工作日：2027-02-01（周一，估算）。"]


def test_a_change_never_drops_a_month_whose_new_first_day_has_passed(
        world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    clock.set(2026, 12, 10, 10, 0)
    _notice(world, *THEME_DAY)
    clock.set(2027, 1, 4, 8, 0)
    world.say("管理员", "private", "假期 添加 2027-01-02 上班")  # a Saturday, now past
    assert _next(world) == f"每月第一个工作日 09:00，下次 1月4日周一 09:00{ESTIMATE}"


def test_the_days_set_are_listed_with_the_years_that_are_estimates(
        world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    clock.set(2026, 12, 10, 10, 0)
    world.say("管理员", "private", "假期 添加 2027-10-09 调休")
    world.say("管理员", "private", "/holidays add 2027-02-04 holiday")
    world.say("管理员", "private", "假期 添加 2027-10-09 上班")  # the same day again: one line
    expected = ("假期调整（优先于官方日历和估算）：\n"
                "2027-02-04（周四）放假\n"
                "2027-10-09（周六）上班（调休）\n"
                "\n"
                "2027 年的国务院节假日安排尚未公布：工作日暂按法定节假日"
                "（元旦、春节、清明、劳动节、端午、中秋、国庆）估算，未计调休。"
                "公布后请按通知补充调休上班日。\n"
                "\n"
                "修改：假期 添加 2027-10-08 上班／放假；撤销：假期 删除 2027-10-08")
    assert texts(world.say("管理员", "private", "假期")) == [expected]
    assert texts(world.say("王书记", "private", "假期 列表")) == [expected]


def test_only_a_community_admin_changes_the_calendar(world: ConsoleWorld,
                                                     clock: Clock) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    clock.set(2026, 12, 10, 10, 0)
    assert texts(world.say("张三", "private", "/holidays add 2027-01-04 holiday")) == [
        "这个操作需要社区管理员权限。"]
    assert texts(world.say("王书记", "private", "假期 删除 2027-01-04")) == [
        "这个操作需要社区管理员权限。"]
    with world.core.db.session() as session:
        assert session.scalars(select(DayOverride)).all() == []


def test_bad_dates_and_kinds_get_the_usage(world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    clock.set(2026, 12, 10, 10, 0)
    usage = ("用法：\n"
             "假期 添加 2027-10-08 上班 —— 设为上班日（调休）\n"
             "假期 添加 2027-02-04 放假 —— 设为放假日\n"
             "假期 删除 2027-10-08 —— 撤销设置\n"
             "假期 —— 查看已设置的日期")
    assert texts(world.say("管理员", "private", "假期 添加 2027-02-30 放假")) == [
        "没看懂日期「2027-02-30」。请写成 2027-10-08 这样的格式。"]
    assert texts(world.say("管理员", "private", "假期 添加 10月8日 上班")) == [
        "没看懂日期「10月8日」。请写成 2027-10-08 这样的格式。"]
    assert texts(world.say("管理员", "private", "假期 添加 2027-10-08 加班")) == [usage]
    assert texts(world.say("管理员", "private", "/holidays add 2027-10-08")) == [usage]
    assert texts(world.say("管理员", "private", "假期 改 2027-10-08 上班")) == [usage]
    assert texts(world.say("管理员", "private", "假期 删除 2027-10-09")) == [
        "2027-10-09 没有在聊天中设置过，不需要撤销。发送「假期」查看已设置的日期。"]
    # Full-width digits and 年月日 are read as people type them.
    typed = texts(world.say("管理员", "private", "假期 添加 ２０２７年１０月９日 上班"))
    assert typed[0].startswith("已设置：2027-10-09（周六）上班（调休）。")


def test_the_override_file_keeps_working_and_the_chat_wins_over_it(
        world: ConsoleWorld, clock: Clock, tmp_path: Path) -> None:
    path = tmp_path / "holidays.toml"
    path.write_text('holidays = ["2027-01-04"]\n', encoding="utf-8")
    rules = TEST_RULES.model_copy(update={"holidays_file": str(path)})
    world = ConsoleWorld(Core(world.core.db, rules=rules, clock=clock))
    set_up_branch(world)
    clock.set(2026, 12, 10, 10, 0)
    _notice(world, *THEME_DAY)
    assert _next(world) == f"每月第一个工作日 09:00，下次 2027年1月5日周二 09:00{ESTIMATE}"
    assert "2027-01-04（周一）放假（holidays.toml 文件）" in texts(
        world.say("管理员", "private", "假期"))[0]
    assert texts(world.say("管理员", "private", "假期 删除 2027-01-04")) == [
        "2027-01-04 是在 holidays.toml 文件里设置的，请在文件中修改；也可以发送"
        "「假期 添加 2027-01-04 上班」或「假期 添加 2027-01-04 放假」改掉它。"]
    world.say("管理员", "private", "假期 添加 2027-01-04 上班")
    assert _next(world) == f"每月第一个工作日 09:00，下次 2027年1月4日周一 09:00{ESTIMATE}"


def test_a_file_edited_while_the_bot_was_down_moves_the_planned_day_at_start_up(
        world: ConsoleWorld, clock: Clock, tmp_path: Path) -> None:
    path = tmp_path / "holidays.toml"
    rules = TEST_RULES.model_copy(update={"holidays_file": str(path)})
    world = ConsoleWorld(Core(world.core.db, rules=rules, clock=clock))
    set_up_branch(world)
    clock.set(2026, 12, 10, 10, 0)
    world.core.ensure_recurring()
    _notice(world, *THEME_DAY)
    path.write_text('holidays = ["2027-01-04"]\n', encoding="utf-8")
    restarted = ConsoleWorld(Core(world.core.db, rules=rules, clock=clock))
    restarted.users, restarted.groups = world.users, world.groups
    restarted.core.ensure_recurring()
    assert _next(restarted) == f"每月第一个工作日 09:00，下次 2027年1月5日周二 09:00{ESTIMATE}"
    assert _summary_due(restarted) == dt.datetime(2027, 1, 5, 9, 0, tzinfo=SHANGHAI)
