"""The story of a compound on WeChat alone, no Telegram at all: the real wechatpy client
against the fake WeChat API, every callback signed and AES-encrypted. The admin appoints a
secretary and a building leader in private chats; of two branches a resident chooses hers;
the secretary verifies her by code while filling a form (the number goes to the form); an
activity is published; she signs in by scanning the rotating code; a notice is acknowledged
by replying 收到, and by a follower silent for three days on the page its template message
links to; a help request reaches the building leader at the first escalation step; a
follower who had unfollowed finds what she missed with 未读."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest

from bot.desk import Desk
from bot.wechat import build_adapter
from bot.wechat_outbox import Template, WechatSender
from handlers import qrcodes
from handlers.core import Core
from storage.db import Database
from tests.conftest import TEST_RULES, Clock
from tests.fake_wechat import FakeWechat
from tests.loopback import free_port
from tests.test_wechat import WANG, ZHANG, Running, fake_wx, serve, wechat_settings
from tests.test_wechat_numbers import code_of, status_of
from tests.test_wechat_roles import ADMIN, SUNNY, register, two_branches

__all__ = ["fake_wx"]  # a fixture used by name below

LI = "oVbq06LiSiSilentFollower0001"
SUN = "oVbq06SunQiUnfollowsLater001"
ZHAO = "oVbq06ZhaoLiuAsksForHelp0001"
NOTICE_TEMPLATE = Template("TPL_notice_0001", {"first": "branch", "keyword1": "text",
                                               "keyword2": "time", "remark": "action"})


@pytest.fixture
async def running(fake_wx: FakeWechat, db: Database, clock: Clock) -> AsyncIterator[Running]:
    """The callback and the web desk (with WeChat's sign-in) on one loopback port, which the
    bot's links name."""
    port = free_port()
    rules = TEST_RULES.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    core = Core(db, rules=rules, clock=clock)
    settings = wechat_settings(fake_wx, WECHAT_OAUTH_BASE_URL=fake_wx.oauth_url,
                               JINLIN_WEB_PORT=port)
    adapter = build_adapter(settings, core)
    desk = Desk(core, settings, adapter.registry.deliver)
    async for value in serve(adapter, settings, core, fake_wx, desk.routes(), port):
        yield value


def fields_of(page: str) -> dict[str, str]:
    """The hidden fields of the page's one button form."""
    return {name: html.unescape(value) for name, value in re.findall(
        r'<input type="hidden" name="(\w+)" value="([^"]*)">', page)}


async def drain(run: Running) -> None:
    sender = WechatSender(run.adapter, run.adapter.registry, NOTICE_TEMPLATE)
    while await sender.drain_once():
        pass
    await run.settle()


async def test_a_branch_that_lives_on_wechat_alone(running: Running, clock: Clock) -> None:
    run = running
    await two_branches(run)
    admin, wang = run.follower(ADMIN), run.follower(WANG)
    await register(run, WANG, "王芳", "1")
    await run.say(admin, "1")  # the admin verifies the future secretary
    assert "王芳" in await run.say(admin, f"/grant 书记 @王芳 {SUNNY}")

    # 张三 chooses her branch; 王书记 is filling the activity form when her card arrives.
    await run.say(wang, "活动 new")
    for answer in ("清扫楼道", "11-28 9:00", "11:00", "3号楼大堂"):
        await run.say(wang, answer)
    await register(run, ZHANG, "张三", "1")
    assert "积分" in await run.say(wang, "2"), "2 answered the form's 名额 step"
    assert status_of(run, "张三") == "pending"
    assert "张三" in await run.say(wang, f"核实 {code_of(run, '张三')}")
    assert status_of(run, "张三") == "verified"
    await run.say(wang, "继续")
    for answer in ("5", "1"):
        await run.say(wang, answer)
    assert "清扫楼道" in await run.say(wang, "1")  # 发布
    leader = await run.say(wang, "/grant 楼栋长 @张三")
    assert "张三" in leader

    # 李四 and 孙七 register too, then stay silent for more than two days.
    await register(run, LI, "李四", "1")
    await run.say(wang, f"核实 {code_of(run, '李四')}")
    await register(run, SUN, "孙七", "1")
    await run.say(wang, f"核实 {code_of(run, '孙七')}")
    await run.settle()

    # On the day: 张三 scans the code the on-site page shows now.
    clock.set(2026, 11, 28, 8, 55)
    zhang = run.follower(ZHANG)
    with run.core.db.session() as session:
        from storage.models import Activity
        activity_id = session.query(Activity.id).scalar()
    period = run.core.rules.qr_period_seconds
    payload = qrcodes.make(run.core.rules.secret, activity_id, "i",
                           qrcodes.current_slot(clock(), period))
    run.adapter.rotating_link(period)(payload)
    scanned = zhang.read_reply(await zhang.post(run.http, zhang.scan(run.fake.scenes()[-1])))
    assert scanned.startswith("「清扫楼道」")
    assert "签到成功（08:55）" in scanned

    # A notice: 张三 (inside 48 hours) replies 收到; 李四, silent for three days, gets it as a
    # template message and taps 收到 on the page it links to; 孙七 has unfollowed meanwhile.
    run.fake.refuse_template[SUN] = 43004
    await run.say(wang, "帮助")
    for answer in ("通知", "周三停水，请提前储水", "1", "1", "1"):
        await run.say(wang, answer)
    await drain(run)
    assert run.fake.texts_to(ZHANG)[-1] == "【通知】周三停水，请提前储水\n回复「收到」确认"
    assert await run.say(zhang, "收到") == "已收到，谢谢！"
    assert not any("停水" in text for text in run.fake.texts_to(LI))
    (template,) = run.fake.templates_to(LI)
    assert template["data"]["keyword1"]["value"] == "周三停水，请提前储水"
    run.fake.oauth_openid = LI  # 李四 opens the link in WeChat
    page = await run.http.get(template["url"], follow_redirects=True)
    assert "周三停水，请提前储水" in page.text
    assert "收到" in page.text
    tapped = await run.http.post(page.url.join("/desk/act"), data=fields_of(page.text),
                                 follow_redirects=True)
    assert "已收到，谢谢！" in tapped.text
    assert "你已确认收到。" in tapped.text
    status = await run.say(wang, "通知 状态 1")
    assert "收到：2/4 名党员" in status
    assert "（其中 1 条为模板消息）" in status
    assert "李四" not in status.partition("收到：2/4 名党员")[2]
    assert "孙七（wechat 43004 unfollowed）" in "".join(run.fake.texts_to(WANG))

    # A neighbour asks for help; nobody takes it; the building leader is asked first.
    await register(run, ZHAO, "赵六", "1")
    zhao = run.follower(ZHAO)
    for answer in ("求助 帮忙取快递", "1", "13800000000 5号楼302", "1"):  # 代买, …, 发出求助
        await run.say(zhao, answer)
    await run.say(zhang, "帮助")
    clock.advance(hours=run.core.rules.escalation_hours[0] + 0.1)
    await run.adapter.deliver(run.core.run_due())
    await run.settle()
    assert any("帮忙取快递" in text for text in run.fake.texts_to(ZHANG))

    sun = run.follower(SUN)  # 孙七 follows the account again
    told = await run.say(sun, "帮助")
    assert "未能送达，发送「未读」查看。" in told
    unread = await run.say(sun, "未读")
    assert "【通知】周三停水，请提前储水" in unread

    # What the followers read never talks of groups or of tapping, and names nobody blank.
    read = [text.replace("群机器人", "robot") for text in run.read()]  # WeCom's, not ours
    assert [text for text in read if "群" in text or "点「" in text or "点一下" in text] == []
    assert [text for text in read if "  " in text or "「」" in text or "人：\n" in text] == []
