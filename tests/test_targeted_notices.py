"""Targeted notices: to members of some buildings, verified members, or an activity's people,
privately through the outbox, with the count shown before sending."""

from __future__ import annotations

from bot.console import ConsoleWorld
from tests.story import GROUP, publish, set_up_branch, texts, verified_member


def _members(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三", "3号楼2单元")
    verified_member(world, "李四", "5号楼1单元")
    verified_member(world, "王五", "5号楼3单元")


def test_a_notice_to_some_buildings_goes_privately_to_their_members(
        world: ConsoleWorld) -> None:
    _members(world)
    world.say("王书记", "private", "通知")
    world.say("王书记", "private", "5号楼周三停水，请提前储水")
    world.press("王书记", "private", "指定楼栋的党员（私信）")
    world.say("王书记", "private", "5号楼")
    summary = texts(world.press("王书记", "private", "立即发送"))[0]
    assert "将私信发给 2 人" in summary
    world.press("王书记", "private", "确定")
    sent = world.drain_outbox()
    receivers = sorted(world.chat_name(s.chat_id) for s in sent
                       if s.text == "【通知】5号楼周三停水，请提前储水")
    assert receivers == ["private: 李四", "private: 王五"]
    assert all(s.chat_id != world.group(GROUP) for s in sent), "the group sees nothing"


def test_a_message_to_an_activitys_participants(world: ConsoleWorld) -> None:
    _members(world)
    publish(world, capacity=1)
    world.press("张三", GROUP, "报名")
    world.press("李四", GROUP, "报名")  # waiting: told as well
    shown = texts(world.say("王书记", "private", "活动 通知参与者 清扫楼道 明天请带手套"))
    assert shown[-1] == "已把消息发给「清扫楼道」的 2 位报名者。"
    sent = world.drain_outbox()
    receivers = sorted(world.chat_name(s.chat_id) for s in sent
                       if s.text == "【通知】明天请带手套")
    assert receivers == ["private: 张三", "private: 李四"]
    assert texts(world.say("张三", "private", "活动 通知参与者 清扫楼道 你好")) == [
        "这个操作需要书记权限。"]
    assert texts(world.say("王书记", "private", "活动 通知参与者 清扫楼道")) == [
        "用法：活动 通知参与者 <活动> <要说的话>。"]
