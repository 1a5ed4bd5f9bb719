"""The timer loop in the bot runtime: due reminders go out once, through the adapter's send."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot import scheduler
from bot.console import ConsoleWorld
from handlers.messages import Outgoing
from tests.conftest import Clock
from tests.story import GROUP, publish, set_up_branch, verified_member


async def test_the_loop_sends_each_due_reminder_once(world: ConsoleWorld, clock: Clock) -> None:
    set_up_branch(world)
    verified_member(world, "张三")
    publish(world)
    world.press("张三", GROUP, "报名")
    clock.set(2026, 11, 27, 9, 5)  # past the 24-hour reminder
    sent: list[Outgoing] = []
    arrived = asyncio.Event()

    async def send(messages: list[Outgoing]) -> None:
        sent.extend(messages)
        arrived.set()

    loop = scheduler.start(world.core, send, world.core.rules.timezone, tick_seconds=1)
    try:
        async with asyncio.timeout(10):
            await arrived.wait()
        await asyncio.sleep(2.5)  # two more ticks: nothing is sent twice
    finally:
        loop.shutdown(wait=False)
    assert [m.chat_id for m in sent] == [world.private_id("张三")]
    assert "24 小时后开始" in sent[0].text
    assert world.core.next_timer() == dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)
