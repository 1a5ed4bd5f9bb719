"""The resident's pages and the secretary's queues on the desk: a resident asks for help on
the page and only the neighbour who takes it (in the chat) sees her phone number, there and on
his own page; the secretary triages a problem report on the page; a member reads his points
and the branch's ranking, where a neighbour who asked not to be named is not; a neighbour
shows his identity (亮身份) on the page and the secretary verifies him in the chat. Each page
is checked at phone width with axe-core and photographed under the test's temp folder."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from tests.desk_fixtures import (
    browser,
    core,
    dialog,
    no_horizontal_scroll,
    port,
    serious_problems,
    service,
)
from tests.fake_telegram import Call, FakeTelegram, TgUser, private_chat
from tests.telegram_fixtures import Dialog, fake_tg
from tests.test_desk_login import GROUP, bind_group
from tests.test_desk_pages import FANG, LI, seed_members, signed_in
from tests.test_telegram_adapter import WANG, ZHANG, seed_secretary

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

    from handlers.core import Core

__all__ = ["browser", "core", "dialog", "fake_tg", "port", "service"]  # fixtures by name

PHONE_NUMBER = "13912345678"
CHEN = TgUser(5100000007, "陈明", username="chen_ming", language_code="zh-hans")


async def looked_at(page: Page, folder: Path, name: str) -> None:
    """The page as it is now fits a phone, has no serious accessibility problem, and is
    photographed into `folder`."""
    await no_horizontal_scroll(page)
    assert await serious_problems(page) == [], name
    await page.screenshot(path=folder / f"{name}.png", full_page=True)


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
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, browser: Browser,
        tmp_path: Path) -> None:
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
    await looked_at(li, tmp_path, "desk-help-asked")

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
    await looked_at(zhang, tmp_path, "desk-help-helping")

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
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, browser: Browser,
        tmp_path: Path) -> None:
    branch_id = seed_secretary(core)
    seed_members(core, branch_id)
    await dialog.say(ZHANG, private_chat(ZHANG), "/report 3号楼门口的路灯坏了一周了")

    secretary = await signed_in(browser, dialog, WANG)
    await secretary.get_by_role("navigation").get_by_role("link", name="问题反映").click()
    report = secretary.locator("section.card", has_text="路灯坏了")
    assert "来自 张建国" in await report.inner_text()
    assert "待处理" in await report.inner_text()
    await looked_at(secretary, tmp_path, "desk-reports")
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
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, browser: Browser,
        tmp_path: Path) -> None:
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
    await looked_at(zhang, tmp_path, "desk-points")

    await zhang.get_by_role("link", name="积分排行").last.click()
    assert await zhang.locator("tbody tr").all_inner_texts() == ["1\t一位邻居\t4",
                                                                  "2\t张建国\t1"]
    assert "你：第 2 名，1 分" in await zhang.locator("main").inner_text()
    await looked_at(zhang, tmp_path, "desk-rank")
    await zhang.get_by_role("link", name="上月").click()
    assert "还没有人获得积分" in await zhang.locator("main").inner_text()


async def test_a_neighbour_shows_his_identity_on_the_page_and_is_verified_in_the_chat(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, browser: Browser,
        tmp_path: Path) -> None:
    seed_secretary(core)
    await dialog.say(WANG, private_chat(WANG), "/start")  # so that the bot may write to him
    chen = await signed_in(browser, dialog, CHEN)
    await chen.get_by_role("navigation").get_by_role("link", name="我的资料").click()
    assert await chen.get_by_label("姓名").input_value() == "陈明"
    await chen.get_by_label("楼栋/单元").fill("7号楼2单元")
    await chen.get_by_label("党员类别").select_option(label="在职")
    await chen.get_by_label("组织关系").select_option(label="非在册")
    await chen.get_by_label("特长").fill("电脑维修")
    await chen.get_by_role("button", name="提交").click()
    assert await chen.locator("[role=status]").inner_text() == \
        "已提交给「阳光花园党支部」书记核实，核实后我会告诉你。"
    assert "阳光花园党支部：待核实" in await chen.locator("main").inner_text()
    await no_horizontal_scroll(chen)
    assert await serious_problems(chen) == []
    await chen.screenshot(path=tmp_path / "desk-profile.png", full_page=True)

    (review,) = [c for c in fake_tg.calls_to("sendMessage") if c.chat_id == WANG.id
                 and "陈明" in c.params["text"]]
    assert "7号楼2单元" in review.params["text"]
    assert "电脑维修" in review.params["text"]
    verify = review.params["reply_markup"]["inline_keyboard"][0][0]
    assert verify["text"] == "核实"
    await dialog.press(WANG, review, verify["callback_data"])
    await chen.reload()
    assert "阳光花园党支部：已核实" in await chen.locator("main").inner_text()
    assert await chen.get_by_label("特长").input_value() == "电脑维修"
