"""The Bot API transport (aiohttp) under python-telegram-bot, against the fake Bot API."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.telegram_http import AiohttpRequest
from tests.fake_telegram import TOKEN, FakeTelegram, TgUser, private_chat
from tests.telegram_fixtures import fake_tg

__all__ = ["fake_tg"]

MEMBER = TgUser(7_100_000_001, "李四")


def bot_for(fake: FakeTelegram, request: AiohttpRequest) -> Bot:
    return Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url,
               request=request)


async def test_a_message_reaches_the_chat_with_its_chinese_text(fake_tg: FakeTelegram) -> None:
    fake_tg.add_chat(private_chat(MEMBER))
    async with bot_for(fake_tg, AiohttpRequest()) as bot:
        sent = await bot.send_message(MEMBER.id, "签到成功，本月第 5 次")
    assert fake_tg.sent_texts(MEMBER.id) == ["签到成功，本月第 5 次"]
    assert sent.text == "签到成功，本月第 5 次"


async def test_a_bot_api_that_does_not_answer_times_out(fake_tg: FakeTelegram) -> None:
    fake_tg.add_chat(private_chat(MEMBER))
    fake_tg.hold("sendMessage")
    try:
        async with bot_for(fake_tg, AiohttpRequest(read_timeout=0.3)) as bot:
            with pytest.raises(TimedOut):
                await bot.send_message(MEMBER.id, "你好")
    finally:
        fake_tg.release("sendMessage", drop=True)
    assert fake_tg.sent_texts(MEMBER.id) == []


async def test_a_bot_api_that_is_gone_is_a_network_error(fake_tg: FakeTelegram) -> None:
    fake_tg.add_chat(private_chat(MEMBER))
    async with bot_for(fake_tg, AiohttpRequest()) as bot:
        fake_tg.stop()
        with pytest.raises(NetworkError):
            await bot.send_message(MEMBER.id, "你好")
