"""The secretary's notices on the desk: she sends a notice from the page, one member taps 收到
in the group, and the page shows it delivered, the acknowledgement rate (with its chart), where
it was acknowledged and who has not; a notice still to be sent is called off from the page.
A member is refused the page; an unknown notice is a clear page. Both pages fit a phone and
pass axe-core."""

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
from tests.fake_telegram import Call, FakeTelegram
from tests.telegram_fixtures import Dialog, fake_tg
from tests.test_desk_login import GROUP, bind_group
from tests.test_desk_pages import seed_members, signed_in
from tests.test_tap_storm import button_data
from tests.test_telegram_adapter import WANG, ZHANG, seed_secretary

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

    from handlers.core import Core

__all__ = ["browser", "core", "dialog", "fake_tg", "port", "service"]  # fixtures by name

TEXT = "周六上午清扫楼道，请大家参加"


async def send_notice_from_the_page(page: Page, text: str, rule: str,
                                    when: str | None = None) -> str:
    """The secretary fills 发新通知 on the desk as she would in chat; what the bot says last."""
    await page.get_by_role("navigation").get_by_role("link", name="通知").click()
    await page.get_by_role("button", name="发新通知").click()
    await page.get_by_label("回复小助手").fill(text)
    await page.get_by_role("button", name="发送").click()
    await page.get_by_role("button", name="本支部所有群").click()
    await page.get_by_role("button", name=rule).click()
    if when is not None:
        await page.get_by_label("回复小助手").fill(when)
        await page.get_by_role("button", name="发送").click()
    await page.get_by_role("button", name="确定").click()
    return await page.locator("main section.card").first.inner_text()


async def notice_in_the_group(fake_tg: FakeTelegram) -> Call:
    """The notice as the group got it (the sender delivers it in the background)."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        found = [c for c in fake_tg.calls_to("sendMessage")
                 if int(c.params["chat_id"]) == GROUP["id"]
                 and str(c.params["text"]).startswith("【通知】")]
        if found:
            return found[0]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the group got no notice: {fake_tg.sent_texts()}")
        await asyncio.sleep(0.05)


async def test_the_secretary_sees_who_received_a_notice_and_who_has_not(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, browser: Browser,
        port: int, tmp_path: Path) -> None:
    branch_id = seed_secretary(core)
    bind_group(core, branch_id, fake_tg)
    seed_members(core, branch_id)  # 张建国 and 王芳 verified, 李秀英 waiting
    page = await signed_in(browser, dialog, WANG)
    await page.get_by_role("navigation").get_by_role("link", name="通知").click()
    assert "还没有发出过通知。" in await page.locator("main").inner_text()

    said = await send_notice_from_the_page(page, TEXT, "立即发送")
    assert "通知 #1 已安排：立即发送。" in said
    in_group = await notice_in_the_group(fake_tg)
    assert in_group.params["text"] == f"【通知】{TEXT}"
    await dialog.press(ZHANG, in_group, button_data(in_group, "收到"))

    await page.goto(f"http://127.0.0.1:{port}/desk/notices")
    card = page.locator("section.card", has_text=TEXT)
    shown = await card.inner_text()
    assert "送达 1/1（100%），未送达 0" in shown
    assert "收到 1/2 名党员（50%）" in shown
    chart = page.locator("figure svg")
    assert await chart.count() == 1
    assert "各通知收到率" in await page.locator("figure").inner_text()
    await no_horizontal_scroll(page)
    assert await serious_problems(page) == []
    await page.screenshot(path=tmp_path / "desk-notices.png", full_page=True)

    await card.get_by_role("link").click()
    assert await page.locator("h1").inner_text() == "通知 #1 的送达与收到"
    assert await page.locator("#channels tbody tr").all_inner_texts() == [
        "Telegram 群\t1/1\t0"]
    assert await page.locator("#per-chat tbody tr").all_inner_texts() == [
        "阳光花园3号楼邻里群\t1"]
    assert await page.locator("#missing-title").inner_text() == "还没点收到的党员（1 人）"
    assert await page.locator("#missing tbody tr").all_inner_texts() == ["王芳\t5号楼3单元"]
    await no_horizontal_scroll(page)
    assert await serious_problems(page) == []
    await page.screenshot(path=tmp_path / "desk-notice.png", full_page=True)


async def test_a_planned_notice_is_called_off_from_the_page(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, browser: Browser,
        port: int) -> None:
    branch_id = seed_secretary(core)
    bind_group(core, branch_id, fake_tg)
    page = await signed_in(browser, dialog, WANG)
    said = await send_notice_from_the_page(page, "元旦前检查消防通道", "指定时间发一次",
                                           "12-24 08:00")
    assert "通知 #1 已安排" in said

    await page.goto(f"http://127.0.0.1:{port}/desk/notices")
    planned = page.locator("section.card", has_text="元旦前检查消防通道")
    assert "12月24日" in await planned.inner_text()
    await planned.get_by_role("button", name="取消通知 #1").click()
    assert await page.locator(".flash").inner_text() == "通知 #1 已取消，不会再发送。"
    assert "（没有待发送的通知）" in await page.locator("main").inner_text()


async def test_a_member_is_refused_and_an_unknown_notice_is_a_clear_page(
        dialog: Dialog, core: Core, browser: Browser, port: int) -> None:
    branch_id = seed_secretary(core)
    seed_members(core, branch_id)
    member = await signed_in(browser, dialog, ZHANG)
    refused = await member.goto(f"http://127.0.0.1:{port}/desk/notices")
    assert refused is not None
    assert refused.status == 403
    assert await member.locator("#reason").inner_text() == "这个操作需要书记权限。"

    secretary = await signed_in(browser, dialog, WANG)
    missing = await secretary.goto(f"http://127.0.0.1:{port}/desk/notices/999")
    assert missing is not None
    assert missing.status == 404
    assert await secretary.locator("#reason").inner_text() == "没有找到这一页。"
