"""Fixtures for the web desk's browser tests: the polling service with the desk on a known
loopback port, Debian's Chromium at a phone's size, and the link the bot sends for 工作台.

Test modules import the fixtures they use by name.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from bot.services import PollingService
from handlers.core import Core
from storage.db import Database
from tests.browser import browser, needs_chromium
from tests.conftest import TEST_RULES, Clock
from tests.fake_telegram import FakeTelegram, TgUser, private_chat
from tests.loopback import free_port
from tests.telegram_fixtures import Dialog, Handled, settings_for

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

needs_chromium("the desk")

__all__ = ["browser"]  # a fixture, used by name in the desk tests

PHONE = {"width": 390, "height": 844}
LINK = re.compile(r"https?://\S+/desk/login\?t=\S+")


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def core(db: Database, clock: Clock, port: int) -> Core:
    """The core whose links point at the desk's own loopback port."""
    rules = TEST_RULES.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    return Core(db, rules=rules, clock=clock)


@pytest.fixture
async def service(fake_tg: FakeTelegram, core: Core, port: int
                  ) -> AsyncIterator[PollingService]:
    """Polling the fake Bot API and serving the desk on `port`."""
    running = PollingService(settings_for(fake_tg, JINLIN_WEB_PORT=port), core,
                             poll_timeout=0.2)
    running.telegram_app.bot_data["handled"] = Handled(running.telegram_app)
    task = asyncio.create_task(running.run())
    await asyncio.wait_for(running.server.listening.wait(), 10)
    try:
        yield running
    finally:
        running.stop()
        await asyncio.wait_for(task, 10)


@pytest.fixture
def dialog(fake_tg: FakeTelegram, service: PollingService) -> Dialog:
    return Dialog(fake_tg, service.telegram_app)


async def phone(browser: Browser, lang: str = "zh-CN") -> Page:
    """A fresh phone-sized page with its own cookies."""
    context = await browser.new_context(viewport=PHONE, locale=lang)
    return await context.new_page()


async def desk_link(dialog: Dialog, user: TgUser) -> str:
    """What `user` gets for 工作台 in the private chat: the one link in the answer."""
    (answer,) = await dialog.say(user, private_chat(user), "工作台")
    found = LINK.findall(answer.params["text"])
    assert len(found) == 1, answer.params["text"]
    return str(found[0])


async def serious_problems(page: Page) -> list[tuple[str, str, list[str]]]:
    """axe-core's serious and critical findings on the page: rule, impact, first elements."""
    axe_api = pytest.importorskip("axe_playwright_python.async_playwright",
                                  reason="axe-playwright-python is not installed: "
                                         "pip install -e '.[test]'")
    found = await axe_api.Axe().run(page)
    return [(v["id"], v["impact"], [n["html"][:80] for n in v["nodes"]][:3])
            for v in found.response["violations"] if v["impact"] in ("serious", "critical")]


async def no_horizontal_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide on a 390 px phone"
