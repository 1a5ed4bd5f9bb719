"""The outbox sender: drains pending notices to Telegram within the platform's limits.

Rows are claimed a batch at a time and sent concurrently through python-telegram-bot, whose
AIORateLimiter keeps to about 30 messages a second overall and 20 a minute per group and
retries after a 429's `retry_after`. Each result is recorded as soon as it is known, so a
restart resends only what was never confirmed. Several processes on PostgreSQL may run
a sender each: claims skip the rows another sender holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from telegram import Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.telegram import PLATFORM, deliver, send_one
from handlers.core import Core
from handlers.messages import Outgoing
from handlers.outbox import Result

log = logging.getLogger(__name__)

BATCH = 30
IDLE_SECONDS = 1.0
NETWORK_RETRY_SECONDS = 10.0
# A row claimed this long ago by a sender that never reported is taken to be orphaned.
LEASE = dt.timedelta(minutes=2)


class OutboxSender:
    """One sender loop for one Telegram Application."""

    def __init__(self, app: Application, core: Core, *, only_process: bool) -> None:
        self.app, self.core = app, core
        # With SQLite only one process runs, so whatever is "sending" at start was orphaned.
        self.only_process = only_process
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbox-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        """New rows were queued: look now rather than after the idle pause."""
        self._wake.set()

    async def run(self) -> None:
        """Drain forever; a failure in one round is logged and the next round goes on."""
        stale = dt.timedelta(0) if self.only_process else LEASE
        released = await asyncio.to_thread(self.core.outbox_release, stale)
        if released:
            log.info("resending %d notices claimed before a restart", released)
        while True:
            try:
                sent = await self.drain_once()
            except Exception:
                log.exception("outbox round failed")
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_SECONDS)
                self._wake.clear()

    async def drain_once(self) -> int:
        """Claim one batch, send it, record every result; returns the batch size."""
        batch = await asyncio.to_thread(self.core.outbox_claim, PLATFORM, BATCH)
        if not batch:
            return 0
        await asyncio.gather(*(self._send(item.delivery_id, item.message) for item in batch))
        run_ids = sorted({item.run_id for item in batch})
        edits = await asyncio.to_thread(self.core.outbox_progress, run_ids)
        await deliver(self.app, edits, core=self.core)
        return len(batch)

    async def _send(self, delivery_id: int, out: Outgoing) -> None:
        result = await self._attempt(delivery_id, out)
        follow_up = await asyncio.to_thread(self.core.outbox_report, result)
        await deliver(self.app, follow_up, core=self.core)

    async def _attempt(self, delivery_id: int, out: Outgoing) -> Result:
        """Send one message and say what became of it."""
        try:
            sent = await send_one(self.app, out)
        except RetryAfter as error:
            return Result(delivery_id, retry_after=_seconds(error.retry_after),
                          error="rate limited")
        except Forbidden as error:
            return Result(delivery_id, error=f"forbidden: {error.message}")
        except BadRequest as error:
            return Result(delivery_id, error=f"bad request: {error.message}")
        except (NetworkError, TimeoutError) as error:
            return Result(delivery_id, retry_after=NETWORK_RETRY_SECONDS, error=str(error))
        except TelegramError as error:
            return Result(delivery_id, error=str(error))
        message_id = str(sent.message_id) if isinstance(sent, Message) else ""
        return Result(delivery_id, message_id=message_id)


def _seconds(value: object) -> float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]
