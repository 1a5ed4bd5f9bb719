"""志愿活动: publish, sign up with capacity and waitlist, reminders, QR sign-in, the report."""

from __future__ import annotations

from bot.console import ConsoleWorld
from handlers.core import Core
from handlers.messages import ChatKind, Incoming
from storage.db import Database
from tests.conftest import TEST_RULES, Clock
from tests.story import (
    GROUP,
    card,
    codes,
    publish,
    set_up_branch,
    texts,
    verified_member,
)


def _points_of(world: ConsoleWorld, name: str) -> int:
    from storage import people, points

    with world.core.db.session() as session:
        account = people.find_account(session, "console", world.user(name).external_id)
        assert account is not None
        return points.total(session, account.person_id)


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
    assert _points_of(world, "张三") == 5  # the activity's points, once
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


def test_walk_ins_while_seats_remain_then_full(world: ConsoleWorld, clock: Clock) -> None:
    _with_members(world, "张三")
    publish(world, capacity=2)
    world.press("张三", GROUP, "报名")
    sign_in, _ = codes(world)
    clock.set(2026, 11, 28, 9, 0)
    assert texts(world.scan("路人甲", sign_in))[0].startswith("「清扫楼道」现场报名并签到成功")
    assert "报名 2/2 · 候补 0" in card(world).text
    assert texts(world.scan("路人乙", sign_in)) == ["「清扫楼道」名额已满，不能现场报名了。"]
    report = texts(world.say("王书记", "private", "活动 report"))[0]
    assert "签到：1（其中现场报名 1 人：路人甲）" in report


def test_scans_arriving_together_are_answered_as_if_one_after_another(
        any_db: Database, clock: Clock) -> None:
    """At the door five scans reach the bot in one batch: two members with places, a
    passer-by while one seat is left, a second passer-by when none is, and the first member
    scanning again."""
    world = ConsoleWorld(Core(any_db, rules=TEST_RULES, clock=clock))
    _with_members(world, "张三", "李四")
    publish(world, capacity=3)
    world.press("张三", GROUP, "报名")
    world.press("李四", GROUP, "报名")
    sign_in, _ = codes(world)
    clock.set(2026, 11, 28, 9, 0)

    def scanned(name: str, n: int) -> Incoming:
        sender = world.user(name)
        return Incoming(sender.platform, sender.external_id, ChatKind.PRIVATE, sender,
                        text=f"/start {sign_in}", update_key=f"door-{n}")

    door = ["张三", "路人甲", "李四", "路人乙", "张三"]
    answers = world.core.handle_batch([scanned(name, n) for n, name in enumerate(door)])
    assert [outs[0].text for outs in answers] == [
        "「清扫楼道」签到成功（09:00），参加可得 5 积分。离开时别忘了扫签退码。",
        "「清扫楼道」现场报名并签到成功（09:00），参加可得 5 积分。",
        "「清扫楼道」签到成功（09:00），参加可得 5 积分。离开时别忘了扫签退码。",
        "「清扫楼道」名额已满，不能现场报名了。",
        "你已于 09:00 签到「清扫楼道」。"]
    assert answers[1][1].text.endswith("报名 3/3 · 候补 0（报名已截止）")  # the group's card
    assert [_points_of(world, name) for name in ("张三", "路人甲", "李四", "路人乙")] == \
        [5, 5, 5, 0]
    report = texts(world.say("王书记", "private", "活动 report"))[0]
    assert "签到：3（其中现场报名 1 人：路人甲）" in report


