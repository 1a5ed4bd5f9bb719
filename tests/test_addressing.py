"""The bot speaks in groups only when addressed; bad input gets a clear reply, changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bench import addressing
from bot.console import ConsoleWorld
from handlers.messages import ChatKind, Incoming
from storage.models import Base
from tests.story import GROUP, publish, set_up_branch, texts, verified_member


def _rows(world: ConsoleWorld) -> int:
    """Rows in every table of the database."""
    with world.core.db.session() as session:
        return sum(session.scalar(select(func.count()).select_from(table)) or 0
                   for table in Base.metadata.sorted_tables)


def test_group_chatter_gets_silence_and_leaves_no_trace(world: ConsoleWorld) -> None:
    """Neighbours talk about check-ins, reports and menus; the bot says nothing and stores
    nothing, not even who wrote; then 张三 really checks in."""
    set_up_branch(world)
    verified_member(world, "张三")
    before = _rows(world)
    for chatter in ("签到的时候要带身份证吗", "打卡的人多吗？", "反映的问题解决了吗",
                    "求助热线是多少", "菜单上有什么好吃的", "帮助别人就是帮助自己",
                    "通知大家一下明天停水", "报名表在哪里填", "我刚才签到了吗", "今天要亮身份吗？",
                    "报名 要交钱吗", "签到？", "大家早上好", "1", "收到", "👍"):
        for who in ("张三", "新邻居小刘", "王书记"):
            assert world.say(who, GROUP, chatter) == [], f"{who}: {chatter}"
    assert _rows(world) == before
    shown = world.say("张三", GROUP, "签到！")
    assert [s.chat_id for s in shown] == [world.group(GROUP)]
    assert "张三" in shown[0].text
    assert "本月第 1 次" in shown[0].text


def test_an_argument_makes_a_command_only_when_the_command_can_use_it(
        world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    publish(world, title="清扫楼道")
    assert world.say("张三", GROUP, "报名 打篮球") == [], "no such activity: chatter"
    assert world.say("张三", GROUP, "报名 几点开始") == [], "a question: chatter"
    signed = world.say("张三", GROUP, "报名 清扫楼道")
    assert "报名成功" in texts(signed)[0]
    asked = world.say("张三", GROUP, "求助：帮忙取个快递，谢谢")
    assert asked
    assert all(s.chat_id == world.private_id("张三") for s in asked)


def test_a_refusal_in_a_group_goes_to_the_person_privately(world: ConsoleWorld) -> None:
    """A newcomer writes 签到 in the group: only she learns that she must 亮身份 first."""
    set_up_branch(world)
    in_group_before = len(world.seen(GROUP))
    shown = world.say("新邻居小刘", GROUP, "签到")
    assert [s.chat_id for s in shown] == [world.private_id("新邻居小刘")]
    assert "亮身份" in shown[0].text
    assert len(world.seen(GROUP)) == in_group_before, "the group sees nothing"


def test_help_in_a_group_is_one_line_and_the_list_comes_privately(world: ConsoleWorld) -> None:
    set_up_branch(world)
    (line,) = world.say("路人", GROUP, "帮助")
    assert line.chat_id == world.group(GROUP)
    assert line.text == "我是「近邻」小助手。点下面的按钮，我私聊发给你能用的命令。"
    (full,) = world.press("路人", GROUP, "私聊查看帮助")
    assert full.chat_id == world.private_id("路人")
    assert "你的身份：居民" in full.text


def test_help_lists_what_your_role_can_do(world: ConsoleWorld) -> None:
    set_up_branch(world)
    resident = texts(world.say("路人", "private", "/help"))[0]
    secretary = texts(world.say("王书记", "private", "/help"))[0]
    assert "你的身份：居民" in resident
    assert "/iam（亮身份、报到）" in resident
    assert "/checkin" not in resident
    assert "/members" not in resident
    assert "你的身份：书记" in secretary
    assert "/members" in secretary
    assert "/checkin" in secretary


def test_mentioning_the_bot_or_replying_to_it_is_speaking_to_it(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")

    def addressed(text: str, **how: bool) -> list:
        return world.deliver(Incoming("console", world.group(GROUP), ChatKind.GROUP,
                                      world.user("张三"), text=text, **how))

    assert "本月第 1 次" in addressed("签到", mentioned=True)[0].text
    (suggestion,) = addressed("签到的时候要带身份证吗", mentioned=True)
    assert suggestion.chat_id == world.private_id("张三")
    assert suggestion.text.startswith("我没听懂。你是想「签到」吗？")
    (help_line,) = addressed("help", mentioned=True)
    assert help_line.text.startswith("我是「近邻」小助手。")
    assert addressed("好的👍", reply_to_bot=True) == [], "a thank-you asks nothing"
    assert addressed("谢谢", reply_to_bot=True) == []


def test_a_private_message_not_understood_suggests_the_nearest_command(
        world: ConsoleWorld) -> None:
    set_up_branch(world)
    assert texts(world.say("张三", "private", "签到的时候要带身份证吗")) == [
        "我没听懂。你是想「签到」吗？直接发送「签到」就可以；发送「帮助」看看我能做什么。"]
    assert texts(world.say("张三", "private", "在吗")) == [
        "我没听懂。发送「帮助」看看我能做什么。"]


def test_the_addressing_corpus_stays_quiet_and_recalls_commands() -> None:
    """Every chatter line of the corpus is silent; at least 97 % of commands are recalled."""
    lines, cases = addressing.chatter_lines(), addressing.phrasings()
    assert len(lines) >= 300
    assert len(cases) >= 120
    with addressing.fresh_world() as world:
        assert addressing.false_triggers(world, lines) == []
    with addressing.fresh_world() as world:
        missed = addressing.missed(world, cases)
    assert len(cases) - len(missed) >= 0.97 * len(cases), missed


def test_unknown_command_and_unknown_text(world: ConsoleWorld) -> None:
    set_up_branch(world)
    (unknown,) = world.say("张三", GROUP, "/fly")
    assert unknown.chat_id == world.private_id("张三")
    assert unknown.text == "没有 /fly 这个命令。发送 /help 查看可用命令。"
    assert "我没听懂" in texts(world.say("张三", "private", "在吗"))[0]


def test_wrong_role_is_told_which_role_is_needed(world: ConsoleWorld) -> None:
    set_up_branch(world)
    assert texts(world.say("张三", GROUP, "/bind")) == ["这个操作需要书记权限。"]
    refusal = texts(world.say("张三", GROUP, "/grant secretary @u9"))
    assert refusal == ["这个操作需要社区管理员权限。"]


def test_missing_argument_gets_usage(world: ConsoleWorld) -> None:
    set_up_branch(world)
    assert "用法：/grant" in texts(world.say("王书记", GROUP, "/grant"))[0]


@pytest.mark.parametrize(("name", "expected"), [
    ("张" * 500, "姓名太长了（500 字），请控制在 20 字以内。"),
    ("张\x00三", "姓名里有无法显示的控制字符，请重新输入。"),
    ("张\u202e三", "姓名里有无法显示的控制字符，请重新输入。"),
    ("   ", "姓名不能为空，请重新输入。"),
])
def test_bad_names_are_refused_and_asked_again(world: ConsoleWorld, name: str,
                                               expected: str) -> None:
    set_up_branch(world)
    world.say("张三", GROUP, "亮身份")
    assert texts(world.say("张三", "private", name)) == [expected]
    # Still at the first step: a good name moves on to the building.
    assert "第 2 步" in texts(world.say("张三", "private", "张三"))[0]


def test_a_button_meant_for_someone_else(world: ConsoleWorld) -> None:
    set_up_branch(world)
    offer = world.say("张三", "private", "/lang")[0]
    refusal = world.deliver(Incoming("console", world.private_id("李四"), ChatKind.PRIVATE,
                                     world.user("李四"), button_data=offer.buttons[0][1].data,
                                     message_id=offer.message_id))
    assert refusal[0].toast
    assert refusal[0].text == "这个按钮不是给你的。"
    assert offer.flat_buttons, "the offer still stands for 张三"
    world.press("张三", "private", "English")
    assert offer.text.startswith("OK, I will talk to you in English")


def test_forged_and_stale_buttons(world: ConsoleWorld) -> None:
    set_up_branch(world)
    for data in ("verify:abc", "verify:99999", "nonsense", "iam:kind:employed", "lang:xx:1"):
        shown = world.deliver(Incoming("console", world.private_id("张三"), ChatKind.PRIVATE,
                                       world.user("张三"), button_data=data, message_id="1"))
        assert shown[0].toast, data
        assert shown[0].text == "这个按钮已经失效了。", data


def test_a_redelivered_update_is_acted_on_once(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    update = Incoming("console", world.group(GROUP), ChatKind.GROUP, world.user("张三"),
                      text="签到", update_key="upd-42")
    assert "本月第 1 次" in world.deliver(update)[0].text
    assert world.deliver(update) == []


def test_deep_link_that_is_forged(world: ConsoleWorld) -> None:
    set_up_branch(world)
    for payload in ("iam_999", "iam_x", "zz_1"):
        assert "链接无效" in texts(world.say("张三", "private", f"/start {payload}"))[0]


def test_start_in_private_shows_welcome_account_id_and_help(world: ConsoleWorld) -> None:
    shown = texts(world.say("张三", "private", "/start"))
    assert shown[0].startswith("你好，张三！")
    assert shown[1].startswith(f"你的账号编号：console:{world.user('张三').external_id}")
    assert "你的身份：居民" in shown[2]


def test_a_failure_inside_a_feature_loses_nothing_and_says_sorry(
        world: ConsoleWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    from storage import checkins

    def broken_count(*_args: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(checkins, "count_between", broken_count)
    sorry = texts(world.say("张三", GROUP, "签到"))
    assert sorry == ["抱歉，出了点问题，没有保存任何内容。请稍后再试。"]
    monkeypatch.undo()
    # The half-done check-in was rolled back: trying again works as the first of the day.
    assert "本月第 1 次" in texts(world.say("张三", GROUP, "签到"))[0]
