"""The needs list under the secretary's hand: a one-off item done stays done; 事项 关闭 and
事项 删除 (only without history, otherwise closed)."""

from __future__ import annotations

from bot.console import ConsoleWorld
from tests.story import GROUP, texts
from tests.test_needs import _with_items


def test_a_one_off_item_done_and_rated_stays_done(world: ConsoleWorld) -> None:
    _with_items(world, "张三", "李四")
    world.say("张三", GROUP, "认领 楼道清扫 承诺：每周六扫一次")
    world.say("张三", GROUP, "践诺 楼道清扫 扫完了")
    world.say("王书记", GROUP, "评诺 楼道 4 分 很干净")
    shown = world.say("李四", "private", "需求清单")[0]
    assert "楼道清扫 · 5号楼\n   认领 0/1：已完成" in shown.text
    assert "认领「楼道清扫」" not in [b.label for b in shown.flat_buttons]
    assert texts(world.say("李四", "private", "认领 楼道清扫")) == [
        "「楼道清扫」已经完成了，不用再认领。"]


def test_closing_and_deleting_items(world: ConsoleWorld) -> None:
    _with_items(world, "张三")
    world.say("张三", GROUP, "认领 A段绿化养护")
    assert texts(world.say("王书记", "private", "事项 删除 A段绿化养护")) == [
        "「A段绿化养护」有过认领记录，不能删除，已改为关闭；记录保留在台账中。"]
    assert texts(world.say("王书记", "private", "事项 删除 B段绿化养护")) == [
        "「B段绿化养护」已删除。"]
    assert texts(world.say("王书记", "private", "事项 关闭 楼道清扫")) == [
        "「楼道清扫」已关闭，不再出现在需求清单里；认领和践诺记录保留在台账中。"]
    assert "绿化" not in texts(world.say("张三", "private", "需求清单"))[0]
    assert texts(world.say("张三", "private", "事项 关闭 楼道清扫")) == ["这个操作需要书记权限。"]
