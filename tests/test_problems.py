"""反映: report, the secretary's triage, the reporter told each step, "解决了吗?" asked once."""

from __future__ import annotations

from bot.console import ConsoleWorld
from handlers.core import Core
from storage.models import ProblemReport
from tests.conftest import TEST_RULES, Clock
from tests.story import GROUP, set_up_branch, texts, verified_member
from tests.test_help_requests import tap

REPORTED = "反映 5号楼门口的路灯坏了"


def _report(world: ConsoleWorld, number: int = 1) -> ProblemReport:
    with world.core.db.session() as session:
        found = session.get(ProblemReport, number)
        assert found is not None
        return found


def _last(world: ConsoleWorld, name: str) -> str:
    return world.seen("private", name)[-1].text


def _resolve(world: ConsoleWorld, who: str = "王书记", note: str = "已换新灯泡") -> list:
    world.press(who, "private", "已解决")
    return world.say(who, "private", note)


def test_a_report_is_triaged_resolved_and_followed_up_once(world: ConsoleWorld,
                                                           clock: Clock) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    verified_member(world, "李四")
    shown = world.say("刘阿姨", GROUP, REPORTED)
    assert world.group(GROUP) not in [s.chat_id for s in shown], "the group sees nothing"
    told = [s.text for s in shown if s.chat_id == world.private_id("刘阿姨")]
    assert told == ["已收到你的反映 #1，书记会处理，进展会私信告诉你。"]
    triage = world.seen("private", "王书记")[-1]
    assert triage.text == "新反映 #1（来自 刘阿姨）：\n5号楼门口的路灯坏了\n状态：待处理"
    assert [b.label for b in triage.flat_buttons] == ["受理", "指派", "已解决", "不予处理"]

    world.press("王书记", "private", "受理")
    assert triage.text == "反映 #1（来自 刘阿姨）：\n5号楼门口的路灯坏了\n状态：已受理"
    assert [b.label for b in triage.flat_buttons] == ["指派", "已解决", "不予处理"]
    assert _last(world, "刘阿姨") == "你的反映 #1 已受理。"

    offer = world.press("王书记", "private", "指派")[0]
    assert offer.text == "把反映 #1 指派给谁？点选党员，或发送 @用户名。"
    assert [b.label for b in offer.flat_buttons] == [
        "张三（3号楼2单元）", "李四（3号楼2单元）", "放弃"]
    assigned = world.press("王书记", "private", "李四（3号楼2单元）")
    assert assigned[0].text == "已把反映 #1 指派给 李四。"
    assert _last(world, "李四") == (
        "书记把反映 #1 交给你处理（来自 刘阿姨）：\n5号楼门口的路灯坏了\n处理好后请点「已解决」。")
    assert _last(world, "刘阿姨") == "你的反映 #1 已交给 李四 处理。"

    assert texts(world.press("李四", "private", "已解决")) == [
        "反映 #1 是怎么解决的？请写一句处理结果（会告诉反映人）。"]
    noted = world.say("李四", "private", "已换新灯泡")
    assert noted[0].text == "反映 #1 已标记为解决，已告诉反映人。"
    assert _last(world, "刘阿姨") == "你的反映 #1 已解决：已换新灯泡"
    assert _last(world, "王书记").startswith("反映 #1（来自 刘阿姨）已由负责人处理")

    clock.advance(days=2, hours=23)
    assert world.run_timers() == []
    clock.advance(hours=1)
    asked = world.run_timers()
    assert [(world.chat_name(s.chat_id), s.text) for s in asked] == [
        ("private: 刘阿姨",
         "你反映的问题 #1「5号楼门口的路灯坏了」前几天标记为已解决（已换新灯泡）。解决了吗？")]
    assert world.run_timers() == []

    assert texts(world.press("刘阿姨", "private", "没解决"))[0] == (
        "抱歉！反映 #1 已重新打开，书记会继续处理。")
    reopened = world.seen("private", "王书记")[-1]
    assert reopened.text.startswith("反映人说还没解决，反映 #1 已重新打开")
    assert [b.label for b in reopened.flat_buttons] == ["受理", "指派", "已解决", "不予处理"]
    assert _report(world).status == "reopened"
    # Resolved a second time: the reporter is told, but not asked again.
    _resolve(world)
    assert _last(world, "刘阿姨") == "你的反映 #1 已解决：已换新灯泡"
    clock.advance(days=10)
    assert world.run_timers() == []


