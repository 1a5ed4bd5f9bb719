"""群机器人: a secretary registers WeCom group robots privately; their keys never show again."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.console import ConsoleWorld
from storage.models import Delivery
from tests.story import GROUP, set_up_branch, texts, verified_member

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
OTHER_KEY = "0f3c7d1e-2b4a-4c59-8e61-7a9b0c1d2e3f"


def everything_shown(world: ConsoleWorld) -> list[str]:
    return [s.text for chat in world.chats.values() for s in chat]


def test_add_list_and_remove_with_the_key_only_ever_masked(
        world: ConsoleWorld, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    set_up_branch(world)
    assert texts(world.say("王书记", "private", f"/robot add 三期业主群 {URL}")) == [
        "已添加群机器人「三期业主群」（key …5aaa）。发给阳光小区党支部的通知也会发到它所在的群。"]
    world.say("王书记", "private", f"群机器人 add 物业群 {OTHER_KEY}")  # the keyword, a bare key
    assert texts(world.say("王书记", "private", "/robot list")) == [
        "阳光小区党支部的企业微信群机器人：\n· 三期业主群（key …5aaa）\n· 物业群（key …2e3f）"]
    assert texts(world.say("王书记", "private", "/robot remove 三期业主群")) == [
        "已移除群机器人「三期业主群」，之后的通知不再发给它。"]
    assert texts(world.say("王书记", GROUP, "/robot list")) == [
        "阳光小区党支部的企业微信群机器人：\n· 物业群（key …2e3f）"]
    world.say("王书记", "private", "/robot remove 物业群")
    assert "（还没有" in texts(world.say("王书记", "private", "/robot list"))[0]

    for secret in (KEY, OTHER_KEY, KEY[:-4]):
        assert not [t for t in everything_shown(world) if secret in t]
        assert not [r for r in caplog.records if secret in r.getMessage()]


def test_a_key_sent_in_the_group_is_refused_and_not_stored(world: ConsoleWorld) -> None:
    set_up_branch(world)
    (answer,) = texts(world.say("王书记", GROUP, f"/robot add 三期业主群 {URL}"))
    assert answer.startswith("请私聊我添加群机器人")
    assert "我没法删除你在群里发的消息，请尽快自己撤回" in answer
    assert KEY not in answer
    assert "（还没有" in texts(world.say("王书记", "private", "/robot list"))[0]


def test_refusals(world: ConsoleWorld) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    assert texts(world.say("张三", "private", f"/robot add 我的群 {URL}")) == [
        "这个操作需要书记权限。"]
    assert texts(world.say("张三", GROUP, "/robot list")) == ["这个操作需要书记权限。"]
    for bad in ("https://example.com/hook?token=abc", "https://qyapi.weixin.qq.com/cgi-bin/"
                "webhook/send", "ftp://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + KEY,
                "密钥", "abc"):
        (answer,) = texts(world.say("王书记", "private", f"/robot add 三期 {bad}"))
        assert answer.startswith("这不像企业微信群机器人的 Webhook 地址"), bad
    assert texts(world.say("王书记", "private", f"/robot add {URL}")) == [
        "用法：/robot add <名称> <Webhook 地址或 key>"]
    world.say("王书记", "private", f"/robot add 三期 {URL}")
    assert texts(world.say("王书记", "private", f"/robot add 三期 {OTHER_KEY}")) == [
        "已经有叫「三期」的群机器人了，请换个名称。"]
    assert texts(world.say("王书记", "private", f"/robot add 四期 {KEY}")) == [
        "这个群机器人已经添加过了（/robot list 查看）。"]
    assert texts(world.say("王书记", "private", "/robot remove 五期")) == [
        "没有叫「五期」的群机器人（/robot list 查看）。"]
    assert texts(world.say("王书记", "private", "/robot"))[0].startswith("企业微信群机器人用法")


def test_a_notice_to_the_branch_counts_and_queues_its_robots(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("王书记", "private", f"/robot add 三期业主群 {URL}")
    world.say("王书记", "private", "通知")
    world.say("王书记", "private", "周六上午清扫楼道")
    world.press("王书记", "private", "本支部所有群")
    confirm = texts(world.press("王书记", "private", "立即发送"))[0]
    assert "发往 2 个群" in confirm
    world.press("王书记", "private", "确定")
    sent = world.drain_outbox()
    assert [s.text for s in sent if s.chat_id == world.group(GROUP)] == [
        "【通知】周六上午清扫楼道"]
    # The console delivers only its own chats: the robot's row waits for the WeCom sender.
    with world.core.db.session() as session:
        rows = {(d.platform, d.state) for d in session.scalars(select(Delivery))}
    assert rows == {("console", "sent"), ("wecom", "pending")}
