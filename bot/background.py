"""The services that run beside the web server: the timer loop, the outbox sender, the
WeCom robot sender and (PostgreSQL) the sender of kept answers whose own process is gone.
What they send goes out through the delivery registry.

Timers (and the WeCom sender, whose per-robot window is in memory) run in the one process
holding the timer lock. On PostgreSQL every process tries that lock again every
WATCH_SECONDS, and the holder checks its lock's connection as often: a holder that lost its
connection stops at once, and a survivor takes over within WATCH_SECONDS of the lock coming
free (a killed process's locks go with its connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram.ext import Application

from bot import scheduler
from bot.delivery import Registry
from bot.outbox import LEASE, OutboxSender
from bot.replies import ReplySender
from bot.singleton import SchedulerLock, SenderLock
from bot.telegram import PLATFORM, reply_settles
from bot.wechat_outbox import WechatSender
from bot.wecom import RobotClient, RobotPoster, WecomSender
from handlers.core import Core
from handlers.messages import Outgoing

log = logging.getLogger(__name__)

WATCH_SECONDS = 5.0


class Background:
    """The timer loop and the outbox sender that run beside the Application (if any);
    the timers' messages go out through `registry`."""

    def __init__(self, app: Application | None, core: Core, registry: Registry, *,
                 wecom_url: str | None = None, wechat: WechatSender | None = None,
                 watch_seconds: float = WATCH_SECONDS) -> None:
        self.app, self.core, self.registry = app, core, registry
        self.wecom_url = wecom_url
        # The WeChat followers' outbox sender, when an Official Account is served.
        self.wechat = wechat
        self.watch_seconds = watch_seconds
        self.lock = SchedulerLock(core.db)
        self.sender_lock = SenderLock(core.db)
        self.timers: AsyncIOScheduler | None = None
        self.sender: OutboxSender | None = None
        self.replies: ReplySender | None = None
        self.wecom: WecomSender | None = None
        # What handlers send to robots directly (a sign-in code), in every process.
        self.poster = RobotPoster(core, RobotClient(wecom_url)) if wecom_url else None
        if self.poster is not None:
            registry.register("wecom", self.poster.deliver)
        self._watch: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        """Whether this process runs the timers now."""
        return self.timers is not None

    def start(self) -> None:
        """Timers only in the process holding the lock; senders wherever it is safe."""
        sqlite = self.core.db.is_sqlite
        sender_id = self.sender_lock.acquire()
        leader = self.lock.acquire()
        if self.app is not None and (leader or not sqlite):
            self.sender = OutboxSender(self.app, self.core, only_process=sqlite,
                                       claimed_by=sender_id)
            self.sender.start()
        if self.app is not None and not sqlite:
            # Several processes: an answer must outlive the one that worked it out. SQLite's
            # one process sends its answers straight away, with no round trip more.
            keep_replies(self.core, sender_id)
            self.replies = ReplySender(self.app, self.core, sender_id)
            self.replies.start()
        if leader:
            self._lead()
        else:
            log.warning("another process runs the timers for this database; "
                        "this one answers updates and takes over if that one stops")
        if self.wechat is not None and (leader or not sqlite):
            self.wechat.claimed_by = sender_id
            self.wechat.start()
        self.core.senders = frozenset(self._sending())
        if not sqlite:
            self._watch = asyncio.create_task(self._watch_loop(), name="timer-lock-watch")

    def _sending(self) -> list[str]:
        """The platforms whose outbox rows this deployment sends: the WeCom sender runs in
        whichever process leads, so it counts wherever it is configured."""
        return [platform for platform, sends in (
            ("telegram", self.sender is not None), ("wecom", bool(self.wecom_url)),
            ("wechat", self.wechat is not None)) if sends]

    def _lead(self) -> None:
        self.core.ensure_recurring()
        self.timers = scheduler.start(self.core, self._deliver, self.core.rules.timezone)
        if self.wecom_url:
            self._start_wecom(self.core.db.is_sqlite)

    def _start_wecom(self, sqlite: bool) -> None:
        """The WeCom robot sender, in the leader only: its per-robot window is in memory."""
        after = self.sender.released if self.sender is not None else None
        release = None if after is not None else dt.timedelta(0) if sqlite else LEASE
        assert self.wecom_url is not None
        sender_id = self.sender_lock.id
        self.wecom = WecomSender(self.core, RobotClient(self.wecom_url), self._deliver,
                                 after=after, release=release, claimed_by=sender_id)
        self.wecom.start()

    async def _step_down(self) -> None:
        if self.timers is not None:
            self.timers.shutdown(wait=False)
            self.timers = None
        if self.wecom is not None:
            await self.wecom.stop()
            self.wecom = None

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(self.watch_seconds)
            try:
                await self.watch()
            except Exception:
                log.exception("checking the timer lock failed; trying again")

    async def watch(self) -> None:
        """One look: stop leading when the lock is lost, take it when it is free."""
        if self.leading and not await asyncio.to_thread(self.lock.still_held):
            log.warning("lost the timer lock (database connection gone); timers stopped here")
            await self._step_down()
        elif not self.leading and await asyncio.to_thread(self.lock.acquire):
            log.warning("took over the timers: the process that ran them is gone")
            self._lead()
        if not await asyncio.to_thread(self.sender_lock.still_held):
            sender_id = await asyncio.to_thread(self.sender_lock.acquire)
            for sender in (self.sender, self.wecom, self.wechat, self.replies):
                if sender is not None:
                    sender.claimed_by = sender_id
            if self.replies is not None:
                self.core.reply_sender = sender_id
        await self._release_dead()

    async def _release_dead(self) -> None:
        """Notices claimed by a process that is gone go back to the outbox now."""
        released = await asyncio.to_thread(self.core.outbox_release_dead, self.sender_lock.id)
        if released:
            log.warning("resending %d notices a process that is gone had claimed", released)
            for sender in (self.sender, self.wecom, self.wechat):
                if sender is not None:
                    sender.wake()
        if self.replies is not None:
            kept = await asyncio.to_thread(self.core.replies_release_dead,
                                           self.sender_lock.id)
            if kept:
                log.warning("sending %d answers a process that is gone had not sent", kept)
                self.replies.wake()

    async def _deliver(self, messages: list[Outgoing]) -> None:
        await self.registry.deliver(messages)
        if self.sender is not None:
            self.sender.wake()
        if self.wecom is not None:
            self.wecom.wake()
        if self.wechat is not None:
            self.wechat.wake()

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._step_down()
        if self.replies is not None:
            await self.replies.stop()
            if self.app is not None:
                await reply_settles(self.app, self.core).flush()
            self.core.kept_replies = frozenset()
        if self.sender is not None:
            await self.sender.stop()
        if self.wechat is not None:
            await self.wechat.stop()
        if self.poster is not None:
            await self.poster.client.aclose()
        self.lock.release()
        self.sender_lock.release()


def keep_replies(core: Core, sender_id: int | None) -> None:
    """Let `core` keep its Telegram answers in the reply outbox, claimed by `sender_id`, so
    that they outlive this process (PostgreSQL: several processes)."""
    core.kept_replies = frozenset({PLATFORM})
    core.reply_sender = sender_id