def test_solved_closes_the_report_and_a_second_answer_is_refused(world: ConsoleWorld,
                                                                 clock: Clock) -> None:
    set_up_branch(world)
    world.say("刘阿姨", GROUP, REPORTED)
    _resolve(world)
    clock.advance(days=3)
    world.run_timers()
    assert texts(world.press("刘阿姨", "private", "解决了")) == ["谢谢确认，反映 #1 已办结。"]
    assert tap(world, "刘阿姨", "private", "prob:no:1")[0].text == "反映 #1 你已经回答过了，谢谢。"
    assert _report(world).status == "closed"


def test_the_follow_up_survives_a_restart(world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    world.say("刘阿姨", GROUP, REPORTED)
    _resolve(world)
    restarted = ConsoleWorld(Core(world.core.db, rules=TEST_RULES, clock=clock))
    restarted.users, restarted.groups = world.users, world.groups
    clock.advance(days=3)
    assert [s.chat_id for s in restarted.run_timers()] == [world.private_id("刘阿姨")]
    assert restarted.run_timers() == []
    assert world.run_timers() == []


def test_a_report_can_be_rejected_with_a_reason(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("刘阿姨", "private", "反映 楼下广场舞太吵")
    world.press("王书记", "private", "不予处理")
    assert _last(world, "王书记") == "为什么不予处理反映 #1？请写明理由（会告诉反映人）。"
    assert texts(world.say("王书记", "private", "不属于物业范围，已转街道"))[0] == (
        "反映 #1 已标记为不予处理，已告诉反映人。")
    assert _last(world, "刘阿姨") == "你的反映 #1 不予处理，理由：不属于物业范围，已转街道"
    late = tap(world, "王书记", "private", "prob:accept:1")
    assert late[0].text == "反映 #1 现在是「不予处理」，不能这样处理。"


def test_assigning_by_username(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    world.say("刘阿姨", GROUP, REPORTED)
    world.press("王书记", "private", "指派")
    username = world.user("张三").username
    assert texts(world.say("王书记", "private", f"@{username}"))[0] == "已把反映 #1 指派给 张三。"
    assert _report(world).status == "assigned"
    # Only members can be given a report.
    world.press("王书记", "private", "指派")
    outsider = world.user("刘阿姨").username
    assert texts(world.say("王书记", "private", f"@{outsider}")) == [
        "刘阿姨 不是本支部已核实的党员，不能指派给他。"]
    assert texts(world.say("王书记", "private", "@nobody")) == [
        "没有找到「nobody」：本支部没有叫这个名字的人，我也不认识这个用户名。"
        "请对方先跟我说句话，或者回复对方的消息。"]
    assigned = world.press("王书记", "private", "张三（3号楼2单元）")
    assert assigned[0].text == "已把反映 #1 指派给 张三。"


def test_only_the_secretary_triages_and_only_the_reporter_answers(world: ConsoleWorld,
                                                                  clock: Clock) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    world.say("刘阿姨", GROUP, REPORTED)
    for action in ("accept", "assign", "resolve", "reject"):
        refused = tap(world, "张三", "private", f"prob:{action}:1")
        assert [(s.text, s.toast) for s in refused] == [("这个操作需要书记权限。", True)]
    assert _report(world).status == "new"
    assert texts(world.say("刘阿姨", "private", "反映")) == [
        "用法：反映 问题描述，例如「反映 5号楼门口的路灯坏了」。"]
    _resolve(world)
    clock.advance(days=3)
    world.run_timers()
    assert tap(world, "张三", "private", "prob:no:1")[0].text == "这个按钮不是给你的。"
    assert _report(world).status == "resolved"
