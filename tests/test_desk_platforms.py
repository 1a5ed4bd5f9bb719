"""Opening the desk from the platforms: a Telegram Mini App whose initData is signed with the
bot token (a forged or stale one is refused), and WeChat's 网页授权 (snsapi_base) through
wechatpy against the fake WeChat server, which also identifies whoever scans a URL QR code
for sign-in: the same code rules as the chat (once per person)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from bot.delivery import Registry
from bot.desk import Desk
from bot.desk.platforms import sign_init_data
from bot.web import Server, create_web_app, server_config
from handlers import qrcodes
from handlers.core import Core
from storage import activities, people
from storage.people import SenderInfo
from tests.conftest import Clock
from tests.desk_fixtures import browser, core, phone, port, service
from tests.fake_telegram import TOKEN
from tests.fake_wechat import FakeWechat
from tests.telegram_fixtures import fake_tg
from tests.test_desk_pages import person_of, seed_members
from tests.test_telegram_adapter import WANG, seed_secretary
from tests.test_wechat import fake_wx, wechat_settings

if TYPE_CHECKING:
    from playwright.async_api import Browser

__all__ = ["browser", "core", "fake_tg", "fake_wx", "port", "service"]  # fixtures by name

OPENID = "oWx_zhao_ming_2026"


def init_data(core: Core, *, token: str = TOKEN, age: float = 5) -> str:
    """What Telegram hands the Mini App for WANG, signed with `token`, `age` seconds old."""
    user = {"id": WANG.id, "first_name": WANG.first_name, "username": WANG.username,
            "language_code": "zh-hans"}
    return sign_init_data(token, {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(int(core.clock().timestamp() - age))})


async def test_the_mini_app_signs_in_with_initdata_signed_by_the_bot_token(
        service: object, core: Core, browser: Browser, port: int) -> None:
    seed_secretary(core)
    page = await phone(browser)
    await page.goto(f"http://127.0.0.1:{port}/desk/tg#tgWebAppData={quote(init_data(core))}")
    await page.wait_for_url("**/desk")
    assert await page.locator("h1").inner_text() == "你好，王书记"
    assert "书记" in await page.locator("header").inner_text()


@pytest.mark.parametrize(("forgery", "says"), [
    ({"token": "123456:another-bot-s-token"}, "登录状态无效"),
    ({"age": 2 * 3600}, "这次打开已过期"),
])
async def test_a_forged_or_stale_initdata_is_refused(
        service: object, core: Core, browser: Browser, port: int,
        forgery: dict[str, object], says: str) -> None:
    seed_secretary(core)
    page = await phone(browser)
    data = init_data(core, **forgery)  # type: ignore[arg-type]
    await page.goto(f"http://127.0.0.1:{port}/desk/tg#tgWebAppData={quote(data)}")
    await page.locator("#reason").wait_for()
    assert says in await page.locator("#reason").inner_text()
    assert [c for c in await page.context.cookies() if c["name"] == "jinlin_desk"] == []


async def test_a_tampered_user_in_initdata_is_refused(service: object, core: Core,
                                                      browser: Browser, port: int) -> None:
    seed_secretary(core)
    page = await phone(browser)
    data = init_data(core).replace(str(WANG.id), "5100000099")
    await page.goto(f"http://127.0.0.1:{port}/desk/tg#tgWebAppData={quote(data)}")
    await page.locator("#reason").wait_for()
    assert "登录状态无效" in await page.locator("#reason").inner_text()


# ---------------------------------------------------------------- WeChat


@pytest.fixture
async def wechat_desk(fake_wx: FakeWechat, core: Core, port: int) -> AsyncIterator[str]:
    """The desk of a WeChat-only deployment on loopback; yields its address."""
    settings = wechat_settings(fake_wx, JINLIN_WEB_PORT=port,
                               WECHAT_OAUTH_BASE_URL=fake_wx.oauth_url)
    desk = Desk(core, settings, Registry().deliver)
    server = Server(server_config(create_web_app(desk.routes()), settings))
    task = asyncio.create_task(server.serve())
    await asyncio.wait_for(server.listening.wait(), 5)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 10)


def seed_wechat_member(core: Core, branch_id: int, activity_id: int) -> None:
    """赵明 follows the Official Account, is a verified member and signed up."""
    secretary = person_of(core, WANG)
    with core.db.session() as session:
        account, _ = people.ensure_account(session, SenderInfo(
            "wechat", OPENID, "赵明", None, None), core.clock())
        profile, _ = people.save_profile(session, account.person_id, branch_id, {
            "name": "赵明", "building": "7号楼", "kind": "employed", "registered_here": True},
            core.clock())
        people.decide_profile(session, profile.id, "verified", secretary, core.clock())
        item = activities.locked(session, activity_id)
        assert item is not None
        activities.join(session, item, account.person_id, core.clock())


async def test_wechat_oauth_opens_the_desk_as_the_follower(
        wechat_desk: str, fake_wx: FakeWechat, core: Core, browser: Browser) -> None:
    branch_id = seed_secretary(core)
    seed_members(core, branch_id)
    fake_wx.oauth_openid = OPENID
    page = await phone(browser)
    await page.goto(f"{wechat_desk}/desk/wx?next=/desk/activities")
    await page.wait_for_url("**/desk/activities*")  # WeChat's #wechat_redirect stays on
    assert "活动" in await page.locator("h1").inner_text()
    (asked,) = fake_wx.calls_to("oauth2/authorize")
    assert asked.query["scope"] == "snsapi_base"
    (exchanged,) = fake_wx.calls_to("sns/oauth2/access_token")
    assert exchanged.query["code"].startswith("CODE")
    with core.db.session() as session:
        assert people.find_account(session, "wechat", OPENID) is not None


async def test_a_code_for_another_browser_is_refused(
        wechat_desk: str, fake_wx: FakeWechat, core: Core, browser: Browser) -> None:
    fake_wx.oauth_openid = OPENID
    page = await phone(browser)
    opened = await page.goto(f"{wechat_desk}/desk/wx?code=CODE1&state=0123456789abcdef")
    assert opened is not None
    assert opened.status == 403
    assert fake_wx.calls_to("sns/oauth2/access_token") == []


async def test_a_url_qr_code_signs_in_a_wechat_member_once(
        wechat_desk: str, fake_wx: FakeWechat, core: Core, clock: Clock,
        browser: Browser) -> None:
    branch_id = seed_secretary(core)
    starts = core.clock() + dt.timedelta(minutes=10)
    secretary = person_of(core, WANG)
    with core.db.session() as session:
        activity_id = activities.create(
            session, branch_id=branch_id, title="楼道清扫", starts_at=starts,
            ends_at=starts + dt.timedelta(hours=2), place="3号楼", capacity=10, points=5,
            created_by=secretary, created_at=core.clock()).id
    seed_wechat_member(core, branch_id, activity_id)
    fake_wx.oauth_openid = OPENID
    payload = qrcodes.make(core.rules.secret, activity_id, "i")

    page = await phone(browser)
    await page.goto(f"{wechat_desk}/desk/ci/{payload}")
    await page.wait_for_url(f"**/desk/ci/{payload}*")
    assert "「楼道清扫」签到成功" in await page.locator("main").inner_text()

    clock.advance(minutes=1)
    await page.reload()
    text = await page.locator("main").inner_text()
    assert "签到成功" not in text
    assert "签到「楼道清扫」" in text
    assert text.count("你已于") == 1
