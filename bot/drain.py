"""The loop every outbox sender runs (Telegram notices, WeCom robots, WeChat followers, kept
answers): drain a batch while there are any, else wait for a wake-up or the idle pause.

A round need not finish its sends: Telegram's notice sender starts a batch's sends and
returns, waiting only for room for the next batch, so that batches overlap
(bot/outbox.py)."""

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
