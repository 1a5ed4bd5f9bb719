"""我的数据 on the desk: a resident reads what the bot keeps about her, in one card per kind,
declines to erase it once, then erases it after confirming; the page tells her what went and
what stays as anonymous counts, her desk session ends, and the secretary's roster no longer
lists her. Each page is checked at phone width with axe-core and photographed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storage import people
from tests.desk_fixtures import browser, core, dialog, port, service
from tests.fake_telegram import FakeTelegram, TgUser
from tests.telegram_fixtures import Dialog, fake_tg
from tests.test_desk_help import looked_at
from tests.test_desk_login import GROUP, bind_group
from tests.test_desk_pages import LI, person_of, seed_members, signed_in
from tests.test_telegram_adapter import WANG, seed_secretary

if TYPE_CHECKING:
    from playwright.async_api import Browser, Locator, Page

    from handlers.core import Core

__all__ = ["browser", "core", "dialog", "fake_tg", "port", "service"]  # fixtures by name


def verify(core: Core, branch_id: int, user: TgUser) -> None:
    """The secretary has verified `user`, who may then check in in the group."""
    person, secretary = person_of(core, user), person_of(core, WANG)
    with core.db.session() as session:
        found = people.profile(session, person, branch_id)
        assert found is not None
        people.decide_profile(session, found.id, "verified", secretary, core.clock())


def card(page: Page, heading: str) -> Locator:
    """The card on the page headed `heading`."""
    return page.locator("section.card").filter(
        has=page.get_by_role("heading", name=heading, exact=True))


async def test_a_resident_reads_her_data_and_erases_it_after_confirming(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, browser: Browser,
        tmp_path: Path) -> None:
    branch_id = seed_secretary(core)
    bind_group(core, branch_id, fake_tg)
    seed_members(core, branch_id)
    verify(core, branch_id, LI)
    await dialog.say(LI, GROUP, "签到")

    secretary = await signed_in(browser, dialog, WANG)
    await secretary.get_by_role("navigation").get_by_role("link", name="名册").click()
    roster = secretary.url
    assert "李秀英" in await secretary.locator("main").inner_text()

    li = await signed_in(browser, dialog, LI)
    await li.get_by_role("main").get_by_role("link", name="我的数据").click()
    assert await li.get_by_role("heading", level=1).inner_text() == "我的数据"
    assert "李秀英" in await card(li, "姓名").inner_text()
    assert "5号楼1单元" in await card(li, "楼栋").inner_text()
    assert "1 条" in await card(li, "每日签到").inner_text()
    await looked_at(li, tmp_path, "desk-privacy")

    await li.get_by_role("link", name="删除我的数据").click()
    assert "无法恢复" in await li.locator("main").inner_text()
    await looked_at(li, tmp_path, "desk-forget")
    await li.get_by_role("button", name="保留").click()
    assert "什么都没删" in await li.locator("[role=status]").inner_text()
    assert "李秀英" in await card(li, "姓名").inner_text()

    await li.get_by_role("link", name="删除我的数据").click()
    await li.get_by_role("button", name="确定删除").click()
    assert await li.get_by_role("heading", level=1).inner_text() == "你的数据已删除"
    assert "你的个人数据已删除" in await li.locator("[role=status]").inner_text()
    gone, emptied, stays = [await found.inner_text()
                            for found in await li.get_by_role("list").all()]
    assert "姓名" in gone
    assert "楼栋" in gone
    assert "积分记录" in emptied
    assert "每日签到" in stays
    assert "每日签到" not in gone
    await looked_at(li, tmp_path, "desk-forgotten")

    await li.goto(li.url.replace("/desk/forget", "/desk/privacy"))
    assert "李秀英" not in await li.locator("body").inner_text()

    await secretary.goto(roster)
    shown = await secretary.locator("main").inner_text()
    assert "李秀英" not in shown
    assert "张建国" in shown
