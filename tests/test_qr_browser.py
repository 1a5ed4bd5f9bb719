"""The rotating sign-in page in a real headless Chromium: the code on screen changes by itself,
the one it replaced still signs in, one two periods old is refused, a wrong key gets 403.

The page is served by the polling service (`python -m bot` with TELEGRAM_MODE=polling) on
loopback, and every scan goes through the real Telegram adapter against the fake Bot API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from bot.qrpage import load_texts
from bot.services import PollingService
from handlers import qrcodes
from handlers.core import Core
from handlers.rules import Rules
from storage.db import Database
from tests.browser import browser, needs_chromium
from tests.fake_telegram import FakeTelegram
from tests.telegram_fixtures import Dialog, fake_tg
from tests.test_qr_codes import (
    LI,
    SECRET,
    TITLE,
    ZHANG,
    payload_in,
    polling_service,
    scan,
    seed_activity,
    seed_member,
    zh,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

needs_chromium("the display page")

__all__ = ["browser", "fake_tg"]  # fixtures used by name below

PERIOD = 2
WORDS = load_texts()["zh_CN"]


class LiveClock:
    """Real time, which a test may hold still for a moment to make one decision exact."""

    def __init__(self) -> None:
        self.held: dt.datetime | None = None

    def __call__(self) -> dt.datetime:
        return self.held or dt.datetime.now(dt.UTC)

    def hold(self) -> dt.datetime:
        self.held = dt.datetime.now(dt.UTC)
        return self.held

    def release(self) -> None:
        self.held = None


@pytest.fixture
def live() -> LiveClock:
    return LiveClock()


@pytest.fixture
def core(db: Database, live: LiveClock) -> Core:
    """The core on real time with codes rotating every PERIOD seconds (the page shares both);
    PERIOD is below what a deployment may set, to keep the test short."""
    rules = Rules(secret=SECRET).model_copy(update={"qr_period_seconds": PERIOD})
    return Core(db, rules=rules, clock=live)


@pytest.fixture
async def service(fake_tg: FakeTelegram, core: Core) -> AsyncIterator[PollingService]:
    """Polling the fake Bot API and serving the web pages on a free loopback port."""
    async with polling_service(fake_tg, core) as running:
        yield running


async def shown(page: Page) -> str:
    """The payload of the code on screen, read from a screenshot by a real decoder."""
    return payload_in(await page.locator("#code").screenshot())


async def next_code(page: Page, after: str) -> str:
    """Wait, without touching the page, until it shows a code other than `after`."""
    deadline = time.monotonic() + 2 * PERIOD + 2
    while time.monotonic() < deadline:
        current = await shown(page)
        if current != after:
            return current
        await asyncio.sleep(0.1)
    raise AssertionError(f"the page still shows {after} after {2 * PERIOD + 2} s")


def page_url(service: PollingService, activity_id: int, key: str) -> str:
    port = service.server.config.port
    return f"http://127.0.0.1:{port}/qr/{activity_id}?key={key}&d=i"


def checked(payload: str) -> qrcodes.Code:
    """The code a payload shown on the page carries, checked as a scan would be."""
    return qrcodes.verify(SECRET, qrcodes.SignInCode.unpack(payload))


def hhmm(moment: dt.datetime) -> str:
    return f"{moment.astimezone(Rules().timezone):%H:%M}"


async def test_rotating_page_in_chromium(service: PollingService, browser: Browser,
                                         fake_tg: FakeTelegram, core: Core,
                                         live: LiveClock) -> None:
    seeded = seed_activity(core, live() - dt.timedelta(minutes=5))
    for member in (ZHANG, LI):
        seed_member(core, member, seeded)
    dialog = Dialog(fake_tg, service.telegram_app)
    key = qrcodes.display_key(SECRET, seeded.activity_id, live() + dt.timedelta(hours=1))
    page = await browser.new_page(locale="zh-CN")
    opened = await page.goto(page_url(service, seeded.activity_id, key))
    assert opened is not None
    assert opened.status == 200
    assert await page.title() == WORDS("title_i")
    countdown = re.escape(WORDS.template("countdown")).replace(re.escape("{seconds}"), r"[0-9]+")
    assert re.fullmatch(countdown, await page.locator("#countdown").inner_text())
    await page.evaluate("window.notReloaded = true")

    first = await shown(page)
    assert checked(first).activity_id == seeded.activity_id
    second = await next_code(page, first)
    held = live.hold()
    assert await page.evaluate("window.notReloaded") is True
    assert checked(second).slot == checked(first).slot + 1
    assert await scan(dialog, ZHANG, first) == zh(core, "scan.signed_in", title=TITLE,
                                                  time=hhmm(held), count=5)

    live.release()
    third = await next_code(page, second)
    live.hold()
    assert await scan(dialog, LI, first) == zh(core, "error.code_expired")
    assert TITLE in await scan(dialog, LI, third)


async def test_wrong_key_gets_the_403_page(service: PollingService, browser: Browser,
                                           live: LiveClock) -> None:
    other = qrcodes.display_key(SECRET, 2, live() + dt.timedelta(hours=1))
    page = await browser.new_page(locale="zh-CN")
    refused = await page.goto(page_url(service, 1, other))
    assert refused is not None
    assert refused.status == 403
    assert WORDS("forbidden") in await page.locator("body").inner_text()
