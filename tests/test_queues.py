"""The secretary's queues: 反映 列表, 求助 列表, 认领 逾期; a subcommand never files a report."""

from __future__ import annotations

from bot.console import ConsoleWorld
from storage.models import ProblemReport
from tests.conftest import Clock
from tests.story import GROUP, set_up_branch, texts, verified_member
from tests.test_help_requests import ask_in_group
from tests.test_needs import _with_items


def _reports(world: ConsoleWorld) -> int:
    with world.core.db.session() as session:
        return session.query(ProblemReport).count()


def test_open_reports_come_back_with_their_buttons(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    world.say("刘阿姨", GROUP, "反映 5号楼门口的路灯坏了")
    world.say("刘阿姨", GROUP, "反映：3号楼电梯异响")
    world.press("王书记", "private", "受理")  # the newest card: the lift
    for words in ("反映 列表", "反映 list"):
        shown = world.say("王书记", "private", words)
        assert shown[0].text == "「阳光小区党支部」有 2 条待处理的反映："
        assert shown[1].text == "反映 #1（来自 刘阿姨）：\n5号楼门口的路灯坏了\n状态：待处理"
        assert shown[2].text.endswith("状态：已受理")
        assert [b.label for b in shown[1].flat_buttons] == ["受理", "指派", "已解决", "不予处理"]
    assert _reports(world) == 2, "a subcommand word never files a report"
    world.press("王书记", "private", "已解决")
    world.say("王书记", "private", "已报修")
    assert len(world.say("王书记", "private", "反映 列表")) == 2
    assert texts(world.say("刘阿姨", "private", "反映 列表")) == ["这个操作需要书记权限。"]
    assert _reports(world) == 2


def test_open_help_requests_are_listed_for_members(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    ask_in_group(world)
    listed = world.say("张三", "private", "求助 列表")[0]
    assert listed.text.startswith("「阳光小区党支部」进行中的求助（1 条）：\n#1 ")
    assert "等待热心邻居接单" in listed.text
    world.press("张三", "private", "我来帮忙 #1")
    assert "党员 张三 已接单" in texts(world.say("张三", "private", "求助 列表"))[0]


def test_claims_past_the_stale_limit(world: ConsoleWorld, clock: Clock) -> None:
    _with_items(world, "张三", "李四")
    world.say("张三", GROUP, "认领 楼道清扫")
    clock.advance(days=10)
    world.say("李四", GROUP, "认领 B段绿化养护")
    assert texts(world.say("王书记", "private", "认领 逾期")) == [
        "没有认领超过 14 天还没践诺的事项。"]
    clock.advance(days=5)
    assert texts(world.say("王书记", "private", "认领 逾期")) == [
        "认领超过 14 天还没有践诺的（1 项）：\n张三 · 楼道清扫 · 11-23 08:30 认领（15 天）"]
