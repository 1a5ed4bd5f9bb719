"""隐私 and 删除我的数据: what is stored, and erasing it with anonymous counts kept."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.console import ConsoleWorld
from storage.models import Account, CheckIn, MemberProfile
from tests.story import GROUP, fill_form, register, set_up_branch, texts, verified_member


def test_privacy_is_explained_privately(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    shown = world.say("张三", GROUP, "隐私")
    group = [s.text for s in shown if s.chat_id == world.group(GROUP)]
    private = [s.text for s in shown if s.chat_id == world.private_id("张三")]
    assert group == [], "the group sees nothing"
    assert "· 姓名：1 条（张三）\n· 楼栋：1 条（3号楼2单元）" in private[0]
    assert "谁能看到" in private[0]


def test_my_data_mentions_a_change_only_while_one_waits(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    answer = texts(world.say("张三", "private", "我的数据"))[0]
    assert answer.startswith("我存了你的这些数据：\n· 姓名：1 条（张三）")
    assert "等待核实的修改" not in answer
    assert "驳回" not in answer

    register(world, "张三", "5号楼1单元")  # moved: the new building waits for the secretary
    answer = texts(world.say("张三", "private", "我的数据"))[0]
    assert "· 等待核实的修改：1 条\n" in answer
    assert "· 楼栋：1 条（3号楼2单元）" in answer  # what holds until she verifies

    world.press("王书记", "private", "驳回")
    world.say("王书记", "private", "楼栋写错了")
    answer = texts(world.say("张三", "private", "我的数据"))[0]
    assert "等待核实的修改" not in answer
    assert "· 书记驳回时写的原因：1 条（楼栋写错了）" in answer


def test_my_data_lists_skills_only_when_given_and_the_kind_in_words(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")  # tapped 暂无 for skills
    answer = texts(world.say("张三", "private", "我的数据"))[0]
    assert "特长" not in answer, "no line that counts an empty answer"
    assert "· 身份类别：1 条（离退休）" in answer

    world.say("Tom", GROUP, "亮身份")
    fill_form(world, "Tom", "3号楼1单元", kind="在职", skills="电工")
    world.say("Tom", "private", "/lang en")
    answer = texts(world.say("Tom", "private", "/privacy"))[0]
    assert "· Skills: 1 (电工)" in answer
    assert "· Member kind: 1 (employed)" in answer


def test_my_data_names_roles_and_platforms_in_words(world: ConsoleWorld) -> None:
    set_up_branch(world)
    answer = texts(world.say("王书记", "private", "我的数据"))[0]
    assert "· 任命：1 条（书记）\n· 关联的聊天账号：1 条（控制台）" in answer
    world.say("Tom", "private", "/lang en")
    answer = texts(world.say("Tom", "private", "/privacy"))[0]
    assert "· Linked chat accounts: 1 (the console)" in answer


def test_forget_asks_first_then_erases_but_keeps_counts(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    world.say("张三", GROUP, "签到")
    assert "请私聊我" in texts(world.say("张三", GROUP, "删除我的数据"))[0]

    world.say("张三", "private", "删除我的数据")
    world.press("张三", "private", "保留")
    assert "张三" in texts(world.say("王书记", "private", "名册"))[0]

    world.say("张三", "private", "/forget")
    assert "已删除" in texts(world.press("张三", "private", "确定删除"))[0]
    assert "张三" not in texts(world.say("王书记", "private", "名册"))[0]
    with world.core.db.session() as session:
        assert session.scalar(select(func.count()).select_from(CheckIn)) == 1
        assert session.scalar(select(func.count()).select_from(MemberProfile)) == 0
        names = session.scalars(select(Account.display_name)).all()
    assert "张三" not in names
    # Coming back is a fresh start: not verified any more.
    assert "发送「亮身份」开始" in texts(world.say("张三", GROUP, "签到"))[0]


def test_only_the_person_can_confirm_their_erasure(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    offer = world.say("张三", "private", "/forget")[0]
    from handlers.messages import ChatKind, Incoming

    stolen = Incoming("console", world.private_id("李四"), ChatKind.PRIVATE, world.user("李四"),
                      button_data=offer.flat_buttons[0].data, message_id="1")
    assert world.deliver(stolen)[0].text == "这个按钮不是给你的。"
    assert "张三" in texts(world.say("王书记", "private", "名册"))[0]


def test_forget_also_erases_contact_details_given_for_help(world: ConsoleWorld) -> None:
    from storage.models import HelpRequest

    set_up_branch(world)
    world.say("刘阿姨", "private", "/ask 帮我买点菜，电话13812345678")
    world.press("刘阿姨", "private", 1)  # yes, 代买
    world.say("刘阿姨", "private", "3号楼")
    world.press("刘阿姨", "private", "就这些")
    world.press("刘阿姨", "private", "发出求助")
    with world.core.db.session() as session:
        assert "13812345678" in session.scalars(select(HelpRequest.contact)).one()
    world.say("刘阿姨", "private", "/forget")
    world.press("刘阿姨", "private", "确定删除")
    with world.core.db.session() as session:
        assert session.scalars(select(HelpRequest.contact)).one() == ""
