"""亮身份: registering privately, verification by the secretary, and the roster."""

from __future__ import annotations

from bot.console import ConsoleWorld
from handlers.messages import ChatKind, Incoming
from tests.story import (
    BRANCH,
    GROUP,
    fill_form,
    register,
    set_up_branch,
    texts,
    verified_member,
)


def test_member_registers_privately_and_secretary_verifies(world: ConsoleWorld) -> None:
    set_up_branch(world)
    # The form opens in the private chat at once; the group sees nothing of it.
    asked = world.say("张三", GROUP, "亮身份")
    assert [s.chat_id for s in asked] == [world.private_id("张三")]
    assert asked[0].text.startswith("向「阳光小区党支部」亮身份。\n第 1 步")
    assert world.seen(GROUP)[-1].text != asked[0].text

    world.say("张三", "private", "张三")
    world.say("张三", "private", "3号楼2单元")
    world.press("张三", "private", "离退休")
    world.say("张三", "private", "1")  # the number of "在册" works as well as the button
    summary = world.press("张三", "private", "暂无")[0]
    assert summary.text == ("请核对「亮身份」：\n姓名：张三\n楼栋/单元：3号楼2单元\n"
                            "党员类别：离退休\n组织关系：在册\n特长：无\n\n"
                            "没问题请点「提交」；哪一项要改，点「修改…」。")
    done = world.press("张三", "private", "提交")

    assert "书记核实" in texts(done)[-1]
    review = world.seen("private", "王书记")[-1]
    assert "张三" in review.text
    assert "3号楼2单元" in review.text
    assert "离退休（在册）" in review.text
    assert [b.label for b in review.flat_buttons] == ["核实", "驳回"]
    # Nothing of the form reached the group beyond the pointer to the private chat.
    assert all("3号楼2单元" not in s.text for s in world.seen(GROUP))

    world.press("王书记", "private", "核实")
    assert review.text.startswith("✅ 已核实：张三")
    assert review.flat_buttons == []
    assert "已核实你的党员身份" in world.seen("private", "张三")[-1].text


def test_secretary_rejects_and_the_person_is_told(world: ConsoleWorld) -> None:
    set_up_branch(world)
    register(world, "李四")
    assert texts(world.press("王书记", "private", "驳回")) == [
        "驳回 李四 的申请：请写一句原因，会转告本人。"]
    world.say("王书记", "private", "请先到社区登记组织关系")
    told = world.seen("private", "李四")[-1].text
    assert "没有通过" in told
    assert "请先到社区登记组织关系" in told
    assert "签到需要先亮身份" in texts(world.say("李四", GROUP, "签到"))[0]


def test_reregistering_updates_instead_of_duplicating(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    # Only the skills change: the member stays verified, no second review is asked for.
    world.say("张三", "private", "亮身份")
    fill_form(world, "张三", "3号楼2单元", skills="理发")
    assert "核实状态不变" in world.seen("private", "张三")[-1].text
    roster = texts(world.say("王书记", "private", "名册"))[0]
    assert roster.count("张三") == 1
    assert "已核实" in roster

    # A new building is a change of identity: it waits for the secretary, and meanwhile
    # he stays verified as he was.
    world.say("张三", "private", "亮身份")
    fill_form(world, "张三", "5号楼")
    roster = texts(world.say("王书记", "private", "名册"))[0]
    assert roster.count("张三") == 1
    assert "3号楼2单元" in roster
    assert "已核实" in roster
    world.press("王书记", "private", "核实")
    roster = texts(world.say("王书记", "private", "名册"))[0]
    assert "张三 · 5号楼" in roster
    assert "已核实" in roster


def _tap(world: ConsoleWorld, name: str, data: str, message_id: str) -> list:
    """`name` sends a button press carrying `data` (a stale or copied button)."""
    return world.deliver(Incoming("console", world.private_id(name), ChatKind.PRIVATE,
                                  world.user(name), button_data=data, message_id=message_id))


def test_a_second_tap_on_verify_is_refused_politely(world: ConsoleWorld) -> None:
    set_up_branch(world)
    register(world, "张三")
    review = world.seen("private", "王书记")[-1]
    verify_data = review.flat_buttons[0].data
    world.press("王书记", "private", "核实")
    # The screen lost its buttons; a stale copy (another device) changes nothing.
    again = _tap(world, "王书记", verify_data, review.message_id)
    assert again[0].toast
    assert "已经处理过了" in again[0].text


def test_only_the_branch_secretary_can_verify(world: ConsoleWorld) -> None:
    set_up_branch(world)
    register(world, "张三")
    review = world.seen("private", "王书记")[-1]
    refusal = _tap(world, "李四", review.flat_buttons[0].data, "999")
    assert refusal[0].toast
    assert "书记权限" in refusal[0].text
    assert "待核实" in texts(world.say("王书记", "private", "名册"))[0]


def test_roster_goes_privately_and_only_to_the_secretary(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    in_group = world.say("王书记", GROUP, "名册")
    group_texts = [s.text for s in in_group if s.chat_id == world.group(GROUP)]
    private_texts = [s.text for s in in_group if s.chat_id == world.private_id("王书记")]
    assert group_texts == [], "the group sees nothing of the roster"
    assert BRANCH in private_texts[0]
    assert "3号楼2单元" in private_texts[0]
    assert "需要书记权限" in texts(world.say("张三", GROUP, "名册"))[0]


def test_registration_from_a_private_chat_with_several_branches_offers_them(
        world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("管理员", "private", "/branch new 海景花园党支部")
    reply = world.say("路人", "private", "亮身份")
    assert reply[0].text.startswith("你住在哪个小区？")
    assert [b.label for b in reply[0].flat_buttons] == [BRANCH, "海景花园党支部"]
    asked = texts(world.press("路人", "private", "海景花园党支部"))
    assert "海景花园党支部" in asked[0]


def test_cancel_leaves_the_form_and_saves_nothing(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("张三", GROUP, "亮身份")
    world.say("张三", "private", "张三")
    assert "没有保存" in texts(world.say("张三", "private", "取消"))[0]
    assert "还没有人亮身份" in texts(world.say("王书记", "private", "名册"))[0]
