"""Forms: 上一步, 修改 a field at the summary, 放弃, interruption by a command and 继续, picks
that keep what was typed, and a dialog the code no longer knows."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.console import ConsoleWorld
from storage.models import Activity, Dialog, HelpRequest
from tests.story import GROUP, card, set_up_branch, texts, verified_member
from tests.test_needs import _with_items

SUMMARY = ("请核对「发布活动」：\n活动名称：清扫楼道\n开始时间：11月29日周日 09:00\n"
           "结束时间：11月29日周日 11:00\n地点：{place}\n名额：2\n积分：5\n备注：无\n\n"
           "没问题请点「发布」；哪一项要改，点「修改…」。")


def _count(world: ConsoleWorld, model: type) -> int:
    with world.core.db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _secretary_says(world: ConsoleWorld, *answers: str) -> list:
    shown: list = []
    for answer in answers:
        shown = world.say("王书记", "private", answer)
    return shown


def test_back_and_edit_a_field_in_the_activity_form(world: ConsoleWorld) -> None:
    set_up_branch(world)
    asked = world.say("王书记", GROUP, "活动 new")
    # The form opens privately at once: the group gets nothing.
    assert [s.chat_id for s in asked] == [world.private_id("王书记")]
    assert asked[0].text.startswith("为「阳光小区党支部」发布志愿活动。")
    assert [b.label for b in asked[0].flat_buttons] == ["放弃"]

    _secretary_says(world, "清扫楼道", "11-28 9:00")
    # 上一步, typed: the start time is asked again, and the new answer replaces the old.
    back = _secretary_says(world, "上一步")
    assert texts(back) == [
        "第 2 步：开始时间，例如「明天上午9点」「下周三 14:00」或「11-26 09:00」。"]
    assert [b.label for b in back[0].flat_buttons] == ["上一步", "放弃"]
    _secretary_says(world, "11-29 9:00", "11:00", "3号楼大堂", "2", "5")
    summary = world.press("王书记", "private", "无")
    assert texts(summary) == [SUMMARY.format(place="3号楼大堂")]
    assert [b.label for b in summary[0].flat_buttons] == [
        "发布", "修改活动名称", "修改开始时间", "修改结束时间", "修改地点", "修改名额", "修改积分",
        "修改备注", "上一步", "放弃"]

    # 修改地点: that one question, then straight back to the summary.
    assert texts(world.press("王书记", "private", "修改地点")) == ["第 4 步：活动地点。"]
    assert texts(_secretary_says(world, "5号楼活动室")) == [SUMMARY.format(place="5号楼活动室")]
    # Typed as well: 修改 名额, then 上一步 returns to the summary unchanged.
    assert texts(_secretary_says(world, "修改 名额")) == ["第 5 步：名额（1 到 1000 人）。"]
    assert texts(_secretary_says(world, "上一步")) == [SUMMARY.format(place="5号楼活动室")]

    done = world.press("王书记", "private", "发布")
    assert texts(done)[-1] == "「清扫楼道」已发布到 1 个群。"
    assert "地点：5号楼活动室" in card(world).text
    assert _count(world, Dialog) == 0


def test_editing_the_start_asks_the_end_again(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("王书记", "private", "活动 new")
    _secretary_says(world, "清扫楼道", "11-28 9:00", "11:00", "3号楼大堂", "2", "5")
    world.press("王书记", "private", "无")
    world.press("王书记", "private", "修改开始时间")
    # A new day makes the old end meaningless: it is asked before the summary returns.
    assert texts(_secretary_says(world, "11-29 9:00")) == [
        "第 3 步：结束时间，例如「11:00」（只写时间就是同一天）或完整的日期和时间。"]
    assert texts(_secretary_says(world, "11:00")) == [SUMMARY.format(place="3号楼大堂")]


def test_discard_keeps_nothing(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("王书记", "private", "活动 new")
    _secretary_says(world, "清扫楼道", "11-28 9:00")
    assert texts(_secretary_says(world, "放弃")) == ["已放弃「发布活动」，填的内容没有保存。"]
    assert _count(world, Dialog) == 0
    # The next text is no longer taken as the end time.
    assert texts(_secretary_says(world, "11:00")) == ["我没听懂。发送「帮助」看看我能做什么。"]
    # The button does the same, in place of the question it sits under.
    world.say("王书记", "private", "活动 new")
    discarded = world.press("王书记", "private", "放弃")
    assert [(s.text, s.edited) for s in discarded] == [
        ("已放弃「发布活动」，填的内容没有保存。", True)]
    assert _count(world, Activity) == 0


def test_a_command_pauses_the_form_and_continue_resumes_it(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    world.say("张三", "private", "求助 帮我取个快递")
    world.press("张三", "private", "代办")
    contact = "最后，请留下联系方式（电话、门牌号）。只会私下发给接单的党员，群里看不到。"
    assert world.seen("private", "张三")[-1].text == contact

    # 签到 in the middle of the form: it runs, and the form waits.
    shown = world.say("张三", "private", "签到")
    assert texts(shown) == ["党员 张三（3号楼2单元）签到，本月第 1 次",
                            "「求助」表单已暂停，发送「继续」接着填。"]
    # While paused, typed text and numbers go nowhere: the contact is not taken.
    assert texts(world.say("张三", "private", "13800001111")) == [
        "你有一张暂停的「求助」表单，没有收下这条消息。发送「继续」接着填，或发送「放弃」不填了。"]
    assert texts(world.say("张三", "private", "2")) == [
        "你有一张暂停的「求助」表单，没有收下这条消息。发送「继续」接着填，或发送「放弃」不填了。"]
    # 继续: the same question again, with the earlier answers kept.
    assert texts(world.say("张三", "private", "继续")) == [contact]
    assert texts(world.say("张三", "private", "13800001111"))[0].startswith(
        "请核对「求助」：\n求助内容：帮我取个快递\n类别：代办\n楼栋/单元：3号楼2单元\n"
        "联系方式：13800001111\n")
    world.press("张三", "private", "发出求助")
    assert _count(world, HelpRequest) == 1


def test_an_interrupted_activity_form_resumes_from_a_link(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("王书记", "private", "活动 new")
    _secretary_says(world, "清扫楼道")
    assert texts(_secretary_says(world, "/help"))[-1] == (
        "「发布活动」表单已暂停，发送「继续」接着填。")
    # The `resume` start payload asks the current step again; with no form, it welcomes.
    assert texts(_secretary_says(world, "/start resume")) == [
        "第 2 步：开始时间，例如「明天上午9点」「下周三 14:00」或「11-26 09:00」。"]
    _secretary_says(world, "放弃")
    assert texts(_secretary_says(world, "/start resume"))[0].startswith("你好，王书记")


def test_a_form_started_over_another_gives_it_back_paused(world: ConsoleWorld) -> None:
    _with_items(world, "张三")
    world.say("张三", GROUP, "认领 楼道清扫")
    world.say("张三", GROUP, "践诺 楼道清扫 扫完了")
    world.say("王书记", "private", "活动 new")
    _secretary_says(world, "清扫楼道")
    # A rating button opens the comment question; the activity draft is kept aside.
    world.press("王书记", "private", "5 分")
    rated = world.press("王书记", "private", "不写评语")
    assert texts(rated) == ["已评诺：张三 的「楼道清扫」5 分，积分 +10。",
                            "书记给你的践诺「楼道清扫」评了 5 分，积分 +10。",
                            "「发布活动」表单已暂停，发送「继续」接着填。"]
    assert texts(_secretary_says(world, "继续")) == [
        "第 2 步：开始时间，例如「明天上午9点」「下周三 14:00」或「11-26 09:00」。"]


def test_a_pick_keeps_the_pledge(world: ConsoleWorld) -> None:
    _with_items(world, "张三")
    asked = world.say("张三", GROUP, "认领 绿化 承诺：每周浇水两次")
    assert [(s.chat_id, s.text) for s in asked] == [(world.private_id("张三"), "是哪一项？")]
    # The number of the choice works as well as the button.
    claimed = world.say("张三", "private", "2")
    assert texts(claimed) == ["认领成功：「B段绿化养护」。\n你的承诺：每周浇水两次\n"
                              "做到后发送「践诺 做了什么」；14 天内没有践诺我会提醒你。"]
    listed = texts(world.say("张三", "private", "需求清单"))[0]
    assert "认领 1/1：张三（承诺：每周浇水两次）" in listed


def test_a_pick_keeps_the_note_of_a_deed(world: ConsoleWorld) -> None:
    _with_items(world, "张三")
    world.say("张三", GROUP, "认领 A段绿化养护")
    world.say("张三", GROUP, "认领 B段绿化养护")
    asked = world.say("张三", "private", "践诺 绿化 浇了水")
    assert texts(asked) == ["是哪一项？"]
    done = world.press("张三", "private", "A段绿化养护")
    assert done[0].text == "已记录你对「A段绿化养护」的践诺，等书记评诺。"
    assert "做了什么：浇了水" in world.seen("private", "王书记")[-1].text


def test_a_pick_keeps_the_rating_and_comment(world: ConsoleWorld) -> None:
    _with_items(world, "张三", "李四")
    world.say("张三", GROUP, "认领 A段绿化养护")
    world.say("李四", GROUP, "认领 B段绿化养护")
    world.say("张三", GROUP, "践诺 浇了水")
    world.say("李四", GROUP, "践诺 拔了草")
    assert texts(world.say("王书记", "private", "评诺 绿化 4 很认真")) == ["是哪一项？"]
    world.press("王书记", "private", "B段绿化养护（李四）")
    assert world.seen("private", "李四")[-1].text == (
        "书记给你的践诺「B段绿化养护」评了 4 分，积分 +8。\n评语：很认真")


def test_a_rating_typed_while_a_comment_is_asked_runs_as_a_command(
        world: ConsoleWorld) -> None:
    _with_items(world, "张三", "李四")
    world.say("张三", GROUP, "认领 楼道清扫")
    world.say("李四", GROUP, "认领 B段绿化养护")
    world.say("李四", GROUP, "践诺 浇了水")
    world.say("张三", GROUP, "践诺 扫干净了")
    world.press("王书记", "private", "5 分")  # on the newest deed: 张三's
    shown = world.say("王书记", "private", "评诺 B段绿化养护 4 很好")
    assert texts(shown) == ["已评诺：李四 的「B段绿化养护」4 分，积分 +8。",
                            "书记给你的践诺「B段绿化养护」评了 4 分，积分 +8。\n评语：很好",
                            "「评诺」表单已暂停，发送「继续」接着填。"]
    # 张三 got no comment made of the command.
    assert not any("评诺 B段" in s.text for s in world.seen("private", "张三"))
    assert texts(world.say("王书记", "private", "继续")) == [
        "评了 5 分。可以写一句评语，或点「不写评语」。"]
    assert texts(world.say("王书记", "private", "扫得很干净"))[0] == (
        "已评诺：张三 的「楼道清扫」5 分，积分 +10。")


def test_a_dialog_the_code_no_longer_has_is_cleared_for_good(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("张三", "private", "你好")
    with world.core.db.session() as session:
        person_id = session.scalars(select(Dialog.person_id)).first()
        assert person_id is None
        from storage import people

        account = people.find_account(session, "console", world.private_id("张三"))
        assert account is not None
        session.add(Dialog(person_id=account.person_id, name="old_wizard", step="colour",
                           data={}, updated_at=world.core.clock()))
    assert texts(world.say("张三", "private", "红色")) == [
        "你之前没填完的表单已经失效，已清除，请重新开始。发送「帮助」看看我能做什么。"]
    assert _count(world, Dialog) == 0
    assert texts(world.say("张三", "private", "帮助"))[0].startswith("你的身份：居民")
