"""The monthly summary: once, on the first working day at 09:00, to every group of the branch."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.console import ConsoleWorld
from handlers.core import Core
from storage.db import Database
from storage.models import Timer
from tests.conftest import SHANGHAI, TEST_RULES, Clock
from tests.story import BRANCH, GROUP, set_up_branch, verified_member
from tests.test_points import _november

SECOND_GROUP = "阳光小区二群"
NOVEMBER = ("【阳光小区党支部 · 2026年11月小结】\n"
            "签到 3 次；志愿活动 1 场，服务 2.0 小时；"
            "践诺 1 件；邻里求助 1 件；解决反映的问题 1 件。\n"
            "最活跃：张三 14 分、一位邻居 9 分、王五 3 分\n谢谢大家！")


def _restarted(world: ConsoleWorld, clock: Clock) -> ConsoleWorld:
    """A new process on the same database; start-up sets the recurring timers again."""
    again = ConsoleWorld(Core(world.core.db, rules=TEST_RULES, clock=clock))
    again.users, again.groups = world.users, world.groups
    again.core.ensure_recurring()
    return again


def _summaries(world: ConsoleWorld) -> list[Timer]:
    with world.core.db.session() as session:
        found = session.scalars(select(Timer).where(Timer.kind == "monthly_summary")
                                .order_by(Timer.ref)).all()
        session.expunge_all()
        return list(found)


def test_last_month_is_summed_up_once_even_across_a_restart(any_db: Database,
                                                            clock: Clock) -> None:
    world = ConsoleWorld(Core(any_db, rules=TEST_RULES, clock=clock))
    world.core.ensure_recurring()
    _november(world, clock)
    world.say("李四", GROUP, "排行 hide")
    world.say("管理员", SECOND_GROUP, f"/bind {BRANCH}")
    # Another branch with a group and a quiet month: it gets nothing.
    world.say("管理员", "private", "/branch new 幸福里党支部")
    world.say("管理员", "幸福里群", "/bind 幸福里党支部")

    clock.set(2026, 12, 1, 8, 59)
    assert world.run_timers() == []
    # The process is down at 09:00; the one started at 10:00 sends the summary late, once.
    clock.set(2026, 12, 1, 10, 0)
    restarted = _restarted(world, clock)
    shown = restarted.run_timers()
    assert sorted((restarted.chat_name(s.chat_id), s.text) for s in shown) == sorted([
        (GROUP, NOVEMBER), (SECOND_GROUP, NOVEMBER)])
    assert restarted.run_timers() == []
    assert world.run_timers() == []
    assert _restarted(world, clock).run_timers() == []

    # December's summary waits for January's first working day.
    fired, pending = _summaries(world)
    assert (fired.ref, fired.state, pending.ref, pending.state) == (
        "2026-11", "done", "2026-12", "pending")
    # 1 January 2027 is 元旦 (estimated from the law: the official 2027 schedule is not out)
    assert pending.due_at.astimezone(SHANGHAI).date() == dt.date(2027, 1, 4)
    assert pending.due_at.astimezone(SHANGHAI).time() == dt.time(9, 0)


def test_the_summary_waits_for_the_first_working_day_after_new_year(
        world: ConsoleWorld, clock: Clock) -> None:
    clock.set(2025, 12, 20, 10, 0)
    set_up_branch(world)
    verified_member(world, "张三")
    world.say("张三", GROUP, "签到")
    world.core.ensure_recurring()
    world.core.ensure_recurring()  # idempotent: one timer per month
    assert [t.ref for t in _summaries(world)] == ["2025-12"]

    # 1–3 January 2026 are holidays; Sunday the 4th is a working day (调休).
    for day in (1, 2, 3):
        clock.set(2026, 1, day, 9, 0)
        assert world.run_timers() == []
    clock.set(2026, 1, 4, 9, 0)
    assert [(world.chat_name(s.chat_id), s.text) for s in world.run_timers()] == [
        (GROUP, "【阳光小区党支部 · 2025年12月小结】\n"
                "签到 1 次；志愿活动 0 场，服务 0.0 小时；"
                "践诺 0 件；邻里求助 0 件；解决反映的问题 0 件。\n"
                "最活跃：张三 1 分\n谢谢大家！")]
    assert world.run_timers() == []
