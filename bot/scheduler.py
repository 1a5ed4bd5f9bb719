"""The timer loop: fires the core's due timers and hands the messages to an adapter.

Timers live in SQL (the `timers` table), so nothing is lost on a restart: the loop only
asks the core, every few seconds, what is due. Each timer is claimed by one conditional
UPDATE, so a second process would find nothing left to fire.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.core import Core
from handlers.messages import Outgoing

log = logging.getLogger(__name__)

Send = Callable[[list[Outgoing]], Awaitable[None]]
TICK_SECONDS = 15


async def fire_due(core: Core, send: Send) -> int:
    """One tick: fire what is due and send it; returns how many messages went out."""
    messages = await asyncio.to_thread(core.run_due)
    if messages:
        await send(messages)
    return len(messages)


def start(core: Core, send: Send, timezone: ZoneInfo,
          tick_seconds: int = TICK_SECONDS) -> AsyncIOScheduler:
    """Start ticking on the running event loop; the caller shuts it down on exit."""
    scheduler = AsyncIOScheduler(timezone=timezone)
    scheduler.add_job(fire_due, "interval", seconds=tick_seconds, args=[core, send],
                      id="timers", max_instances=1, coalesce=True,
                      misfire_grace_time=tick_seconds)
    scheduler.start()
    log.info("timer loop started (every %s s)", tick_seconds)
    return scheduler
