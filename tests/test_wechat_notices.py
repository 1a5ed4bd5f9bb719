"""Notices reach WeChat followers one by one through the outbox: a customer-service message
inside the 48-hour window (answered by typing 收到), a template message outside it, else
recorded as missed and shown again by 未读. The real wechatpy client against the fake API."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from bot.console import ConsoleWorld
from bot.wechat_outbox import Template, WechatSender
from bot.wechat_service import WechatService
from handlers.core import Core
from tests.conftest import Clock
from tests.fake_wechat import FakeWechat
from tests.story import GROUP, set_up_branch, texts
from tests.test_wechat import (
    WANG,
    ZHANG,
    Running,
    _verified_on_wechat,
    apply,
    branch_with_wechat_secretary,
    fake_wx,
    running,
    wechat_settings,
)
from tests.test_wechat_numbers import code_of

__all__ = ["fake_wx", "running"]  # fixtures used by name below

TEXT = "周三停水，请提前储水"
TEMPLATE = Template("TPL_notice_0001", {"first": "branch", "keyword1": "text",
                                        "keyword2": "time", "remark": "action"})
GENERAL = Template("TPL_general_0002", {"first": "branch", "keyword1": "text",
                                        "keyword2": "time"})


async def notice_to_branch(run: Running, text: str = TEXT) -> None:
    """王书记 sends a notice to the branch now, on WeChat, by numbered replies."""
    wang = run.follower(WANG)
    for answer in ("通知", text, "1"):
        await run.say(wang, answer)
    summary = await run.say(wang, "1")  # 立即发送
    assert "私信 1 位只用微信的党员" in summary
    assert "群" not in summary
    assert "点「" not in summary
    await run.say(wang, "1")  # 确定


async def send(run: Running, template: Template | None = None,
               general: Template | None = None) -> None:
    sender = WechatSender(run.adapter, run.adapter.registry, template, general)
    while await sender.drain_once():
        pass
    await run.settle()


async def test_inside_the_window_a_service_message_and_收到_by_reply(
        running: Running, world: ConsoleWorld) -> None:
    await _verified_on_wechat(running, world)
    await notice_to_branch(running)
    await send(running)
    assert running.fake.texts_to(ZHANG)[-1] == f"【通知】{TEXT}\n回复「收到」确认"
    assert await running.say(running.follower(ZHANG), "收到") == "已收到，谢谢！"
    assert await running.say(running.follower(ZHANG), "收到！") == "你已经点过收到了。"
    status = await running.say(running.follower(WANG), "通知 状态 1")
    assert "收到：1/1 名党员" in status
    assert "· 微信服务号（客服消息、模板消息）：送达 1/1，未送达 0" in status


async def test_outside_the_window_a_template_message_once(
        running: Running, world: ConsoleWorld, clock: Clock) -> None:
    await _verified_on_wechat(running, world)
    clock.advance(hours=49)
    await notice_to_branch(running)
    await send(running, TEMPLATE)
    await send(running, TEMPLATE)  # a second round finds nothing more to send
    sent = running.fake.templates_to(ZHANG)
    assert len(sent) == 1
    assert sent[0]["template_id"] == "TPL_notice_0001"
    assert sent[0]["data"]["keyword1"]["value"] == TEXT
    assert sent[0]["data"]["remark"]["value"] == "点开详情，一键确认收到"
    assert sent[0]["url"].endswith("/desk/notice/1")
    assert not any(TEXT in text for text in running.fake.texts_to(ZHANG))
    status = await running.say(running.follower(WANG), "通知 状态 1")
    assert "· 微信服务号（客服消息、模板消息）：送达 1/1，未送达 0（其中 1 条为模板消息）" in status


async def test_a_long_notice_is_cut_to_what_the_template_fields_hold(
        running: Running, world: ConsoleWorld, clock: Clock) -> None:
    """A category template's text field takes 20 characters (WeChat refuses more with
    47003), a library template's keyword shows 20: the notice is cut there with an ellipsis,
    and the whole of it is on the desk page the message opens."""
    await _verified_on_wechat(running, world)
    clock.advance(hours=49)
    await notice_to_branch(running, "本周三上午九点到下午五点三号楼停水，"
                                    "请各位邻居提前储水，谢谢配合")
    category = Template("TPL_category_0003", {"thing2": "text", "time3": "time"})
    await send(running, category)
    (sent,) = running.fake.templates_to(ZHANG)
    assert sent["data"]["thing2"]["value"] == "本周三上午九点到下午五点三号楼停水，请…"
    assert sent["data"]["time3"]["value"] == "2026-11-25 09:30"
    assert sent["url"].endswith("/desk/notice/1")
    status = await running.say(running.follower(WANG), "通知 状态 1")
    assert "送达 1/1，未送达 0（其中 1 条为模板消息）" in status


async def test_without_a_template_it_is_missed_and_未读_brings_it_back(
        running: Running, world: ConsoleWorld, clock: Clock) -> None:
    await _verified_on_wechat(running, world)
    clock.advance(hours=49)
    await notice_to_branch(running)
    await send(running)
    running.fake.refuse_template[ZHANG] = 43004
    status = await running.say(running.follower(WANG), "通知 状态 1")
    assert "送达 0/1，未送达 1" in status
    zhang = running.follower(ZHANG)
    told = await running.say(zhang, "帮助")
    assert "之前有 1 条消息因超过微信 48 小时的回复时限未能送达，发送「未读」查看。" in told
    unread = await running.say(zhang, "未读")
    assert "有 1 条消息之前没能送达你" in unread
    assert f"【通知】{TEXT}\n回复「收到」确认" in unread
    assert await running.say(zhang, "收到") == "已收到，谢谢！"
    assert await running.say(zhang, "未读") == "没有未送达的消息。"


async def test_an_unfollowed_reader_is_recorded_not_retried(
        running: Running, world: ConsoleWorld, clock: Clock) -> None:
    await _verified_on_wechat(running, world)
    clock.advance(hours=49)
    running.fake.refuse_template[ZHANG] = 43004
    await notice_to_branch(running)
    await send(running, TEMPLATE)
    await send(running, TEMPLATE)
    assert len(running.fake.calls_to("message/template/send")) == 1, "not retried"
    await running.settle()
    summary = running.fake.texts_to(WANG)
    assert any("张三（wechat 43004 unfollowed）" in text for text in summary), summary[-2:]


async def test_a_result_past_the_window_goes_as_the_general_template_once(
        running: Running, world: ConsoleWorld, clock: Clock) -> None:
    """张三 applied and fell silent; two days later the secretary verifies him: the result
    goes as a template message linking to the desk, through its own outbox row."""
    branch_with_wechat_secretary(world)
    zhang, wang = running.follower(ZHANG), running.follower(WANG)
    await running.say(wang, "帮助")
    await apply(running, ZHANG, "张三", "3号楼2单元")
    await send(running, TEMPLATE, GENERAL)  # the sender is there, with nothing to send yet
    clock.advance(hours=49)
    await running.say(wang, f"核实 {code_of(running, '张三')}")
    await running.settle()
    await send(running, TEMPLATE, GENERAL)
    await send(running, TEMPLATE, GENERAL)
    (sent,) = running.fake.templates_to(ZHANG)
    assert sent["template_id"] == "TPL_general_0002"
    assert sent["data"]["first"]["value"] == "你有一条新消息"
    # A library template's keyword shows 20 characters; the rest is on the desk.
    assert sent["data"]["keyword1"]["value"] == "「阳光小区党支部」书记已核实你的党员身…"
    assert sent["url"].endswith("/desk")
    assert not any("已核实" in text for text in running.fake.texts_to(ZHANG))
    told = await running.say(zhang, "帮助")
    assert "未能送达" not in told, "it reached him: nothing is missed"


async def test_a_result_refused_for_good_is_kept_for_未读(
        running: Running, world: ConsoleWorld, clock: Clock) -> None:
    branch_with_wechat_secretary(world)
    zhang, wang = running.follower(ZHANG), running.follower(WANG)
    await running.say(wang, "帮助")
    await apply(running, ZHANG, "张三", "3号楼2单元")
    running.fake.refuse_template[ZHANG] = 43101
    await send(running, TEMPLATE, GENERAL)
    clock.advance(hours=49)
    await running.say(wang, f"核实 {code_of(running, '张三')}")
    await running.settle()
    await send(running, TEMPLATE, GENERAL)
    await send(running, TEMPLATE, GENERAL)
    assert len(running.fake.calls_to("message/template/send")) == 1, "not retried"
    told = await running.say(zhang, "帮助")
    assert "之前有 1 条消息因超过微信 48 小时的回复时限未能送达" in told
    assert "书记已核实你的党员身份" in await running.say(zhang, "未读")


async def test_wechat_only_mode_runs_the_robot_and_follower_senders(
        fake_wx: FakeWechat, core: Core, tmp_path: Path) -> None:
    """No Telegram: the WeCom robots' sender and the followers' sender both run, so a notice
    to a branch with a robot does not wait for ever."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    settings = wechat_settings(fake_wx, JINLIN_WEB_PORT=port)
    service = WechatService(settings, core)
    task = asyncio.create_task(service.run())
    for _ in range(100):
        if core.senders is not None:
            break
        await asyncio.sleep(0.05)
    service.stop()
    await asyncio.wait_for(task, 15)
    assert core.senders == frozenset({"wecom", "wechat"})


def test_a_robot_without_a_sender_is_not_left_pending(world: ConsoleWorld) -> None:
    set_up_branch(world)
    world.say("王书记", "private",
              "/robot add 3号楼群 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="
              "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d")
    world.core.senders = frozenset({"console"})
    world.say("王书记", GROUP, "通知")
    world.say("王书记", "private", TEXT)
    world.press("王书记", "private", "本支部所有群")
    world.press("王书记", "private", "立即发送")
    shown = texts(world.press("王书记", "private", "确定"))
    assert "通知 #1 有 1 个目标（企业微信群机器人）当前没有发送程序在运行，已记为未送达。" in shown
    world.drain_outbox()
    status = texts(world.say("王书记", "private", "通知 状态 1"))[-1]
    assert "· 企业微信群机器人：送达 0/1，未送达 1" in status
    assert "· 控制台：送达 1/1，未送达 0" in status
