"""The desk's pages in a real Chromium at a phone's size: a resident signs up and cancels
(the group's card counts it), the secretary filters the roster, reads an activity's list and
calls it off, downloads the month's ledger and sees its charts; every page fits 390 px with no
serious accessibility problem (axe-core), and is photographed under the test's temp folder.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl

from bot.services import PollingService
from handlers import activities as published
from handlers.core import Core
from storage import activities, notices, people, states
from storage.models import RunState
from storage.people import SenderInfo
from tests.desk_fixtures import (
    browser,
    core,
    desk_link,
    dialog,
    no_horizontal_scroll,
    phone,
    port,
    serious_problems,
    service,
)
from tests.fake_telegram import FakeTelegram, TgUser, private_chat
from tests.telegram_fixtures import Dialog, fake_tg
from tests.test_desk_login import GROUP, bind_group
from tests.test_telegram_adapter import WANG, ZHANG, seed_secretary

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

__all__ = ["browser", "core", "dialog", "fake_tg", "port", "service"]  # fixtures by name

LI = TgUser(5100000004, "李秀英", username="li_xiuying", language_code="zh-hans")
FANG = TgUser(5100000005, "王芳", username="wang_fang", language_code="zh-hans")
TITLE = "楼道清扫"
CONFIRM = "确定取消活动"


def person_of(core: Core, user: TgUser) -> int:
    with core.db.session() as session:
        return people.ensure_account(session, SenderInfo(
            "telegram", str(user.id), user.first_name, user.username, user.language_code),
            core.clock())[0].person_id


def seed_members(core: Core, branch_id: int) -> None:
    """张建国 (3号楼, verified), 李秀英 (5号楼, waiting), 王芳 (5号楼, verified, 楼栋长)."""
    secretary = person_of(core, WANG)
    for user, building, verified in ((ZHANG, "3号楼2单元", True), (LI, "5号楼1单元", False),
                                     (FANG, "5号楼3单元", True)):
        person = person_of(core, user)
        with core.db.session() as session:
            profile, _ = people.save_profile(session, person, branch_id, {
                "name": user.first_name, "building": building, "kind": "retired",
                "registered_here": True, "skills": "理发" if user is ZHANG else ""},
                core.clock())
            if verified:
                people.decide_profile(session, profile.id, "verified", secretary, core.clock())
    fang = person_of(core, FANG)
    with core.db.session() as session:
        people.grant(session, fang, "building_leader", branch_id=branch_id, now=core.clock())


def seed_activity(core: Core, branch_id: int) -> int:
    """楼道清扫 tomorrow 9:00-11:00 at 3号楼, 10 places, 5 points."""
    starts = core.clock() + dt.timedelta(days=1)
    secretary = person_of(core, WANG)
    with core.db.session() as session:
        item = activities.create(
            session, branch_id=branch_id, title=TITLE, starts_at=starts,
            ends_at=starts + dt.timedelta(hours=2), place="3号楼", capacity=10, points=5,
            created_by=secretary, created_at=core.clock())
        return item.id


def seed_sent_notice(core: Core, branch_id: int) -> int:
    """本周五主题党日, sent just now to the branch's group; returns its sending's id."""
    secretary = person_of(core, WANG)
    with core.db.session() as session:
        item = notices.create(session, branch_id=branch_id, created_by=secretary,
                              text="本周五主题党日", target="branch", rule="now",
                              created_at=core.clock())
        run = notices.plan_run(session, item.id, core.clock())
        assert run is not None
        states.move(run, RunState.SENDING)
        run.started_at, run.text = core.clock(), item.text
        notices.enqueue(session, run.id, [("telegram", str(GROUP["id"]))])
        return run.id


async def post_card(core: Core, service: PollingService, activity_id: int) -> None:
    """The activity's card in the group, as publishing it posts it."""
    with core.db.session() as session:
        scope = core._scope(session)
        item = activities.get(session, activity_id)
        assert item is not None
        key, keyboard = published._card(scope, item)
        scope.post("telegram", str(GROUP["id"]), key, keyboard,
                   published._card_params(scope, item), ref=f"activity:{activity_id}")
        outbox = scope.outbox
    await service.registry.deliver(outbox)


async def signed_in(browser: Browser, dialog: Dialog, user: TgUser) -> Page:
    page = await phone(browser)
    await page.goto(await desk_link(dialog, user))
    return page


