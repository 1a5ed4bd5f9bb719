"""Help requests, problem reports and points on the desk: a resident asks for help on the page
and only the neighbour who takes it (in the chat) sees her phone number, there and on his own
page; the secretary triages a problem report on the page; a member reads his points and the
branch's ranking, where a neighbour who asked not to be named is not."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tests.desk_fixtures import browser, core, dialog, port, service
from tests.fake_telegram import Call, FakeTelegram, private_chat
from tests.telegram_fixtures import Dialog, fake_tg
from tests.test_desk_login import GROUP, bind_group
from tests.test_desk_pages import FANG, LI, seed_members, signed_in
from tests.test_telegram_adapter import WANG, ZHANG, seed_secretary

if TYPE_CHECKING:
    from playwright.async_api import Browser

    from handlers.core import Core

__all__ = ["browser", "core", "dialog", "fake_tg", "port", "service"]  # fixtures by name

PHONE_NUMBER = "13912345678"


async def group_card(fake_tg: FakeTelegram, words: str) -> Call:
    """The bot's message in the group that says `words` (it may still be on its way)."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        found = [c for c in fake_tg.calls_to("sendMessage")
                 if int(c.params["chat_id"]) == GROUP["id"] and words in c.params["text"]]
        if found:
            return found[-1]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the group never read {words!r}")
        await asyncio.sleep(0.05)


async def test_a_resident_asks_on_the_page_and_only_her_helper_sees_her_phone(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, browser: Browser) -> None:
    branch_id = seed_secretary(core)
    bind_group(core, branch_id, fake_tg)
    seed_members(core, branch_id)
    for user in (ZHANG, FANG):
        await dialog.say(user, private_chat(user), "/start")  # so that the bot may write

    li = await signed_in(browser, dialog, LI)
    await li.get_by_role("navigation").get_by_role("link", name="邻里求助").click()
    assert await li.get_by_label("楼栋/单元").input_value() == "5号楼1单元"
    assert "只私下发给接单的党员" in await li.locator("form.ask").inner_text()
    await li.get_by_label("求助内容").fill("腿脚不便，想请人帮忙去驿站取个快递")
    await li.get_by_label("类别").select_option(label="代办")
    await li.get_by_label("联系方式").fill(f"{PHONE_NUMBER}，1单元302")
    await li.get_by_role("button", name="发出求助").click()
    assert await li.locator("[role=status]").inner_text() == \
        "求助 #1 已发到群里（1 个群），有人接单会私信告诉你。"
    mine = li.locator("section.card", has_text="腿脚不便")
    assert "等待热心邻居接单" in await mine.inner_text()

    card = await group_card(fake_tg, "腿脚不便")
    assert "代办" in card.params["text"]
    assert PHONE_NUMBER not in card.params["text"]
    assert "302" not in card.params["text"]
    (take,) = card.params["reply_markup"]["inline_keyboard"][0]
    assert take["text"] == "我来帮忙"
    await dialog.press(ZHANG, card, take["callback_data"])

    told = [t for t in fake_tg.sent_texts(ZHANG.id) if "腿脚不便" in t]
    assert len(told) == 1
    assert PHONE_NUMBER in told[0]
    assert any("党员 张建国 接下了你的求助 #1" in t for t in fake_tg.sent_texts(LI.id))
    elsewhere = fake_tg.sent_texts(GROUP["id"]) + fake_tg.sent_texts(FANG.id) \
        + fake_tg.sent_texts(WANG.id)
    assert not [t for t in elsewhere if PHONE_NUMBER in t]

    zhang = await signed_in(browser, dialog, ZHANG)
    await zhang.get_by_role("navigation").get_by_role("link", name="邻里求助").click()
    helping = zhang.locator("section.card", has_text="腿脚不便")
    assert f"联系方式：{PHONE_NUMBER}，1单元302" in await helping.inner_text()
    assert "求助人：李秀英" in await helping.inner_text()

    fang = await signed_in(browser, dialog, FANG)
    await fang.get_by_role("navigation").get_by_role("link", name="邻里求助").click()
    queued = fang.locator("section.card", has_text="腿脚不便")
    assert "党员 张建国 已接单" in await queued.inner_text()
    assert PHONE_NUMBER not in await fang.locator("main").inner_text()
    assert await queued.get_by_role("button").count() == 0

    await li.reload()
    assert PHONE_NUMBER not in await li.locator("main").inner_text()
    await li.locator("section.card", has_text="腿脚不便").get_by_role(
        "button", name="撤销求助").click()
    assert await li.locator("[role=status]").inner_text() == "求助 #1 已撤销。"
    assert any("#1" in t and "撤销" in t for t in fake_tg.sent_texts(ZHANG.id))


async def test_the_secretary_triages_a_report_on_the_page(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, browser: Browser) -> None:
    branch_id = seed_secretary(core)
    seed_members(core, branch_id)
    await dialog.say(ZHANG, private_chat(ZHANG), "/report 3号楼门口的路灯坏了一周了")

    secretary = await signed_in(browser, dialog, WANG)
    await secretary.get_by_role("navigation").get_by_role("link", name="问题反映").click()
    report = secretary.locator("section.card", has_text="路灯坏了")
    assert "来自 张建国" in await report.inner_text()
    assert "待处理" in await report.inner_text()
    await report.get_by_role("button", name="受理").click()
    report = secretary.locator("section.card", has_text="路灯坏了")
    assert "已受理" in await report.inner_text()
    assert "你的反映 #1 已受理。" in fake_tg.sent_texts(ZHANG.id)

    await report.get_by_role("button", name="指派").click()
    await secretary.get_by_role("button", name="王芳（5号楼3单元）").click()
    assert "王芳" in await secretary.locator("main").inner_text()
    await secretary.get_by_role("navigation").get_by_role("link", name="问题反映").click()
    assert "负责人：王芳" in await secretary.locator(
        "section.card", has_text="路灯坏了").inner_text()


async def test_a_member_reads_his_points_and_the_ranking(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, browser: Browser) -> None:
    branch_id = seed_secretary(core)
    bind_group(core, branch_id, fake_tg)
    seed_members(core, branch_id)
    await dialog.say(ZHANG, GROUP, "签到")
    await dialog.say(FANG, GROUP, "签到")
    await dialog.say(FANG, private_chat(FANG), "排行 隐藏")
    await dialog.say(WANG, private_chat(WANG), "积分 调整 @王芳 +3 组织楼道清扫")

    zhang = await signed_in(browser, dialog, ZHANG)
    await zhang.get_by_role("navigation").get_by_role("link", name="我的积分").click()
    assert await zhang.locator(".big").inner_text() == "1"
    assert "本月 1 分" in await zhang.locator("main").inner_text()
    (line,) = await zhang.locator("ul.history li").all_inner_texts()
    assert "签到 +1" in line

    await zhang.get_by_role("link", name="积分排行").last.click()
    assert await zhang.locator("tbody tr").all_inner_texts() == ["1\t一位邻居\t4",
                                                                  "2\t张建国\t1"]
    assert "你：第 2 名，1 分" in await zhang.locator("main").inner_text()
    await zhang.get_by_role("link", name="上月").click()
    assert "还没有人获得积分" in await zhang.locator("main").inner_text()
