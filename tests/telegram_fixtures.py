"""Pytest fixtures for Telegram adapter tests: the fake Bot API and a running bot.

Test modules import the fixtures they use; `core` comes from tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr
from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.settings import Settings
from bot.telegram import ALLOWED_UPDATES, build_application
from handlers.core import Core
from tests.fake_telegram import TOKEN, WAIT_SECONDS, Call, FakeTelegram, TgUser


@pytest.fixture
def fake_tg() -> Iterator[FakeTelegram]:
    """A fake Bot API server on a free loopback port, for one test."""
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()


def settings_for(fake: FakeTelegram, **overrides: object) -> Settings:
    """Settings pointing the bot at the fake server, every Telegram setting pinned."""
    # Pinned so that a developer's environment or .env cannot change what a test runs.
    values: dict[str, object] = {
        "TELEGRAM_BOT_TOKEN": SecretStr(TOKEN), "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_API_BASE_FILE_URL": fake.base_file_url, "TELEGRAM_MAX_RETRIES": 2,
        "TELEGRAM_MODE": "polling", "TELEGRAM_WEBHOOK_URL": None,
        "TELEGRAM_WEBHOOK_SECRET": None, "JINLIN_WEB_HOST": "127.0.0.1", **overrides}
    return Settings.model_validate(values)


class Handled:
    """Update ids the Application has finished with, recorded by a last handler group."""

    def __init__(self, app: Application) -> None:
        self.ids: set[int] = set()
        self._changed = asyncio.Condition()
        # Group 1 runs after the adapter's handlers (group 0) have sent their answers.
        app.add_handler(TypeHandler(Update, self._record), group=1)

    async def _record(self, update: Update, _context: object) -> None:
        async with self._changed:
            self.ids.add(update.update_id)
            self._changed.notify_all()

    async def wait(self, update_id: int) -> None:
        """Return once update `update_id` was handled; fail the test after WAIT_SECONDS."""
        async with asyncio.timeout(WAIT_SECONDS), self._changed:
            await self._changed.wait_for(lambda: update_id in self.ids)


@pytest.fixture
async def polling_bot(fake_tg: FakeTelegram, core: Core) -> AsyncIterator[Application]:
    """The real Application, long-polling the fake server, as run_polling would start it."""
    app = build_application(settings_for(fake_tg), core)
    app.bot_data["handled"] = Handled(app)
    async with app:
        assert app.post_init is not None
        assert app.updater is not None
        await app.post_init(app)  # run_polling does this; initialize() does not
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=dt.timedelta(seconds=0.2),
                                        allowed_updates=ALLOWED_UPDATES)
        yield app
        await app.updater.stop()
        await app.stop()


class Dialog:
    """Says things to the running bot through the fake server and collects its answers."""

    def __init__(self, fake: FakeTelegram, app: Application) -> None:
        self.fake = fake
        self.handled: Handled = app.bot_data["handled"]

    async def say(self, user: TgUser, chat: dict[str, object], text: str) -> list[Call]:
        """Send `text`; once the bot has handled it, return the messages it sent meanwhile."""
        before = len(self.fake.calls_to("sendMessage"))
        update = self.fake.send_text(user, chat, text)
        await self.handled.wait(update["update_id"])
        return self.fake.calls_to("sendMessage")[before:]

    async def press(self, user: TgUser, message: Call, data: str) -> Call:
        """Press a button of the bot's `message`; return the answerCallbackQuery call."""
        before = len(self.fake.calls_to("answerCallbackQuery"))
        update = self.fake.press(user, self.fake.sent_message(message), data)
        await self.handled.wait(update["update_id"])
        (answered,) = self.fake.calls_to("answerCallbackQuery")[before:]
        return answered


@pytest.fixture
def dialog(fake_tg: FakeTelegram, polling_bot: Application) -> Dialog:
    """A `Dialog` with the polling bot."""
    return Dialog(fake_tg, polling_bot)