def test_bad_codes_are_refused_with_reasons(world: ConsoleWorld, clock: Clock) -> None:
    _with_members(world, "张三")
    publish(world)
    publish(world, title="修剪绿化", start="11-29 9:00")
    world.press("张三", GROUP, "报名")
    sign_in, sign_out = codes(world, "清扫楼道")
    other_in, _ = codes(world, "修剪绿化")
    too_early = texts(world.scan("张三", sign_in))[0]
    assert too_early == "「清扫楼道」的签到还没开始，11-28 08:30 起可以签到。"
    clock.set(2026, 11, 28, 9, 0)
    forged = "ci_1_i0_" + "A" * 16
    tampered = sign_in.replace("_1_", "_2_")  # another activity's id under this signature
    flipped = sign_in[:-1] + ("x" if sign_in[-1] != "x" else "y")
    for payload in (forged, tampered, flipped, "ci_garbage"):
        refusal = texts(world.scan("张三", payload))
        assert refusal == ["这个签到码无效。请扫描现场的签到码。"], payload
    assert "还没有签到" in texts(world.scan("张三", sign_out))[0]
    assert "签到成功" in texts(world.scan("张三", sign_in))[0]
    assert texts(world.scan("张三", sign_in)) == ["你已于 09:00 签到「清扫楼道」。"]
    assert "还没开始" in texts(world.scan("张三", other_in))[0]
    clock.set(2026, 11, 28, 11, 31)
    assert texts(world.scan("张三", sign_out)) == ["「清扫楼道」已经结束，不能再签到或签退了。"]


def test_rotating_codes_expire_after_the_next_period(world: ConsoleWorld, clock: Clock) -> None:
    from handlers import qrcodes
    from tests.conftest import TEST_RULES

    _with_members(world, "张三", "李四")
    publish(world)
    clock.set(2026, 11, 28, 9, 0, 5)
    slot = qrcodes.current_slot(clock(), TEST_RULES.qr_period_seconds)
    shown_on_screen = qrcodes.make(TEST_RULES.secret, 1, "i", slot)
    clock.advance(seconds=TEST_RULES.qr_period_seconds)  # the screen has moved on once
    assert "签到成功" in texts(world.scan("张三", shown_on_screen))[0]
    clock.advance(seconds=TEST_RULES.qr_period_seconds)  # a photo taken home
    assert texts(world.scan("李四", shown_on_screen)) == [
        "这个签到码已过期，请扫描现场屏幕上最新的码。"]


def test_no_shows_block_sign_up_until_the_secretary_lifts_it(world: ConsoleWorld,
                                                              clock: Clock) -> None:
    _with_members(world, "张三")
    publish(world, title="第一次", start="11-24 9:00")
    publish(world, title="第二次", start="11-25 9:00")
    publish(world, title="第三次", start="11-30 9:00")
    world.say("张三", GROUP, "报名 第一次")
    world.say("张三", GROUP, "报名 第二次")
    clock.set(2026, 11, 26, 12, 0)
    world.run_timers()
    refusal = texts(world.say("张三", GROUP, "报名 第三次"))
    assert refusal == ["你有 2 次缺席未处理，暂时不能报名。请联系书记。"]
    username = world.user("张三").username
    lifted = world.say("王书记", GROUP, f"活动 lift @{username}")
    assert lifted[0].text == "已为 张三 免计 2 次缺席，可以重新报名了。"
    assert "免计你的缺席记录" in lifted[1].text
    assert texts(world.say("张三", GROUP, "报名 第三次"))[0] == "报名成功：「第三次」。"


def test_a_late_cancel_counts_unless_excused(world: ConsoleWorld, clock: Clock) -> None:
    _with_members(world, "张三")
    publish(world)
    world.press("张三", GROUP, "报名")
    clock.set(2026, 11, 28, 8, 0)
    warned = world.press("张三", GROUP, "取消")
    assert warned[0].chat_id == world.private_id("张三")
    assert warned[0].text == "离开始不到 2 小时，取消会记为缺席，确定吗？（「清扫楼道」）"
    assert "记为缺席" in texts(world.press("张三", "private", "确定"))[0]
    notice = world.seen("private", "王书记")[-1]
    assert "张三 在开始前不久取消了「清扫楼道」" in notice.text
    world.press("王书记", "private", "免计缺席")
    assert notice.text == "已为 张三 免计「清扫楼道」的缺席。"
    clock.set(2026, 11, 28, 12, 0)
    world.run_timers()
    assert "缺席：0（无）" in texts(world.say("王书记", "private", "活动 report"))[0]


