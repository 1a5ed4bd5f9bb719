"""The secretary's controls over members: 待核实, 驳回 with a reason, changes reviewed
before they apply, 党员 修改 / 迁出, roles in the roster."""

from __future__ import annotations

from bot.console import ConsoleWorld
from tests.story import GROUP, fill_form, register, set_up_branch, texts, verified_member


def _private(world: ConsoleWorld, name: str) -> list[str]:
    return [s.text for s in world.seen("private", name)]


def test_pending_applications_come_back_with_their_buttons(world: ConsoleWorld) -> None:
    set_up_branch(world)
    register(world, "张三")
    register(world, "李四", "5号楼")
    world.say("王书记", GROUP, "大家好")  # the cards scroll away
    shown = world.say("王书记", "private", "待核实")
    assert shown[0].text == "「阳光小区党支部」有 2 份待核实的申请："
    assert shown[2].text.startswith("新的亮身份申请（阳光小区党支部）：\n姓名：李四\n楼栋：5号楼")
    assert [b.label for b in shown[2].flat_buttons] == ["核实", "驳回"]
    world.press("王书记", "private", "核实")
    assert "已核实你的党员身份" in _private(world, "李四")[-1]

    # 驳回 asks the reason; the applicant receives it.
    world.say("王书记", "private", "待核实")
    assert texts(world.press("王书记", "private", "驳回")) == [
        "驳回 张三 的申请：请写一句原因，会转告本人。"]
    world.say("王书记", "private", "本小区没有这位党员的登记")
    assert "本小区没有这位党员的登记" in _private(world, "张三")[-1]
    assert texts(world.say("王书记", "private", "待核实")) == [
        "「阳光小区党支部」没有待核实的申请。"]


def test_a_secretarys_own_application_goes_to_the_community_admin(world: ConsoleWorld) -> None:
    set_up_branch(world)
    register(world, "王书记")
    assert "新的亮身份申请" in _private(world, "管理员")[-1]
    assert texts(world.say("王书记", "private", "待核实")) == [
        "「阳光小区党支部」没有待核实的申请。"]
    world.press("管理员", "private", "核实")
    assert "已核实你的党员身份" in _private(world, "王书记")[-1]


def test_a_verified_member_stays_verified_while_a_change_waits(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    world.say("张三", GROUP, "亮身份")
    fill_form(world, "张三", "4号楼1单元", "在职", "在册")
    assert _private(world, "张三")[-1] == (
        "已提交修改，书记核实后生效。在此之前你的党员身份和资料保持不变。")
    assert "张三（3号楼2单元）签到" in texts(world.say("张三", GROUP, "签到"))[0]
    review = _private(world, "王书记")[-1]
    assert review.startswith("党员修改资料（阳光小区党支部），核实后生效：")
    assert "楼栋：4号楼1单元" in review

    # Rejecting the change leaves him a verified member as before.
    world.press("王书记", "private", "驳回")
    world.say("王书记", "private", "楼栋写错了")
    assert "楼栋写错了" in _private(world, "张三")[-1]
    roster = texts(world.say("王书记", "private", "名册"))[0]
    assert "张三 · 3号楼2单元" in roster
    assert "已核实" in roster


def test_members_edited_and_moved_away_and_roles_in_the_roster(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    verified_member(world, "李四")
    world.say("管理员", GROUP, "/grant 楼栋长 @张三")
    summary = texts(world.say("王书记", "private", "党员 修改 张三"))[0]
    assert summary.startswith("请核对「修改党员资料」：")
    world.press("王书记", "private", "修改楼栋/单元")
    world.say("王书记", "private", "6号楼")
    assert texts(world.press("王书记", "private", "保存")) == [
        "已更新 张三 的资料：6号楼，离退休。"]

    assert texts(world.say("王书记", "private", "党员 迁出 李四")) == [
        "李四 已迁出，不再计入本支部党员；过往记录保留在台账中。"]
    roster = texts(world.say("王书记", "private", "名册"))[0]
    assert "张三（楼栋长） · 6号楼" in roster
    assert "李四 · 3号楼2单元 · 离退休 · 在册 · 已迁出" in roster
    refused = texts(world.say("李四", GROUP, "签到"))[0]
    assert "李四（" not in refused, "no identity line for someone who moved away"

    assert texts(world.say("王书记", "private", "党员 迁出 赵六")) == [
        "名册里没有叫「赵六」的党员。发送「名册」查看。"]
    assert texts(world.say("张三", "private", "党员 迁出 李四")) == ["这个操作需要书记权限。"]
