"""A tap storm on an activity card in a Telegram group, against a fake Bot API that keeps
Telegram's flood limits (30 messages a second, 20 a minute per group, 429 beyond them).

Everyone who taps 报名 sees their own confirmation at once; the card follows with a few edits
carrying the latest count, never so many that Telegram would refuse one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from telegram.ext import Application

from bot.cli import grant
from bot.telegram import ALLOWED_UPDATES, build_application
from handlers.core import Core
from storage import orgs
from tests.fake_telegram import Call, FakeTelegram, Limits, TgUser, group_chat, private_chat
from tests.telegram_fixtures import Dialog, Handled, settings_for

GROUP_ID = -1001234567890
GROUP = group_chat(GROUP_ID, "阳光小区群")
BRANCH = "阳光小区党支部"
SECRETARY = TgUser(5100000002, "王书记", username="wang_shuji")
CAPACITY = 200


@pytest.fixture
def fake_limited() -> Iterator[FakeTelegram]:
    """The fake Bot API answering 429 beyond Telegram's flood limits."""
    server = FakeTelegram(limits=Limits())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def bot(fake_limited: FakeTelegram, core: Core) -> AsyncIterator[Application]:
    """The real Application long-polling the limited fake, as the bot runs."""
    app = build_application(settings_for(fake_limited), core)
    app.bot_data["handled"] = Handled(app)
    async with app:
        assert app.updater is not None
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=dt.timedelta(seconds=0.2),
                                        allowed_updates=ALLOWED_UPDATES)
        yield app
        await app.updater.stop()
        await app.stop()


def button_data(call: Call, label: str) -> str:
    """The data of the button labelled `label` on the message a call sent or edited."""
    markup: dict[str, Any] = call.params.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if button["text"] == label:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} on {call.params.get('text')!r}")


async def publish_in_telegram(fake: FakeTelegram, app: Application, core: Core) -> Call:
    """The secretary of the group's branch publishes an activity through the private form;
    returns the card the group got."""
    with core.db.session() as session:
        community = orgs.create_community(session, "鹭江社区")
        branch = orgs.create_branch(session, community.id, BRANCH)
        orgs.bind_chat(session, orgs.ensure_chat(session, "telegram", str(GROUP_ID), "group",
                                                 "阳光小区群"), branch.id)
    grant(core.db, f"telegram:{SECRETARY.id}", "secretary", branch=BRANCH)
    talk = Dialog(fake, app)
    mine = private_chat(SECRETARY)
    await talk.say(SECRETARY, mine, "/start")
    await talk.say(SECRETARY, GROUP, "活动 new")
    for answer in ("清扫楼道", "11-28 9:00", "11:00", "3号楼大堂", str(CAPACITY), "5"):
        await talk.say(SECRETARY, mine, answer)
    for label in ("无", "发布"):
        asked = [c for c in fake.calls if c.ok and c.chat_id == SECRETARY.id
                 and c.method in ("sendMessage", "editMessageText")][-1]
        await talk.press(SECRETARY, asked, button_data(asked, label))
    (card,) = [c for c in fake.calls_to("sendMessage") if c.chat_id == GROUP_ID
               and "【志愿活动】清扫楼道" in c.params["text"]]
    return card


async def card_showing(fake: FakeTelegram, text: str, within: float) -> list[Call]:
    """Wait until the group's card was edited to show `text`; the card's edits so far."""
    deadline = time.monotonic() + within
    while True:
        edits = [c for c in fake.calls_to("editMessageText") if c.chat_id == GROUP_ID]
        if edits and text in edits[-1].params["text"]:
            return edits
        assert time.monotonic() < deadline, f"the card never showed {text!r}: {edits[-1:]}"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("taps", [30, 100])
async def test_everyone_tapping_sign_up_within_a_second_is_answered_at_once(
        fake_limited: FakeTelegram, bot: Application, core: Core, taps: int) -> None:
    fake = fake_limited
    card = await publish_in_telegram(fake, bot, core)
    assert "报名 0/200" in card.params["text"]
    signup = button_data(card, "报名")
    neighbours = [TgUser(6_000_000 + n, f"邻居{n}") for n in range(taps)]
    sent_before = len(fake.calls_to("sendMessage"))
    answered_before = len(fake.calls_to("answerCallbackQuery"))

    tapped_at: dict[str, float] = {}
    started = time.monotonic()
    for n, person in enumerate(neighbours):  # evenly spread over one second
        await asyncio.sleep(max(0.0, started + n / taps - time.monotonic()))
        update = fake.press(person, fake.sent_message(card), signup)
        tapped_at[update["callback_query"]["id"]] = time.monotonic()

    answers = (await fake.wait_for("answerCallbackQuery", answered_before + taps))[
        answered_before:]
    assert {a.params["callback_query_id"] for a in answers} == set(tapped_at)
    for answer in answers:
        waited = answer.at - tapped_at[answer.params["callback_query_id"]]
        assert waited < 1.0, f"a tap waited {waited:.2f} s for its answer"
        assert answer.params["text"] == "报名成功：「清扫楼道」。"

    edits = await card_showing(fake, f"报名 {taps}/200", within=10)
    assert all(int(e.params["message_id"]) == card.params["__result__"]["message_id"]
               for e in edits)
    counts = [int(re.search(r"报名 (\d+)/200", e.params["text"]).group(1))  # type: ignore[union-attr]
              for e in edits]
    assert counts == sorted(counts), "the card never goes back to an older count"
    # One edit straight away, then one every ~3 s with whatever the count is by then.
    assert len(edits) <= 4
    assert fake.limited == 0
    assert not [c for c in fake.calls if c.code == 429]
    # The pop-up was the confirmation: nothing else was written to anyone.
    assert fake.calls_to("sendMessage")[sent_before:] == []