def test_sign_up_closes_at_the_start(world: ConsoleWorld, clock: Clock) -> None:
    _with_members(world, "张三")
    publish(world)
    clock.set(2026, 11, 28, 9, 0)
    assert texts(world.say("张三", GROUP, "报名 清扫")) == ["「清扫楼道」已经开始，报名已截止。"]
    refusal = world.press("李四", GROUP, "报名")
    assert refusal[0].toast
    assert refusal[0].text == "「清扫楼道」已经开始，报名已截止。"


def test_a_loose_title_that_fits_two_activities_is_asked_about(world: ConsoleWorld) -> None:
    _with_members(world, "张三")
    publish(world, title="A段绿化养护")
    publish(world, title="B段绿化养护", start="11-29 9:00")
    asked = world.say("张三", GROUP, "报名 绿化")[0]
    assert asked.text == "是哪一个活动？"
    assert [b.label for b in asked.flat_buttons] == ["A段绿化养护（11月28日周六 09:00–11:00）",
                                                    "B段绿化养护（11月29日周日 09:00–11:00）"]
    assert asked.chat_id == world.private_id("张三"), "the question is his alone"
    world.press("张三", "private", 2)
    assert card(world, "B段绿化养护").text.endswith("报名 1/2 · 候补 0")
    assert card(world, "A段绿化养护").text.endswith("报名 0/2 · 候补 0")


def test_only_the_secretary_publishes_and_gets_codes(world: ConsoleWorld) -> None:
    _with_members(world, "张三")
    assert texts(world.say("张三", GROUP, "活动 new")) == ["这个操作需要书记权限。"]
    publish(world)
    assert texts(world.say("张三", GROUP, "签到码")) == ["这个操作需要书记权限。"]
    shown = world.say("王书记", GROUP, "签到码")
    assert [s.chat_id for s in shown].count(world.group(GROUP)) == 0  # all of it privately
    assert len([s for s in shown if s.qr_payload]) == 2


def test_bad_answers_in_the_form_are_asked_again(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("王书记", "private", "活动 new")
    world.say("王书记", "private", "清扫楼道")
    assert texts(world.say("王书记", "private", "改天吧")) == [
        "没看懂这个时间。请写成「明天上午9点」「12月6日 14:00」或「11-26 09:00」这样。"]
    assert texts(world.say("王书记", "private", "下周六")) == [
        "请写上几点，例如「周六上午9点」或「11-26 09:00」。"]
    assert "已经过去了" in texts(world.say("王书记", "private", "2026-11-20 9:00"))[0]
    world.say("王书记", "private", "11-28 9:00")
    assert texts(world.say("王书记", "private", "8:00")) == ["结束时间要晚于开始时间。"]
    world.say("王书记", "private", "11:00")
    world.say("王书记", "private", "大堂")
    assert "1 到 1000" in texts(world.say("王书记", "private", "很多"))[0]
    assert "第 6 步" in texts(world.say("王书记", "private", "２０"))[0]  # full-width digits


def test_reminders_survive_a_restart(world: ConsoleWorld, clock: Clock) -> None:
    from handlers.core import Core
    from tests.conftest import TEST_RULES

    _with_members(world, "张三")
    publish(world)
    world.press("张三", GROUP, "报名")
    restarted = ConsoleWorld(Core(world.core.db, rules=TEST_RULES, clock=clock))
    restarted.users, restarted.groups = world.users, world.groups
    clock.set(2026, 11, 27, 9, 30)
    reminded = restarted.run_timers()
    assert [s.chat_id for s in reminded] == [world.private_id("张三")]
    assert restarted.run_timers() == []