def card_text(fake_tg: FakeTelegram) -> str:
    """The group's activity card as it reads now (its last edit, or as posted)."""
    edits = [c for c in fake_tg.calls_to("editMessageText")
             if int(c.params["chat_id"]) == GROUP["id"]]
    return str((edits or fake_tg.calls_to("sendMessage"))[-1].params["text"])


async def card_says(fake_tg: FakeTelegram, words: str) -> str:
    """The group's card once it says `words` (edits pass the bot's per-group rate limit)."""
    deadline = asyncio.get_running_loop().time() + 5
    while words not in card_text(fake_tg):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the card still reads {card_text(fake_tg)!r}")
        await asyncio.sleep(0.05)
    return card_text(fake_tg)


async def test_a_resident_signs_up_on_the_page_and_the_group_card_counts_him(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, service: PollingService,
        browser: Browser) -> None:
    branch_id = seed_secretary(core)
    bind_group(core, branch_id, fake_tg)
    activity_id = seed_activity(core, branch_id)
    await post_card(core, service, activity_id)
    assert "报名 0/10 · 候补 0" in card_text(fake_tg)

    page = await signed_in(browser, dialog, LI)
    await page.get_by_role("navigation").get_by_role("link", name="活动", exact=True).click()
    card = page.locator("section.card", has_text=TITLE)
    assert "已报名 0/10，候补 0" in await card.inner_text()
    await card.get_by_role("button", name="报名", exact=True).click()
    await page.wait_for_load_state()
    assert await page.locator(".flash").inner_text() == "报名成功：「楼道清扫」。"
    card = page.locator("section.card", has_text=TITLE)
    assert "已报名 1/10，候补 0" in await card.inner_text()
    assert "你已报名" in await card.inner_text()
    await card_says(fake_tg, "报名 1/10 · 候补 0")

    await card.get_by_role("button", name="取消", exact=True).click()
    await page.wait_for_load_state()
    assert "已报名 0/10" in await page.locator("section.card", has_text=TITLE).inner_text()
    await card_says(fake_tg, "报名 0/10 · 候补 0")


async def test_the_secretary_filters_the_roster(dialog: Dialog, core: Core,
                                                browser: Browser) -> None:
    branch_id = seed_secretary(core)
    seed_members(core, branch_id)
    page = await signed_in(browser, dialog, WANG)
    await page.get_by_role("navigation").get_by_role("link", name="名册").click()
    assert await page.locator("#found").inner_text() == "共 3 人（显示 3 人）"

    await page.get_by_label("楼栋").fill("5号楼")
    await page.get_by_label("状态").select_option(label="已核实")
    await page.get_by_role("button", name="筛选").click()
    rows = await page.locator("tbody tr").all_inner_texts()
    assert len(rows) == 1
    assert "王芳" in rows[0]
    assert "楼栋长" in rows[0]

    await page.get_by_label("楼栋").fill("")
    await page.get_by_label("状态").select_option(label="全部")
    await page.get_by_label("姓名或特长").fill("理发")
    await page.get_by_role("button", name="筛选").click()
    assert [r.split("\t")[0] for r in await page.locator("tbody tr").all_inner_texts()] \
        == ["张建国"]


async def test_the_secretary_reads_the_list_and_calls_the_activity_off(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, service: PollingService,
        browser: Browser) -> None:
    branch_id = seed_secretary(core)
    bind_group(core, branch_id, fake_tg)
    seed_members(core, branch_id)
    activity_id = seed_activity(core, branch_id)
    zhang = person_of(core, ZHANG)
    with core.db.session() as session:
        item = activities.locked(session, activity_id)
        assert item is not None
        activities.join(session, item, zhang, core.clock())
    await post_card(core, service, activity_id)
    await dialog.say(ZHANG, private_chat(ZHANG), "/start")

    page = await signed_in(browser, dialog, WANG)
    await page.get_by_role("navigation").get_by_role("link", name="活动管理").click()
    await page.get_by_role("link", name=TITLE).click()
    assert "报名 1/10，候补 0，到场 0，缺席 0" in await page.locator("main").inner_text()
    assert await page.locator("tbody tr").all_inner_texts() == ["张建国\t3号楼2单元\t报名\t"]

    await page.get_by_role("button", name="取消活动").click()
    await page.get_by_label("回复小助手").fill("下雨改期")
    await page.get_by_role("button", name="发送").click()
    await page.get_by_role("button", name=CONFIRM).click()
    assert "已取消「楼道清扫」，已私下通知 1 人。" in await page.locator("main").inner_text()
    await card_says(fake_tg, "下雨改期")
    assert any("下雨改期" in text for text in fake_tg.sent_texts(ZHANG.id))


