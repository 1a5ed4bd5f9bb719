"""The outbox sender through the real python-telegram-bot stack against the fake Bot API.

The secretary fills in the `/notice` form in Telegram; `OutboxSender` (the one `bot.background`
runs) drains the outbox through PTB's AIORateLimiter. Each group gets the notice once with
its 收到 button, 429s are waited out, a chat that kicked the bot is reported and skipped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import select
from telegram.ext import Application

from bot.cli import grant
from bot.outbox import OutboxSender
from handlers.core import Core
from storage import orgs
from storage.models import Delivery
from tests.conftest import Clock
from tests.fake_telegram import (
    KICKED,
    Call,
    FakeTelegram,
    Limits,
    TgUser,
    group_chat,
    private_chat,
)
from tests.telegram_fixtures import Dialog, dialog, fake_tg, polling_bot

__all__ = ["dialog", "fake_tg", "polling_bot"]  # fixtures used by name below

WANG = TgUser(5100000002, "王书记", username="wang_shuji", language_code="zh-hans")
ZHANG = TgUser(5203391870, "张建国", username="zhang_jianguo", language_code="zh-hans")
FIRST_GROUP = -1001000000001
TEXT = "周六上午九点清扫楼道，请各楼栋参加"
WAIT = 10.0


def groups(count: int) -> list[dict[str, Any]]:
    return [group_chat(FIRST_GROUP - i, f"{i + 1}号楼群") for i in range(count)]


def seed(core: Core, fake: FakeTelegram, chats: list[dict[str, Any]]) -> None:
    """A branch with these groups bound to it and 王书记 as its secretary."""
    with core.db.session() as session:
        community = orgs.create_community(session, "鹭江社区")
        branch = orgs.create_branch(session, community.id, "阳光小区党支部")
        for chat in chats:
            row = orgs.ensure_chat(session, "telegram", str(chat["id"]), "group", chat["title"])
            orgs.bind_chat(session, row, branch.id)
    grant(core.db, f"telegram:{WANG.id}", "secretary", branch=branch.name)
    for chat in chats:
        fake.add_chat(chat)


async def publish_now(dialog: Dialog, fake: FakeTelegram, text: str = TEXT) -> Call:
    """王书记 sends a notice to every group of the branch, now; returns the progress message."""
    chat = private_chat(WANG)
    await dialog.say(WANG, chat, "/notice")
    (ask_target,) = await dialog.say(WANG, chat, text)
    await dialog.press(WANG, ask_target, "form:notice_new:c:target:branch")
    await dialog.press(WANG, fake.calls_to("sendMessage")[-1], "form:notice_new:c:rule:now")
    before = len(fake.calls_to("sendMessage"))
    await dialog.press(WANG, fake.calls_to("sendMessage")[-1], "form:notice_new:ok")
    (progress,) = fake.calls_to("sendMessage")[before:]
    assert progress.params["text"].startswith("通知 #1：已发送 0/")
    return progress


@pytest.fixture
async def sender(polling_bot: Application, core: Core) -> AsyncIterator[OutboxSender]:
    """The outbox sender as `bot.background.Background` runs it (one process: SQLite)."""
    running = OutboxSender(polling_bot, core, only_process=True, progress_seconds=0.3)
    yield running
    await running.stop()


async def eventually(check: Callable[[], bool], within: float = WAIT) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {check}")
        await asyncio.sleep(0.02)


def to_secretary(fake: FakeTelegram) -> list[str]:
    return fake.sent_texts(WANG.id)


def rows(core: Core) -> dict[str, Delivery]:
    with core.db.session() as session:
        return {row.chat_external_id: row for row in session.scalars(select(Delivery))}


def summary_sent(fake: FakeTelegram) -> bool:
    return any(t.startswith("通知 #1 已") for t in to_secretary(fake))


async def test_every_group_gets_the_notice_once_with_progress_and_summary(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, sender: OutboxSender) -> None:
    chats = groups(40)  # more than one batch of 30
    seed(core, fake_tg, chats)
    progress = await publish_now(dialog, fake_tg)
    assert progress.params["text"] == "通知 #1：已发送 0/40"
    sender.start()
    await eventually(lambda: summary_sent(fake_tg))
    await asyncio.sleep(0.5)  # whatever the sender still does after the summary, let it

    ids = {int(c["id"]) for c in chats}
    delivered = fake_tg.delivered()
    assert {chat: delivered[chat] for chat in ids} == dict.fromkeys(ids, 1)
    for call in fake_tg.calls_to("sendMessage"):
        if call.chat_id in ids:
            assert call.params["text"] == f"【通知】{TEXT}"
            assert call.params["reply_markup"] == {
                "inline_keyboard": [[{"text": "收到", "callback_data": "ack:1"}]]}
    # The secretary's progress message was edited in place, batch by batch, to the end.
    progress_id = fake_tg.sent_message(progress)["message_id"]
    edits = [c.params["text"] for c in fake_tg.calls_to("editMessageText", failed_too=True)
             if int(c.params["message_id"]) == progress_id]
    counts = [int(text.removeprefix("通知 #1：已发送 ").removesuffix("/40")) for text in edits]
    assert counts[-1] == 40
    assert len(counts) >= 2  # at least once on the way (every 0.3 s here), then at the end
    assert counts == sorted(set(counts))  # rising, never the same text twice
    assert not [c for c in fake_tg.calls_to("editMessageText", failed_too=True) if not c.ok]
    assert to_secretary(fake_tg)[-1] == "通知 #1 已全部送达（40/40）。"
    stored = rows(core)
    assert {row.state for row in stored.values()} == {"sent"}
    sent_ids = {str(c.chat_id): str(fake_tg.sent_message(c)["message_id"])
                for c in fake_tg.calls_to("sendMessage") if c.chat_id in ids}
    assert {chat: row.message_id for chat, row in stored.items()} == sent_ids

    # The 收到 button works from the group it landed in.
    notice = next(c for c in fake_tg.calls_to("sendMessage") if c.chat_id == FIRST_GROUP)
    answered = await dialog.press(ZHANG, notice, "ack:1")
    assert answered.params["text"] == "已收到，谢谢！"


async def test_a_429_is_waited_out_and_the_message_arrives_once(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, sender: OutboxSender) -> None:
    chats = groups(5)
    seed(core, fake_tg, chats)
    await publish_now(dialog, fake_tg)
    fake_tg.fail_next("sendMessage", retry_after=1)
    sender.start()
    await eventually(lambda: summary_sent(fake_tg))

    (refused,) = [c for c in fake_tg.calls_to("sendMessage", failed_too=True) if not c.ok]
    assert refused.code == 429
    (accepted,) = [c for c in fake_tg.calls_to("sendMessage") if c.chat_id == refused.chat_id]
    assert accepted.at - refused.at >= 1.0  # retry_after honoured
    delivered = fake_tg.delivered()
    assert [delivered[int(c["id"])] for c in chats] == [1] * 5
    assert to_secretary(fake_tg)[-1] == "通知 #1 已全部送达（5/5）。"
    assert rows(core)[str(refused.chat_id)].attempts == 1  # PTB's limiter retried it


async def test_429s_beyond_the_limiter_retries_go_back_to_the_outbox(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, sender: OutboxSender,
        clock: Clock) -> None:
    """PTB retries twice (TELEGRAM_MAX_RETRIES=2 in the tests); a third 429 reaches the sender,
    which puts the row back with not_before = now + retry_after."""
    chats = groups(3)
    seed(core, fake_tg, chats)
    await publish_now(dialog, fake_tg)
    fake_tg.fail_next("sendMessage", retry_after=1, times=3, chat_id=FIRST_GROUP)
    sender.start()
    first = str(FIRST_GROUP)
    await eventually(lambda: rows(core)[first].error == "rate limited")
    row = rows(core)[first]
    assert (row.state, row.attempts) == ("pending", 1)
    await asyncio.sleep(1.5)
    assert rows(core)[first].state == "pending"  # not before its time (the clock stands still)
    clock.advance(seconds=2)
    await eventually(lambda: summary_sent(fake_tg))

    assert [c.code for c in fake_tg.calls_to("sendMessage", failed_too=True)
            if c.chat_id == FIRST_GROUP] == [429, 429, 429, 200]
    delivered = fake_tg.delivered()
    assert [delivered[int(c["id"])] for c in chats] == [1, 1, 1]
    row = rows(core)[first]
    assert (row.state, row.attempts) == ("sent", 2)


async def test_a_chat_that_kicked_the_bot_fails_and_the_rest_are_delivered(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, sender: OutboxSender) -> None:
    chats = groups(6)
    seed(core, fake_tg, chats)
    kicked = chats[2]
    fake_tg.kick(int(kicked["id"]))
    await publish_now(dialog, fake_tg)
    sender.start()
    await eventually(lambda: summary_sent(fake_tg))

    delivered = fake_tg.delivered()
    assert {int(c["id"]): delivered[int(c["id"])] for c in chats} == {
        int(c["id"]): 0 if c is kicked else 1 for c in chats}
    row = rows(core)[str(kicked["id"])]
    assert row.state == "failed"
    assert "bot was kicked from the group chat" in row.error
    assert row.attempts == 1  # a permanent error is not retried
    summary = to_secretary(fake_tg)[-1]
    assert summary.startswith("通知 #1 已送达 5/6，以下群没有送达：3号楼群（")
    assert KICKED.removeprefix("Forbidden: ") in summary
    assert {r.state for chat, r in rows(core).items() if chat != str(kicked["id"])} == {"sent"}


async def test_a_broadcast_keeps_within_telegrams_limits(
        dialog: Dialog, fake_tg: FakeTelegram, core: Core, sender: OutboxSender) -> None:
    """The fake now answers 429 beyond 30 messages in any second (and 20 a minute per group).
    The bot's limiter spaces the messages evenly, so none is refused: a limiter that lets a
    second's worth out at once (PTB's AIORateLimiter starts so) would be answered 429."""
    chats = groups(45)
    seed(core, fake_tg, chats)
    await publish_now(dialog, fake_tg)
    fake_tg.limits = Limits()
    started = time.monotonic()
    sender.start()
    await eventually(lambda: summary_sent(fake_tg))

    assert fake_tg.limited == 0
    delivered = fake_tg.delivered()
    assert [delivered[int(c["id"])] for c in chats] == [1] * 45
    assert time.monotonic() - started >= 44 / 30  # evenly spaced: no burst
