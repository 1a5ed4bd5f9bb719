"""Signing in to the web desk with the one-time link from 工作台, in a real Chromium: the
secretary verifies a member on the page, who can then 签到 in the group; a used or expired
link, a forged cookie and a form without its token get a page saying so, and change nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from handlers.core import Core
from storage import orgs, people
from storage.models import MemberStatus
from tests.conftest import Clock
from tests.desk_fixtures import (
    browser,
    core,
    desk_link,
    dialog,
    no_horizontal_scroll,
    phone,
    port,
    service,
)
from tests.fake_telegram import FakeTelegram, group_chat, private_chat
from tests.telegram_fixtures import Dialog, fake_tg
from tests.test_telegram_adapter import WANG, ZHANG, seed_secretary

if TYPE_CHECKING:
    from playwright.async_api import Browser

__all__ = ["browser", "core", "dialog", "fake_tg", "port", "service"]  # fixtures used by name

GROUP = group_chat(-1002081543210, "阳光花园3号楼邻里群")


def seed_applicant(core: Core, branch_id: int) -> int:
    """ZHANG has registered with the branch (亮身份) and waits for the secretary."""
    with core.db.session() as session:
        account, _ = people.ensure_account(session, people.SenderInfo(
            "telegram", str(ZHANG.id), ZHANG.first_name, ZHANG.username, ZHANG.language_code),
            core.clock())
        profile, _ = people.save_profile(session, account.person_id, branch_id, {
            "name": "张建国", "building": "3号楼2单元", "kind": "retired",
            "registered_here": True}, core.clock())
        return profile.id


def status_of(core: Core, profile_id: int) -> str:
    with core.db.session() as session:
        found = people.branch_of_profile(session, profile_id)
        assert found is not None
        return found[0].status


def bind_group(core: Core, branch_id: int, fake_tg: FakeTelegram) -> None:
    fake_tg.add_chat(GROUP)
    with core.db.session() as session:
        chat = orgs.ensure_chat(session, "telegram", str(GROUP["id"]), "group", "3号楼邻里群")
        orgs.bind_chat(session, chat, branch_id)


async def test_the_secretary_verifies_on_the_desk_and_the_member_checks_in(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, browser: Browser,
        tmp_path: Path) -> None:
    branch_id = seed_secretary(core)
    bind_group(core, branch_id, fake_tg)
    profile_id = seed_applicant(core, branch_id)
    await dialog.say(ZHANG, private_chat(ZHANG), "/start")  # so that the bot may write to him
    link = await desk_link(dialog, WANG)

    page = await phone(browser)
    opened = await page.goto(link)
    assert opened is not None
    assert opened.status == 200
    assert page.url.endswith("/desk")
    assert "你好，王书记" in await page.locator("h1").inner_text()
    cookie = next(c for c in await page.context.cookies() if c["name"] == "jinlin_desk")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # the public address here is plain http on loopback

    await page.get_by_role("link", name="待核实").first.click()
    card = page.locator("section.card")
    assert "张建国" in await card.inner_text()
    assert "3号楼2单元" in await card.inner_text()
    await no_horizontal_scroll(page)
    await page.screenshot(path=tmp_path / "desk-pending.png", full_page=True)
    await card.get_by_role("button", name="核实").click()
    await page.wait_for_load_state()
    assert "已核实：张建国" in await page.locator(".flash").inner_text()
    assert "没有待核实的申请" in await page.locator("main").inner_text()
    assert status_of(core, profile_id) == MemberStatus.VERIFIED
    assert fake_tg.sent_texts(ZHANG.id)[-1] == ("「阳光花园党支部」书记已核实你的党员身份。"
                                              "现在可以在小区群里发送「签到」，向邻居亮出党员身份了。")

    (line,) = await dialog.say(ZHANG, GROUP, "签到")
    assert line.params["text"].startswith("党员 张建国（3号楼2单元）签到")

    again = await (await phone(browser)).goto(link)
    assert again is not None
    assert again.status == 410
    assert "已经用过了" in await again.text()


async def test_an_expired_link_gets_410_in_the_secretarys_language(
        dialog: Dialog, core: Core, clock: Clock, browser: Browser) -> None:
    seed_secretary(core)
    link = await desk_link(dialog, WANG)
    clock.advance(minutes=11)
    page = await phone(browser, "en-US")  # the browser's language does not decide: his does
    opened = await page.goto(link)
    assert opened is not None
    assert opened.status == 410
    assert "已过期（10 分钟内有效）" in await page.locator("#reason").inner_text()


async def test_a_forged_cookie_or_a_form_without_its_token_changes_nothing(
        dialog: Dialog, core: Core, browser: Browser, port: int) -> None:
    branch_id = seed_secretary(core)
    profile_id = seed_applicant(core, branch_id)
    page = await phone(browser)
    await page.goto(await desk_link(dialog, WANG))
    await page.goto(f"http://127.0.0.1:{port}/desk/pending")
    data = await page.locator("input[name=data]").first.get_attribute("value")

    posted = await page.request.post(f"http://127.0.0.1:{port}/desk/act",
                                     form={"data": data or "", "back": "/desk"},
                                     max_redirects=0)
    assert posted.status == 403
    assert "表单已失效" in await posted.text()
    assert status_of(core, profile_id) == MemberStatus.PENDING

    session = next(c for c in await page.context.cookies() if c["name"] == "jinlin_desk")
    account, rest = session["value"].split(".", 1)
    forged = {**session, "value": f"{int(account) + 1}.{rest}"}
    await page.context.add_cookies([forged])  # type: ignore[list-item]
    refused = await page.goto(f"http://127.0.0.1:{port}/desk/pending")
    assert refused is not None
    assert refused.status == 403
    assert "登录状态无效" in await page.locator("#reason").inner_text()

    stranger = await phone(browser, "en-US")
    unsigned = await stranger.goto(f"http://127.0.0.1:{port}/desk")
    assert unsigned is not None
    assert unsigned.status == 403
    assert "You are not signed in" in await stranger.locator("#reason").inner_text()
