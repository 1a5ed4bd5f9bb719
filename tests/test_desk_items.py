"""The needs list on the desk: the secretary uploads the list on the upload page (the chat
then lists it), a member claims an item and reports the deed on the page, and the secretary
rates the deed there, each with the chat's own buttons."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.desk_fixtures import browser, core, dialog, port, service
from tests.fake_telegram import private_chat
from tests.telegram_fixtures import Dialog, fake_tg
from tests.test_desk_pages import seed_members, signed_in
from tests.test_telegram_adapter import WANG, ZHANG, seed_secretary

if TYPE_CHECKING:
    from playwright.async_api import Browser

    from handlers.core import Core

__all__ = ["browser", "core", "dialog", "fake_tg", "port", "service"]  # fixtures by name

LIST = Path(__file__).parent / "fixtures" / "needs_items_gb18030.csv"
BAD = Path(__file__).parent / "fixtures" / "needs_missing_column.csv"


async def test_the_list_is_uploaded_claimed_fulfilled_and_rated_on_the_desk(
        dialog: Dialog, core: Core, browser: Browser, port: int) -> None:
    branch_id = seed_secretary(core)
    seed_members(core, branch_id)
    secretary = await signed_in(browser, dialog, WANG)
    await secretary.get_by_role("navigation").get_by_role("link", name="需求清单").click()
    assert "需求清单还是空的。" in await secretary.locator("main").inner_text()

    await secretary.get_by_role("link", name="导入需求清单").click()
    await secretary.get_by_label("表格文件").set_input_files(BAD)
    await secretary.get_by_role("button", name="上传并导入").click()
    assert "没有导入，清单没有任何改动" in await secretary.locator("[role=status]").inner_text()
    await secretary.get_by_label("表格文件").set_input_files(LIST)
    await secretary.get_by_role("button", name="上传并导入").click()
    assert await secretary.locator("[role=status]").inner_text() == (
        "已导入 2 个事项到「阳光花园党支部」的需求清单：垃圾分类督导、电动车充电巡查")
    (listed,) = await dialog.say(WANG, private_chat(WANG), "需求清单")
    assert "1. 垃圾分类督导" in listed.params["text"]
    assert "2. 电动车充电巡查" in listed.params["text"]

    member = await signed_in(browser, dialog, ZHANG)
    await member.get_by_role("navigation").get_by_role("link", name="需求清单").click()
    await member.get_by_role("button", name="认领：垃圾分类督导").click()
    assert await member.locator(".flash").first.inner_text() == "认领成功：「垃圾分类督导」。"
    item = member.locator("section.card", has_text="垃圾分类督导").first
    assert "认领 1/2" in await item.inner_text()
    assert "张建国" in await item.inner_text()
    mine = member.locator("section.card", has_text="垃圾分类督导").last
    await mine.get_by_role("button", name="践诺").click()
    await member.get_by_label("回复小助手").fill("每天早上七点在3号楼督导")
    await member.get_by_role("button", name="发送").click()
    assert "已记录你对「垃圾分类督导」的践诺，等书记评诺。" in await member.locator(
        "main").inner_text()

    await secretary.get_by_role("navigation").get_by_role("link", name="需求清单").click()
    deed = secretary.locator("section.card", has_text="每天早上七点在3号楼督导")
    assert "张建国 · 垃圾分类督导" in await deed.inner_text()
    await deed.get_by_role("button", name="5 分").click()
    await secretary.get_by_role("button", name="不写评语").click()
    assert "已评诺：张建国 的「垃圾分类督导」5 分" in await secretary.locator("main").inner_text()
