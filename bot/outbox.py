"""The outbox sender: drains pending notices to Telegram within the platform's limits.

Rows are claimed a batch at a time and handed to python-telegram-bot, whose rate limiter
(bot/ratelimit.py) keeps to about 30 messages a second overall and 20 a minute per group and
retries after a 429's `retry_after`. Batches overlap: the next one is claimed as soon as
there is room for it (at most IN_FLIGHT rows claimed and not yet recorded), so the limiter
never waits for the database or for the slowest answer of a batch.

Each result is recorded as soon as it is known: results that arrive while the previous ones
are being written go into the next transaction together, so recording keeps up with hundreds
of messages a second and nothing else stands between Telegram's answer and the row marked
sent. A process killed mid-broadcast therefore resends only what Telegram had not answered —
except a message Telegram accepted in the last instant, whose answer was not recorded yet:
the Bot API has no idempotency key, so that one goes out twice. On a clean stop the sender
lets the sends under way finish and records them first.

The secretary's progress message is edited at most every PROGRESS_SECONDS. Several processes
on PostgreSQL may run a sender each: claims skip the rows another sender holds, and rows a
dead sender held return to the outbox after LEASE.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time

from telegram import Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.drain import drain_forever
from bot.ratelimit import retry_seconds
from bot.telegram import PLATFORM, deliver, send_one
from handlers.core import Core
from handlers.messages import Outgoing
from handlers.outbox import Claimed, Result

log = logging.getLogger(__name__)

BATCH = 30
# Rows claimed and not yet recorded: two batches keep the rate limiter busy while the next
# claim is made, yet a dead process leaves few rows to release.
IN_FLIGHT = 2 * BATCH
IDLE_SECONDS = 1.0
NETWORK_RETRY_SECONDS = 10.0
PROGRESS_SECONDS = 2.0
STOP_SECONDS = 5.0
# A row claimed this long ago by a sender that never reported is taken to be orphaned.
LEASE = dt.timedelta(minutes=2)


class OutboxSender:
    """One sender loop for one Telegram Application."""

    def __init__(self, app: Application, core: Core, *, only_process: bool,
                 progress_seconds: float = PROGRESS_SECONDS,
                 claimed_by: int | None = None) -> None:
        self.app, self.core = app, core
        # This process's sender id (bot/singleton.py), written on the rows it claims.
        self.claimed_by = claimed_by
        # With SQLite only one process runs, so whatever is "sending" at start was orphaned.
        self.only_process = only_process
        self.progress_seconds = progress_seconds
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._sends: set[asyncio.Task[None]] = set()
        # results waiting to be written, each with the future its send awaits
        self._results: list[tuple[Result, asyncio.Future[None]]] = []
        self._results_ready = asyncio.Event()
        self._closing = False
        self._recorder: asyncio.Task[None] | None = None
        # runs that progressed since their progress message was last edited
        self._progressed: set[int] = set()
        self._progress_at = 0.0
        self._released_at = 0.0
        # what the core says to send after recording, delivered in order by one courier
        self._mail: asyncio.Queue[list[Outgoing] | None] = asyncio.Queue()
        self._courier: asyncio.Task[None] | None = None
        # Set once the rows a dead sender left claimed (on any platform) are released.
        self.released = asyncio.Event()

    def start(self) -> None:
        self._recorder = asyncio.create_task(self._record_loop(), name="outbox-recorder")
        self._courier = asyncio.create_task(self._courier_loop(), name="outbox-courier")
        self._task = asyncio.create_task(self.run(), name="outbox-sender")

    async def stop(self) -> None:
        """Claim nothing more; let the sends under way finish and record them."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sends:
            await asyncio.wait(self._sends, timeout=STOP_SECONDS)
            for send in self._sends:
                send.cancel()
        self._closing = True
        self._results_ready.set()
        await self._finish_task(self._recorder)
        self._mail.put_nowait(None)
        await self._finish_task(self._courier)

    @staticmethod
    async def _finish_task(task: asyncio.Task[None] | None) -> None:
        if task is None:
            return
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, STOP_SECONDS)

    def wake(self) -> None:
        """New rows were queued: look now rather than after the idle pause."""
        self._wake.set()

    async def run(self) -> None:
        """Release what a restart left claimed, then claim and send forever in the loop every
        outbox sender runs (bot/drain.py): a failed round is logged and the next goes on."""
        stale = dt.timedelta(0) if self.only_process else LEASE
        released = await asyncio.to_thread(self.core.outbox_release, stale)
        if released:
            log.info("resending %d notices claimed before a restart", released)
        self.released.set()
        self._released_at = time.monotonic()
        await drain_forever(self.drain_once, self._wake, IDLE_SECONDS, "Telegram")

    async def drain_once(self) -> int:
        """Wait for room for a batch, claim it and start its sends without waiting for them
        (so batches overlap); returns how many notices were claimed."""
        if not self.only_process and time.monotonic() - self._released_at > LEASE.seconds / 2:
            # Another process may have died holding rows: they come back after the lease.
            self._released_at = time.monotonic()
            await self._release_stale()
        await self._wait_for_room()
        batch = await asyncio.to_thread(self.core.outbox_claim, PLATFORM, BATCH,
                                        self.claimed_by)
        for item in batch:
            send = asyncio.create_task(self._send(item))
            self._sends.add(send)
            send.add_done_callback(self._sent)
        return len(batch)

    async def _release_stale(self) -> None:
        try:
            released = await asyncio.to_thread(self.core.outbox_release, LEASE)
        except Exception:
            log.exception("releasing orphaned outbox rows failed")
            return
        if released:
            log.info("resending %d notices another sender had claimed", released)

    async def _wait_for_room(self) -> None:
        """Until another whole batch fits under IN_FLIGHT."""
        while len(self._sends) > IN_FLIGHT - BATCH:
            self._room.clear()
            await self._room.wait()

    def _sent(self, send: asyncio.Task[None]) -> None:
        self._sends.discard(send)
        self._room.set()
        if not send.cancelled() and send.exception() is not None:
            log.error("sending a notice failed", exc_info=send.exception())

    async def _send(self, item: Claimed) -> None:
        """Send one notice, then wait until its result is recorded."""
        result = await self._attempt(item.delivery_id, item.message)
        recorded = asyncio.get_running_loop().create_future()
        self._results.append((result, recorded))
        self._progressed.add(item.run_id)
        self._results_ready.set()
        await recorded

    async def _attempt(self, delivery_id: int, out: Outgoing) -> Result:
        """Send one message and say what became of it."""
        try:
            sent = await send_one(self.app, out)
        except RetryAfter as error:
            return Result(delivery_id, retry_after=retry_seconds(error),
                          error="rate limited")
        except Forbidden as error:
            return Result(delivery_id, error=f"forbidden: {_reason(error, 'Forbidden')}")
        except BadRequest as error:
            return Result(delivery_id, error=f"bad request: {_reason(error, 'Bad Request')}")
        except (NetworkError, TimeoutError) as error:
            return Result(delivery_id, retry_after=NETWORK_RETRY_SECONDS, error=str(error))
        except TelegramError as error:
            return Result(delivery_id, error=str(error))
        except Exception as error:  # a bug, not Telegram: fail the row rather than hold it
            log.exception("sending notice %s failed", delivery_id)
            return Result(delivery_id, error=f"internal error: {type(error).__name__}")
        message_id = str(sent.message_id) if isinstance(sent, Message) else ""
        return Result(delivery_id, message_id=message_id)

    # ------------------------------------------------------------ recording

    async def _record_loop(self) -> None:
        """Write the results that have arrived, all in one transaction, again and again."""
        while True:
            await self._results_ready.wait()
            self._results_ready.clear()
            while self._results:
                await self._record()
            if self._closing:
                return

    async def _record(self) -> None:
        batch, self._results = self._results, []
        try:
            mail = await asyncio.to_thread(self.core.outbox_report, *(r for r, _ in batch))
        except Exception:
            log.exception("recording %d notice results failed; trying again", len(batch))
            self._results[:0] = batch
            await asyncio.sleep(1)
            return
        for _, recorded in batch:
            if not recorded.done():
                recorded.set_result(None)
        if self._progressed and time.monotonic() - self._progress_at >= self.progress_seconds:
            runs, self._progressed = sorted(self._progressed), set()
            self._progress_at = time.monotonic()
            try:
                mail += await asyncio.to_thread(self.core.outbox_progress, runs)
            except Exception:
                log.exception("progress of notice runs %s failed", runs)
        if mail:
            self._mail.put_nowait(mail)

    async def _courier_loop(self) -> None:
        """Deliver summaries and progress edits one list after another, in order."""
        while (mail := await self._mail.get()) is not None:
            try:
                await deliver(self.app, mail, core=self.core)
            except Exception:
                log.exception("delivering outbox follow-ups failed")


def _reason(error: TelegramError, prefix: str) -> str:
    """Telegram's description without the prefix that repeats the kind of error."""
    return error.message.removeprefix(f"{prefix}: ")
