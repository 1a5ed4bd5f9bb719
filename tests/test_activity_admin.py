"""The secretary's controls over an activity: 取消, 修改, 名单, 代报名; fair no-shows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.console import ConsoleWorld
from handlers.core import Core
from handlers.messages import ChatKind, Incoming
from storage.db import Database
from tests.conftest import TEST_RULES, Clock
from tests.story import GROUP, card, codes, publish, set_up_branch, texts, verified_member


def _with_members(world: ConsoleWorld, *names: str) -> None:
    set_up_branch(world)
    for number, name in enumerate(names, 1):
        verified_member(world, name, f"{number}号楼")


def _private(world: ConsoleWorld, name: str) -> list[str]:
    return [s.text for s in world.seen("private", name)]


def test_cancelling_tells_everyone_and_counts_nobody_absent(world: ConsoleWorld,
                                                            clock: Clock) -> None:
    _with_members(world, "张三", "李四", "王五", "赵六")
    publish(world, capacity=3)
    for name in ("张三", "李四", "王五", "赵六"):
        world.press(name, GROUP, "报名")
    assert card(world).text.endswith("报名 3/3 · 候补 1")
    sign_in, _ = codes(world)

    asked = world.say("王书记", GROUP, "活动 取消 清扫楼道")
    assert asked[0].chat_id == world.private_id("王书记"), "asked privately"
    assert "请写一句原因" in asked[0].text
    summary = texts(world.say("王书记", "private", "明天有暴雨"))[0]
    assert "将私下通知报名和候补的 4 人" in summary
    done = texts(world.press("王书记", "private", "确定取消活动"))
    assert "已取消「清扫楼道」，已私下通知 4 人。" in done

    for name in ("张三", "李四", "王五", "赵六"):
        assert _private(world, name)[-1] == (
            "你报名的「清扫楼道」（11-28 09:00）已取消：明天有暴雨。不记缺席。")
    assert card(world).text.startswith("【志愿活动 · 已取消】清扫楼道")
    assert card(world).text.endswith("已取消：明天有暴雨")
    assert card(world).buttons == [], "nothing to tap on a cancelled activity"

    clock.set(2026, 11, 28, 9, 0)
    assert texts(world.scan("张三", sign_in)) == ["「清扫楼道」已取消：明天有暴雨。"]
    clock.set(2026, 11, 28, 12, 0)
    world.run_timers()
    assert "记为缺席" not in " ".join(_private(world, "张三"))
    # Nobody is blocked: 张三 signs up for the next activity.
    publish(world, title="修剪绿化", start="11-30 9:00")
    assert texts(world.say("张三", GROUP, "报名 修剪绿化"))[0] == "报名成功：「修剪绿化」。"


def test_a_cancel_asks_the_reason_and_can_be_abandoned(world: ConsoleWorld) -> None:
    _with_members(world, "张三")
    publish(world)
    world.press("张三", GROUP, "报名")
    world.say("王书记", "private", "活动 取消")
    world.press("王书记", "private", "放弃")
    assert card(world).text.endswith("报名 1/2 · 候补 0"), "nothing half-done"
    assert texts(world.press("张三", GROUP, "报名"))[0] == "你已经报名「清扫楼道」了。"


def test_editing_tells_those_signed_up_and_promotes_the_waitlist(world: ConsoleWorld) -> None:
    _with_members(world, "张三", "李四", "王五")
    publish(world, capacity=2)
    for name in ("张三", "李四", "王五"):
        world.press(name, GROUP, "报名")

    summary = texts(world.say("王书记", "private", "活动 修改 清扫楼道"))[0]
    assert summary.startswith("请核对「修改活动」：")
    assert "地点：3号楼大堂" in summary
    world.press("王书记", "private", "修改地点")
    world.say("王书记", "private", "5号楼门口")
    world.press("王书记", "private", "修改名额")
    assert texts(world.say("王书记", "private", "1")) == [
        "已经有 2 人报名，名额不能少于 2。"]
    world.say("王书记", "private", "3")
    world.press("王书记", "private", "保存修改")
    assert _private(world, "王书记")[-1] == "「清扫楼道」已修改，已私下告知 2 位报名的人。"

    assert _private(world, "张三")[-1] == "你报名的「清扫楼道」有变动：\n地点：5号楼门口"
    assert "你从候补转为正式报名" in _private(world, "王五")[-1]
    assert "地点：5号楼门口" in card(world).text
    assert card(world).text.endswith("报名 3/3 · 候补 0")


def test_moving_the_start_moves_the_reminders(world: ConsoleWorld, clock: Clock) -> None:
    _with_members(world, "张三")
    publish(world)
    world.press("张三", GROUP, "报名")
    world.say("王书记", "private", "活动 修改 清扫楼道")
    world.press("王书记", "private", "修改开始时间")
    world.say("王书记", "private", "11-29 9:00")
    world.say("王书记", "private", "11:00")
    world.press("王书记", "private", "保存修改")
    assert "开始时间：11-29 09:00" in _private(world, "张三")[-1]
    clock.set(2026, 11, 27, 9, 30)
    assert world.run_timers() == [], "no reminder a day before the old start"
    clock.set(2026, 11, 28, 9, 0)
    (reminder,) = world.run_timers()
    assert "24 小时后开始" in reminder.text


def test_the_roster_shows_states_and_only_the_phones_given_for_it(world: ConsoleWorld,
                                                                  clock: Clock) -> None:
    _with_members(world, "张三", "李四", "王五")
    publish(world, capacity=3)
    world.press("张三", GROUP, "报名")
    world.press("李四", GROUP, "报名")

    # 李奶奶 signed up on paper: she has no account, only a line in the roster.
    asked = texts(world.say("王书记", "private", "活动 代报名 清扫楼道 李奶奶"))
    assert asked == ["住哪栋楼、哪个单元？"]
    world.say("王书记", "private", "5号楼1单元")
    world.say("王书记", "private", "13800138000")
    world.press("王书记", "private", "代报名")
    assert _private(world, "王书记")[-1] == "已为 李奶奶 报名「清扫楼道」（报名 3/3）。"
    # A member is signed up by name at once, and told.
    assert texts(world.say("王书记", "private", "活动 代报名 清扫 王五"))[0] == (
        "「清扫楼道」名额已满，王五 排在候补第 1 位。")
    assert texts(world.say("王书记", "private", "活动 代报名 清扫 李奶奶")) == [
        "李奶奶 已经报名了「清扫楼道」。"]

    sign_in, sign_out = codes(world)
    clock.set(2026, 11, 28, 8, 50)
    world.scan("张三", sign_in)
    clock.set(2026, 11, 28, 10, 0)
    world.scan("张三", sign_out)
    world.scan("李四", sign_in)
    roster = world.say("王书记", GROUP, "活动 名单 清扫")
    assert roster[0].chat_id == world.private_id("王书记")
    assert roster[0].text == (
        "「清扫楼道」名单（4 人，名额 3）：\n"
        "1. 张三（1号楼）已签退\n"
        "2. 李四（2号楼）已签到\n"
        "3. 李奶奶（5号楼1单元）报名 · 电话 13800138000\n"
        "4. 王五（3号楼）候补")
    clock.set(2026, 11, 28, 12, 0)
    world.run_timers()
    assert "3. 李奶奶（5号楼1单元）缺席" in texts(world.say("王书记", "private", "活动 名单"))[0]


def test_a_hand_added_neighbour_is_asked_about_by_phone_when_cancelled(
        world: ConsoleWorld) -> None:
    _with_members(world, "张三")
    publish(world)
    publish(world, title="修剪绿化", start="11-29 9:00")
    asked = world.say("王书记", "private", "活动 代报名 老陈")
    assert asked[0].text == "为哪个活动代报名？"
    world.press("王书记", "private", "清扫楼道（11-28 09:00）")
    world.press("王书记", "private", "不清楚")
    world.press("王书记", "private", "无")
    world.press("王书记", "private", "代报名")
    world.say("张三", GROUP, "报名 清扫楼道")
    world.say("王书记", "private", "活动 取消 清扫楼道")
    world.say("王书记", "private", "场地维修")
    world.press("王书记", "private", "确定取消活动")
    assert _private(world, "王书记")[-1] == ("已取消「清扫楼道」，已私下通知 1 人。\n"
                    "以下报名的人没有账号，请电话告知：老陈")


def test_residents_cannot_use_the_controls(world: ConsoleWorld) -> None:
    _with_members(world, "张三")
    publish(world)
    for command in ("活动 取消 清扫楼道", "活动 修改 清扫楼道", "活动 名单 清扫楼道",
                    "活动 代报名 清扫楼道 李奶奶"):
        assert texts(world.say("张三", "private", command)) == ["这个操作需要书记权限。"]
    assert texts(world.say("王书记", "private", "活动 取消 跳广场舞")) == [
        "没有找到叫「跳广场舞」的活动。发送「活动」查看近期活动。"]
    assert card(world).text.endswith("报名 0/2 · 候补 0")


def test_sign_up_closes_at_the_set_time_before_the_start(db: Database, clock: Clock) -> None:
    rules = TEST_RULES.model_copy(update={"signup_closes_minutes": 60})
    world = ConsoleWorld(Core(db, rules=rules, clock=clock))
    _with_members(world, "张三")
    publish(world)
    clock.set(2026, 11, 28, 8, 5)
    assert texts(world.say("张三", GROUP, "报名 清扫")) == [
        "「清扫楼道」的报名已于 11-28 08:00 截止。"]


def test_fair_no_shows(world: ConsoleWorld, clock: Clock) -> None:
    _with_members(world, "张三", "李四")
    publish(world)
    world.press("张三", GROUP, "报名")
    world.press("李四", GROUP, "报名")
    sign_in, sign_out = codes(world)

    # A late cancel warns first; 不取消 keeps the place.
    clock.set(2026, 11, 28, 7, 30)
    warned = world.say("李四", GROUP, "取消报名")
    assert texts(warned) == ["离开始不到 2 小时，取消会记为缺席，确定吗？（「清扫楼道」）"]
    assert warned[0].chat_id == world.private_id("李四")
    assert texts(world.press("李四", "private", "不取消")) == [
        "好的，你在「清扫楼道」的名额保留着。"]
    assert card(world).text.endswith("报名 2/2 · 候补 0")

    # Signed in: no cancelling, and never counted absent; no sign-out before the start.
    clock.set(2026, 11, 28, 8, 40)
    world.scan("张三", sign_in)
    assert texts(world.say("张三", "private", "取消报名")) == [
        "你已经在「清扫楼道」签到了，不能再取消报名。"]
    assert texts(world.scan("张三", sign_out)) == ["「清扫楼道」09:00 才开始，现在还不能签退。"]

    clock.set(2026, 11, 28, 9, 30)
    assert "还没有签到" in texts(world.scan("李四", sign_out))[0]

    # 李四 never comes: told privately at the close, the group hears nothing of it.
    seen_in_group = len(world.seen(GROUP))
    clock.set(2026, 11, 28, 12, 0)
    world.run_timers()
    assert _private(world, "李四")[-1] == "你报名了「清扫楼道」但没有签到，记为缺席。扣 2 分。"
    assert "缺席" not in " ".join(_private(world, "张三"))
    assert [s.text for s in world.seen(GROUP)[seen_in_group:]] == []


def test_raising_capacity_while_twenty_tap_sign_up(any_db: Database, clock: Clock) -> None:
    from storage import activities
    from storage.models import SignupStatus

    world = ConsoleWorld(Core(any_db, rules=TEST_RULES, clock=clock))
    set_up_branch(world)
    publish(world, capacity=5)
    world.say("王书记", "private", "活动 修改 清扫楼道")
    world.press("王书记", "private", "修改名额")
    world.say("王书记", "private", "15")
    summary = world.seen("private", "王书记")[-1]
    save = next(b for b in summary.flat_buttons if b.label == "保存修改")
    posted = card(world)
    names = [f"居民{n}" for n in range(20)]
    for name in names:
        world.user(name)
    updates = [Incoming("console", world.group(GROUP), ChatKind.GROUP, world.user(name),
                        button_data=posted.flat_buttons[0].data, message_id=posted.message_id)
               for name in names]
    updates.insert(10, Incoming("console", world.private_id("王书记"), ChatKind.PRIVATE,
                                world.user("王书记"), button_data=save.data,
                                message_id=summary.message_id))
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(world.core.handle, updates))
    with any_db.session() as session:
        item = activities.get(session, 1)
        assert item is not None
        assert item.capacity == 15
        confirmed = activities.people_with(session, 1, SignupStatus.CONFIRMED)
        waiting = activities.people_with(session, 1, SignupStatus.WAITLISTED)
    assert len(confirmed) == 15
    assert len(waiting) == 5
    assert len(set(confirmed) | set(waiting)) == 20
