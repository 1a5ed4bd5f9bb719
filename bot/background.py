"""The services that run beside the web server: the timer loop, the outbox sender and the
WeCom robot sender. What they send goes out through the delivery registry."""

from __future__ import annotations

import datetime as dt
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram.ext import Application

from bot import scheduler
from bot.delivery import Registry
from bot.outbox import LEASE, OutboxSender
from bot.singleton import SchedulerLock
from bot.wechat_outbox import WechatSender
from bot.wecom import RobotClient, WecomSender
from handlers.core import Core
from handlers.messages import Outgoing

log = logging.getLogger(__name__)


class Background:
    """The timer loop and the outbox sender that run beside the Application (if any);
    the timers' messages go out through `registry`."""

    def __init__(self, app: Application | None, core: Core, registry: Registry, *,
                 wecom_url: str | None = None, wechat: WechatSender | None = None) -> None:
        self.app, self.core, self.registry = app, core, registry
        self.wecom_url = wecom_url
        # The WeChat followers' outbox sender, when an Official Account is served.
        self.wechat = wechat
        self.lock = SchedulerLock(core.db)
        self.timers: AsyncIOScheduler | None = None
        self.sender: OutboxSender | None = None
        self.wecom: WecomSender | None = None

    def start(self) -> None:
        """Timers only in the process holding the lock; senders wherever it is safe."""
        leader = self.lock.acquire()
        if leader:
            self.core.ensure_recurring()
            self.timers = scheduler.start(self.core, self._deliver, self.core.rules.timezone)
        else:
            log.warning("another process runs the timers for this database; "
                        "this one only answers updates")
        sqlite = self.core.db.is_sqlite
        if self.app is not None and (leader or not sqlite):
            self.sender = OutboxSender(self.app, self.core, only_process=sqlite)
            self.sender.start()
        if leader and self.wecom_url:
            self._start_wecom(sqlite)
        if self.wechat is not None and (leader or not sqlite):
            self.wechat.start()
        self.core.senders = frozenset(self._sending())

    def _sending(self) -> list[str]:
        """The platforms whose outbox rows this deployment sends (the leader's view)."""
        return [platform for platform, sender in (
            ("telegram", self.sender), ("wecom", self.wecom), ("wechat", self.wechat))
            if sender is not None]

    def _start_wecom(self, sqlite: bool) -> None:
        """The WeCom robot sender, in the leader only: its per-robot window is in memory."""
        after = self.sender.released if self.sender is not None else None
        release = None if after is not None else dt.timedelta(0) if sqlite else LEASE
        assert self.wecom_url is not None
        self.wecom = WecomSender(self.core, RobotClient(self.wecom_url), self._deliver,
                                 after=after, release=release)
        self.wecom.start()

    async def _deliver(self, messages: list[Outgoing]) -> None:
        await self.registry.deliver(messages)
        if self.sender is not None:
            self.sender.wake()
        if self.wecom is not None:
            self.wecom.wake()
        if self.wechat is not None:
            self.wechat.wake()

    async def stop(self) -> None:
        if self.timers is not None:
            self.timers.shutdown(wait=False)
        if self.sender is not None:
            await self.sender.stop()
        if self.wecom is not None:
            await self.wecom.stop()
        if self.wechat is not None:
            await self.wechat.stop()
        self.lock.release()
