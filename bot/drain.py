"""The loop of a one-to-one outbox sender (WeCom robots, WeChat followers): drain batches
while there are any, else wait for a wake-up or the idle pause."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def drain_forever(drain_once: Callable[[], Awaitable[int]], wake: asyncio.Event,
                        idle: float, what: str) -> None:
    """Call `drain_once` forever; a failure in one round is logged and the next goes on."""
    while True:
        try:
            sent = await drain_once()
        except Exception:
            log.exception("%s outbox round failed", what)
            sent = 0
        if not sent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), idle)
            wake.clear()
