"""通知: broadcasts now, at a time and on rules; 收到 once per person; nudges; status."""

from __future__ import annotations

from bot.console import ConsoleWorld
from tests.conftest import Clock
from tests.story import GROUP, set_up_branch, texts, verified_member


def _second_group(world: ConsoleWorld) -> None:
    world.say("管理员", "二期群", "/bind 阳光小区党支部")


def _notice(world: ConsoleWorld, text: str, target: str, rule: str,
            when: str | None = None) -> list:
    world.say("王书记", "private", "通知")
    world.say("王书记", "private", text)
    world.press("王书记", "private", target)
    world.press("王书记", "private", rule)
    if when is not None:
        world.say("王书记", "private", when)
    return world.press("王书记", "private", "确定")


def test_a_notice_now_reaches_every_group_once_with_progress(world: ConsoleWorld) -> None:
    set_up_branch(world)
    _second_group(world)
    shown = _notice(world, "周六上午清扫楼道，请大家参加", "本支部所有群", "立即发送")
    assert texts(shown)[0] == "通知 #1 已安排：立即发送。"
    progress = next(s for s in shown if s.text.startswith("通知 #1：已发送"))
    sent = world.drain_outbox()
    groups = [s for s in sent if s.chat_id in (world.group(GROUP), world.group("二期群"))]
    assert [s.text for s in groups] == ["【通知】周六上午清扫楼道，请大家参加"] * 2
    assert [b.label for b in groups[0].flat_buttons] == ["收到"]
    assert progress.text == "通知 #1：已发送 2/2"
    assert "已全部送达（2/2）" in world.seen("private", "王书记")[-1].text
    assert world.drain_outbox() == []


def test_ack_counts_once_and_the_nudge_goes_once_to_the_others(world: ConsoleWorld,
                                                                clock: Clock) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    verified_member(world, "李四")
    _notice(world, "本周五主题党日", "本支部所有群", "立即发送")
    world.drain_outbox()
    assert texts(world.press("张三", GROUP, "收到")) == ["已收到，谢谢！"]
    assert texts(world.press("张三", GROUP, "收到")) == ["你已经点过收到了。"]
    status = texts(world.say("王书记", "private", "/notice status 1"))[0]
    assert "收到：1/2 名党员" in status
    assert "还没点收到：李四" in status
    clock.advance(hours=25)
    nudged = world.run_timers()
    assert [s.chat_id for s in nudged] == [world.private_id("李四")]
    assert "还没点「收到」：本周五主题党日" in nudged[0].text
    assert world.run_timers() == []


def test_monthly_first_working_day_follows_the_holiday_calendar(world: ConsoleWorld,
                                                               clock: Clock) -> None:
    set_up_branch(world)
    clock.set(2026, 9, 20, 10, 0)
    shown = _notice(world, "主题党日", "本支部所有群", "每月第一个工作日", "09:00")
    # October 1–7 2026 is the National Day holiday: the first working day is October 8.
    assert texts(shown)[0] == "通知 #1 已安排：每月第一个工作日 09:00，下次 10月8日周四 09:00。"
    clock.set(2026, 10, 8, 9, 0)
    world.run_timers()
    assert [s.text for s in world.drain_outbox() if s.chat_id == world.group(GROUP)] == [
        "【通知】主题党日"]
    listed = texts(world.say("王书记", "private", "/notice list"))[0]
    assert "下次 11月2日周一 09:00" in listed


def test_a_notice_missed_while_the_bot_was_down_is_reported_not_sent(world: ConsoleWorld,
                                                                     clock: Clock) -> None:
    set_up_branch(world)
    _notice(world, "停水通知", "本支部所有群", "指定时间发一次", "11-24 08:00")
    clock.set(2026, 11, 24, 8, 30)  # half an hour late: still within the grace period
    world.run_timers()
    assert len([s for s in world.drain_outbox() if s.chat_id == world.group(GROUP)]) == 1
    _notice(world, "停电通知", "本支部所有群", "指定时间发一次", "11-25 08:00")
    clock.set(2026, 11, 25, 11, 0)  # three hours late
    told = world.run_timers()
    assert "已错过，没有补发" in told[0].text
    assert world.drain_outbox() == []


def test_cancel_and_edit_a_scheduled_notice(world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    _notice(world, "每日提醒", "本支部所有群", "每天", "08:00")
    assert texts(world.say("王书记", "private", "/notice edit 1 time 07:30")) == [
        "通知 #1 已修改。"]
    assert "下次 11月24日周二 07:30" in texts(world.say("王书记", "private", "/notice list"))[0]
    world.say("王书记", "private", "/notice edit 1 text 每日早安")
    clock.set(2026, 11, 24, 7, 30)
    world.run_timers()
    assert [s.text for s in world.drain_outbox() if s.chat_id == world.group(GROUP)] == [
        "【通知】每日早安"]
    assert texts(world.say("王书记", "private", "/notice cancel 1")) == [
        "通知 #1 已取消，不会再发送。"]
    clock.set(2026, 11, 25, 7, 30)
    world.run_timers()
    assert world.drain_outbox() == []


def test_only_secretaries_send_notices(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    assert texts(world.say("张三", GROUP, "通知")) == ["这个操作需要书记权限。"]
    assert texts(world.say("张三", GROUP, "/notice status 1")) == ["这个操作需要书记权限。"]
