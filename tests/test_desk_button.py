"""工作台 in a Telegram private chat: on a public https address the button opens the desk as a
Mini App (Telegram signs the person in); below https there is no button at all, since Telegram
would refuse it and drop the whole message, and the link is in the text."""

from __future__ import annotations

import pytest

from handlers.core import Core
from storage.db import Database
from tests.conftest import TEST_RULES, Clock
from tests.fake_telegram import FakeTelegram, private_chat
from tests.telegram_fixtures import Dialog, dialog, fake_tg, polling_bot
from tests.test_telegram_adapter import WANG

__all__ = ["dialog", "fake_tg", "polling_bot"]  # fixtures by name

PUBLIC = "https://jinlin.example.org"


@pytest.fixture(params=[PUBLIC, "http://127.0.0.1:8080"])
def core(request: pytest.FixtureRequest, db: Database, clock: Clock) -> Core:
    rules = TEST_RULES.model_copy(update={"public_url": request.param})
    return Core(db, rules=rules, clock=clock)


async def test_the_desk_opens_as_a_mini_app_only_on_a_public_https_address(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core) -> None:
    (answer,) = await dialog.say(WANG, private_chat(WANG), "工作台")
    text = str(answer.params["text"])
    assert f"{core.rules.public_url}/desk/login?t=" in text
    if core.rules.public_url == PUBLIC:
        assert answer.params["reply_markup"]["inline_keyboard"] == [
            [{"text": "打开工作台", "web_app": {"url": f"{PUBLIC}/desk/tg"}}]]
    else:
        assert "reply_markup" not in answer.params
