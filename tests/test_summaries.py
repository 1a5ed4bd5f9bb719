"""小结 on demand: the month's figures, privately to the secretary."""

from __future__ import annotations

from bot.console import ConsoleWorld
from tests.conftest import Clock
from tests.story import GROUP, codes, publish, set_up_branch, texts, verified_member


def test_this_and_last_months_summary_go_privately(world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    verified_member(world, "李四")
    world.say("张三", GROUP, "签到")
    publish(world)
    world.press("张三", GROUP, "报名")
    sign_in, sign_out = codes(world)
    clock.set(2026, 11, 28, 9, 0)
    world.scan("张三", sign_in)
    clock.set(2026, 11, 28, 10, 30)
    world.scan("张三", sign_out)
    world.say("刘阿姨", GROUP, "反映 路灯坏了")

    shown = world.say("王书记", GROUP, "本月小结")
    assert [s.chat_id for s in shown] == [world.private_id("王书记")]
    assert shown[0].text == (
        "【阳光小区党支部 · 2026年11月小结】（仅你可见）\n"
        "党员 2 人；签到 1 次\n"
        "志愿活动 1 场，服务 1.5 小时\n"
        "认领 0 项，践诺并评价 0 件\n"
        "邻里求助 0 件，完成 0 件\n"
        "反映问题 1 件，解决 0 件\n"
        "通知 0 次，收到率 -")
    assert texts(world.say("王书记", "private", "小结")) == texts(shown)
    clock.set(2026, 12, 2, 9, 0)
    assert "2026年11月小结" in texts(world.say("王书记", "private", "上月小结"))[0]
    assert "2026年11月小结" in texts(world.say("王书记", "private", "小结 上月"))[0]
    assert "签到 0 次" in texts(world.say("王书记", "private", "小结"))[0]
    assert texts(world.say("张三", "private", "小结")) == ["这个操作需要书记权限。"]