async def test_the_list_shows_who_came_and_the_hours_they_served(
        dialog: Dialog, core: Core, browser: Browser, tmp_path: Path) -> None:
    branch_id = seed_secretary(core)
    seed_members(core, branch_id)
    activity_id = seed_activity(core, branch_id)
    zhang, fang = person_of(core, ZHANG), person_of(core, FANG)
    with core.db.session() as session:
        item = activities.locked(session, activity_id)
        assert item is not None
        activities.join(session, item, zhang, core.clock())
        activities.join(session, item, fang, core.clock())
        # 王芳 came at the start and left 90 minutes later; 张建国 has not come (yet).
        activities.sign_in(session, activity_id, fang, item.starts_at, walk_in=False)
        came = activities.attendance(session, activity_id, fang)
        assert came is not None
        activities.sign_out(session, came.id, item.starts_at + dt.timedelta(minutes=90))

    page = await signed_in(browser, dialog, WANG)
    await page.get_by_role("navigation").get_by_role("link", name="活动管理").click()
    await page.get_by_role("link", name=TITLE).click()
    assert "报名 2/10，候补 0，到场 1，缺席 0 · 共服务 1.5 小时" in await page.locator(
        "main").inner_text()
    assert await page.locator("tbody tr").all_inner_texts() == [
        "张建国\t3号楼2单元\t报名\t", "王芳\t5号楼3单元\t已签退\t1.5"]
    await no_horizontal_scroll(page)
    assert await serious_problems(page) == []
    await page.screenshot(path=tmp_path / "desk-activity-hours.png", full_page=True)


async def test_the_month_has_its_charts_and_its_ledger(dialog: Dialog, core: Core,
                                                       browser: Browser, tmp_path: Path) -> None:
    branch_id = seed_secretary(core)
    seed_members(core, branch_id)
    page = await signed_in(browser, dialog, WANG)
    await page.get_by_role("navigation").get_by_role("link", name="月度统计").click()
    assert await page.locator("h1").inner_text() == "2026-11 月度统计"
    assert await page.locator("figure svg").count() == 4
    assert "每日签到人数" in await page.locator("figure").first.inner_text()

    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="下载 2026-11 台账（.xlsx）").click()
    download = await downloading.value
    saved = tmp_path / "ledger.xlsx"
    await download.save_as(saved)
    book = openpyxl.load_workbook(saved, read_only=True)
    first = book.worksheets[0]
    names = {str(row[0]) for row in first.iter_rows(values_only=True)}
    assert {"张建国", "王芳"} <= names


async def test_my_data_is_the_chats_answer(dialog: Dialog, core: Core,
                                          browser: Browser) -> None:
    branch_id = seed_secretary(core)
    seed_members(core, branch_id)
    page = await signed_in(browser, dialog, ZHANG)
    await page.get_by_role("button", name="我的数据", exact=True).click()
    assert "3号楼2单元" in await page.locator("main").inner_text()


PAGES = ["/desk", "/desk/activities", "/desk/pending", "/desk/roster", "/desk/manage",
         "/desk/activity/{id}", "/desk/live/{id}", "/desk/month", "/desk/notices",
         "/desk/notices/{run}", "/desk/items", "/desk/items/import", "/desk/help",
         "/desk/reports", "/desk/points", "/desk/rank", "/desk/profile"]


async def test_every_page_fits_a_phone_and_passes_axe(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, service: PollingService,
        browser: Browser, port: int, tmp_path: Path) -> None:
    branch_id = seed_secretary(core)
    bind_group(core, branch_id, fake_tg)
    seed_members(core, branch_id)
    activity_id = seed_activity(core, branch_id)
    run_id = seed_sent_notice(core, branch_id)
    page = await signed_in(browser, dialog, WANG)
    for path in PAGES:
        shown = path.format(id=activity_id, run=run_id)
        opened = await page.goto(f"http://127.0.0.1:{port}{shown}", wait_until="domcontentloaded")
        assert opened is not None
        assert opened.status == 200, path
        await no_horizontal_scroll(page)
        assert await serious_problems(page) == [], path
        name = path.strip("/").replace("/", "-").replace("{id}", "activity") \
            .replace("{run}", "sending")
        await page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
    await page.get_by_role("navigation").get_by_role("link", name="首页").click()
    await page.get_by_role("button", name="我的数据", exact=True).click()
    await no_horizontal_scroll(page)
    assert await serious_problems(page) == []
    await page.screenshot(path=tmp_path / "desk-say.png", full_page=True)
