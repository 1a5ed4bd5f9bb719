"""签到: the identity line in the group, once a day, counted per month."""

from __future__ import annotations

from bot.console import ConsoleWorld
from tests.conftest import Clock
from tests.story import GROUP, register, set_up_branch, texts, verified_member


def test_verified_member_checks_in_and_the_group_sees_who(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    shown = world.say("张三", GROUP, "签到")
    assert [(s.chat_id, s.text) for s in shown] == [
        (world.group(GROUP), "党员 张三（3号楼2单元）签到，本月第 1 次")]


def test_second_check_in_the_same_day_tells_the_first_time(world: ConsoleWorld,
                                                           clock: Clock) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    world.say("张三", GROUP, "签到")
    clock.advance(hours=3)
    second = texts(world.say("张三", GROUP, "/checkin"))
    assert second == ["你今天已于 08:30 签到过了，明天再来吧！"]


def test_month_count_grows_by_day_and_restarts_next_month(world: ConsoleWorld,
                                                          clock: Clock) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    clock.set(2026, 11, 29, 23, 50)
    world.say("张三", GROUP, "签到")
    clock.set(2026, 11, 30, 0, 5)  # just past midnight in Shanghai: a new day
    assert "本月第 2 次" in texts(world.say("张三", GROUP, "签到"))[0]
    clock.set(2026, 12, 1, 7, 0)
    assert "本月第 1 次" in texts(world.say("张三", GROUP, "签到"))[0]


def test_building_leader_is_shown_with_the_office(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    world.say("王书记", GROUP, "/grant building_leader", reply_to="张三")
    assert texts(world.say("张三", GROUP, "签到")) == [
        "党员 张三（3号楼2单元·楼栋长）签到，本月第 1 次"]


def test_unverified_people_are_told_what_to_do(world: ConsoleWorld) -> None:
    set_up_branch(world)
    assert "发送「亮身份」开始" in texts(world.say("路人", GROUP, "签到"))[0]
    register(world, "李四")
    assert "等书记核实" in texts(world.say("李四", GROUP, "签到"))[0]


def test_check_in_needs_a_bound_group(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    assert "还没有绑定党支部" in texts(world.say("张三", "闲聊群", "签到"))[0]


def test_markup_in_a_name_is_shown_as_typed_in_the_group(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("<b>老王</b>", GROUP, "亮身份")
    world.say("<b>老王</b>", "private", "<a href=x>王</a>")
    world.say("<b>老王</b>", "private", "1号楼")
    world.press("<b>老王</b>", "private", "在职")
    world.press("<b>老王</b>", "private", "在册")
    world.press("<b>老王</b>", "private", "暂无")
    world.press("<b>老王</b>", "private", "提交")
    world.press("王书记", "private", "核实")
    line = texts(world.say("<b>老王</b>", GROUP, "签到"))[0]
    # Sent as plain text, so the markup is visible characters, never a link.
    assert line == "党员 <a href=x>王</a>（1号楼）签到，本月第 1 次"
