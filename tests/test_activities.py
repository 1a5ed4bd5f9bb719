"""志愿活动: publish, sign up with capacity and waitlist, reminders, QR sign-in, the report."""

from __future__ import annotations

from bot.console import ConsoleWorld
from tests.conftest import Clock
from tests.story import (
    GROUP,
    card,
    codes,
    publish,
    set_up_branch,
    texts,
    verified_member,
)


def _with_members(world: ConsoleWorld, *names: str) -> None:
    set_up_branch(world)
    for name in names:
        verified_member(world, name)


def test_the_whole_story(world: ConsoleWorld, clock: Clock) -> None:
    _with_members(world, "张三", "李四", "王五")
    # The secretary posts an activity with two places.
    done = publish(world)
    assert "已发布到 1 个群" in texts(done)[-1]
    posted = card(world)
    assert posted.text.startswith("【志愿活动】清扫楼道\n时间：11月28日周六 09:00–11:00")
    assert posted.text.endswith("报名 0/2 · 候补 0")

    # Three sign up for two seats: the card counts, the third is waitlisted.
    assert texts(world.press("张三", GROUP, "报名"))[0] == "报名成功：「清扫楼道」。"
    assert texts(world.say("李四", GROUP, "报名 清扫"))[0] == "报名成功：「清扫楼道」。"
    third = world.press("王五", GROUP, "报名")
    assert third[0].toast
    assert "候补第 1 位" in third[0].text
    assert card(world).text.endswith("报名 2/2 · 候补 1")
    # A repeated tap is a no-op, never a second seat.
    assert "已经报名" in texts(world.press("张三", GROUP, "报名"))[0]
    assert card(world).text.endswith("报名 2/2 · 候补 1")

    # One cancels in good time: the first on the waitlist is promoted and told privately.
    clock.set(2026, 11, 25, 20, 0)
    shown = world.say("李四", GROUP, "取消报名")
    assert shown[0].text == "已取消报名「清扫楼道」。"
    promoted = [s for s in shown if s.chat_id == world.private_id("王五")]
    assert "你从候补转为正式报名" in promoted[0].text
    assert card(world).text.endswith("报名 2/2 · 候补 0")

    # Reminders: 24 h and 1 h before, privately, to those with a place, once each.
    clock.set(2026, 11, 27, 9, 0)
    reminded = world.run_timers()
    assert sorted(s.chat_id for s in reminded) == sorted(
        [world.private_id("张三"), world.private_id("王五")])
    assert "24 小时后开始" in reminded[0].text
    assert world.run_timers() == []
    clock.set(2026, 11, 28, 8, 0)
    assert len(world.run_timers()) == 2

    # On site: sign in, a second scan, sign out with hours capped at the activity's length.
    sign_in, sign_out = codes(world)
    clock.set(2026, 11, 28, 8, 52)
    assert texts(world.scan("张三", sign_in))[0].startswith("「清扫楼道」签到成功（08:52）")
    clock.set(2026, 11, 28, 9, 2)
    assert texts(world.scan("张三", sign_in)) == ["你已于 08:52 签到「清扫楼道」。"]
    clock.set(2026, 11, 28, 11, 20)
    assert "本次服务 2.0 小时" in texts(world.scan("张三", sign_out))[0]

    # After the end: 王五 never came and is recorded as a no-show.
    clock.set(2026, 11, 28, 11, 31)
    world.run_timers()
    assert "已结束" in card(world).text
    report = texts(world.say("王书记", "private", "活动 report 清扫"))[0]
    assert "报名：2/2" in report
    assert "签到：1" in report
    assert "缺席：1（王五）" in report
    assert "服务时长合计：2.0 小时" in report
