"""The bot speaks in groups only when addressed; bad input gets a clear reply, changes nothing."""

from __future__ import annotations

import pytest

from bot.console import ConsoleWorld
from handlers.messages import ChatKind, Incoming
from tests.story import GROUP, set_up_branch, texts, verified_member


def test_group_chatter_is_ignored(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    for chatter in ("大家早上好", "我刚才签到了吗", "今天要亮身份吗？", "1"):
        assert world.say("张三", GROUP, chatter) == [], chatter


def test_keyword_at_the_start_or_a_mention_gets_an_answer(world: ConsoleWorld) -> None:
    set_up_branch(world)
    assert world.say("张三", GROUP, "帮助")
    mention = Incoming("console", world.group(GROUP), ChatKind.GROUP, world.user("张三"),
                       text="你好", mentioned=True)
    assert "发送「帮助」" in world.deliver(mention)[0].text


def test_help_lists_what_your_role_can_do(world: ConsoleWorld) -> None:
    set_up_branch(world)
    resident = texts(world.say("路人", GROUP, "/help"))[0]
    secretary = texts(world.say("王书记", GROUP, "/help"))[0]
    assert "你的身份：居民" in resident
    assert "/iam（亮身份、报到）" in resident
    assert "/checkin" not in resident
    assert "/members" not in resident
    assert "你的身份：书记" in secretary
    assert "/members" in secretary
    assert "/checkin" in secretary


def test_unknown_command_and_unknown_text(world: ConsoleWorld) -> None:
    set_up_branch(world)
    assert texts(world.say("张三", GROUP, "/fly")) == [
        "没有 /fly 这个命令。发送 /help 查看可用命令。"]
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
    world.press("张三", GROUP, "私聊继续亮身份")
    assert texts(world.say("张三", "private", name)) == [expected]
    # Still at the first step: a good name moves on to the building.
    assert "第 2 步" in texts(world.say("张三", "private", "张三"))[0]


def test_a_button_meant_for_someone_else(world: ConsoleWorld) -> None:
    set_up_branch(world)
    offer = world.say("张三", GROUP, "/lang")[0]
    refusal = world.press("李四", GROUP, "English")
    assert refusal[0].toast
    assert refusal[0].text == "这个按钮不是给你的。"
    assert offer.flat_buttons, "the offer still stands for 张三"
    world.press("张三", GROUP, "English")
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
