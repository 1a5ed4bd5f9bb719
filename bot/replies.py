"""The reply sender: answers kept in the reply outbox that their own process did not send.

On PostgreSQL a worker keeps an update's answers in the reply outbox (handlers/replies.py), in
the transaction that records the update as handled, claimed by itself; it sends them at once
and deletes each row once Telegram has it (bot/telegram.py `deliver`). When a worker dies
before that, its rows are put back by a survivor as soon as its sender lock is seen free
(bot/background.py), and this loop — running in every process — claims them (FOR UPDATE SKIP
LOCKED: each goes to one sender) and sends them, each chat's in order. Rows a send could not
deliver for now (a 429 beyond the retries, the network) come back here after their pause.

The one window left: a message Telegram accepted just before its process died, whose row was
not deleted yet, is sent again (the Bot API has no idempotency key), as with the notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram.ext import Application

from bot.drain import drain_forever
from bot.telegram import PLATFORM, deliver
from handlers.core import Core
from handlers.messages import Outgoing

log = logging.getLogger(__name__)

BATCH = 50
IDLE_SECONDS = 1.0


class ReplySender:
    """Sends the kept replies of processes that are gone, and those waiting to be retried."""

    def __init__(self, app: Application, core: Core, claimed_by: int | None) -> None:
        self.app, self.core = app, core
        self.claimed_by = claimed_by
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(
            drain_forever(self.drain_once, self._wake, IDLE_SECONDS, "reply"),
            name="reply-sender")

    def wake(self) -> None:
        """Rows came back to the outbox: look now rather than after the idle pause."""
        self._wake.set()

    async def drain_once(self) -> int:
        """Claim a batch and send it, chats side by side, each chat's in order."""
        kept = await asyncio.to_thread(self.core.replies_claim, PLATFORM, BATCH,
                                       self.claimed_by)
        by_chat: dict[str, list[Outgoing]] = {}
        for out in kept:
            by_chat.setdefault(out.chat_id, []).append(out)
        if kept:
            log.info("sending %d kept replies to %d chats", len(kept), len(by_chat))
        await asyncio.gather(*(deliver(self.app, outs, core=self.core)
                               for outs in by_chat.values()))
        return len(kept)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
