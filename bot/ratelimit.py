"""Telegram's flood limits kept smoothly: about 30 messages a second, 20 a minute per group.

python-telegram-bot's AIORateLimiter (a leaky bucket that starts empty) lets a whole second's
worth of messages out at once and then one every 1/30 s, so the first second of a broadcast
carries twice the limit; a server counting messages in any one second answers 429, and each
429 halts every send for a second or more. Bursts also open one HTTP connection per request
sent together, and httpx's upkeep of a large pool then costs more CPU than the sends.

This limiter spaces messages evenly instead, MARGIN under the limit so that jitter on the way
cannot put 31 into one second. Per group up to 20 may go at once, and no more within a minute
(plus MARGIN): replies in a busy group are not held back before they have to be. A 429 pauses
every request for its `retry_after`, then the request is tried again (up to `max_retries`).
Like AIORateLimiter, only requests naming a chat are limited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

# 5 %, not 3 %: at the start of a 500-scan burst the event loop is busiest (updates parsed in
# hundreds, answers arriving), and a reply let out on time can reach the server 30 ms late while
# later ones do not; 31 consecutive replies then spanned as little as 1010 ms, and one run in
# three drew a 429 (a second's pause). With 5 % the tightest span measured 1046 ms, no 429
# (bench.checkin_burst --limits telegram, issue 12).
MARGIN = 0.05
# A wake-up later than this does not let the next message go early to catch up.
TOLERANCE = 0.005
RETRY_PAD = 0.1
_PRUNE_EVERY = 1000

JSONDict = dict[str, Any]
Callback = Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]]


class SmoothRateLimiter(BaseRateLimiter[int]):
    """Evenly spaced messages overall, a sliding window per group, pauses after a 429."""

    def __init__(self, overall_per_second: float = 30, group_per_minute: float = 20,
                 max_retries: int = 0, margin: float = MARGIN) -> None:
        self._interval = (1 + margin) / overall_per_second if overall_per_second else 0.0
        self._group_max = int(group_per_minute)
        self._group_period = 60 * (1 + margin)
        self._max_retries = max_retries
        self._gate = asyncio.Lock()
        self._last = float("-inf")
        self._paused_until = 0.0
        # per group: when its last `group_max` messages were (or will be) let out
        self._groups: dict[int | str, deque[float]] = {}
        self._calls = 0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""

    async def process_request(self, callback: Callback, args: Any, kwargs: dict[str, Any],
                              endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> bool | JSONDict | list[JSONDict]:
        """Wait for this request's turn, make it, and retry it after a 429."""
        max_retries = rate_limit_args or self._max_retries
        chat_id = data.get("chat_id")
        for attempt in range(max_retries + 1):
            if chat_id is not None:
                await self._turn(group_of(chat_id))
            else:
                await self._unpaused()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == max_retries:
                    raise
                self._pause(error, endpoint)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _turn(self, group: int | str | None) -> None:
        loop = asyncio.get_running_loop()
        if group is not None and self._group_max:
            await _sleep_until(loop, self._group_slot(group, loop.time()))
        async with self._gate:  # one at a time, in arrival order
            while True:
                target = max(self._last + self._interval, self._paused_until)
                await _sleep_until(loop, target)
                now = loop.time()
                if now >= self._paused_until:  # a 429 may have come in meanwhile
                    break
            self._last = target if now - target < TOLERANCE else now

    async def _unpaused(self) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < self._paused_until:
            await _sleep_until(loop, self._paused_until)

    def _group_slot(self, group: int | str, now: float) -> float:
        """Book the group's next message: at once, or when the oldest of its last
        `group_max` messages leaves the window."""
        self._calls += 1
        if self._calls % _PRUNE_EVERY == 0:
            self._groups = {g: w for g, w in self._groups.items()
                            if w[-1] > now - self._group_period}
        window = self._groups.setdefault(group, deque(maxlen=self._group_max))
        slot = max(now, window[-1]) if window else now
        if len(window) == self._group_max:
            slot = max(slot, window[0] + self._group_period)
        window.append(slot)
        return slot

    def _pause(self, error: RetryAfter, endpoint: str) -> None:
        seconds = retry_seconds(error)
        until = asyncio.get_running_loop().time() + seconds + RETRY_PAD
        self._paused_until = max(self._paused_until, until)
        log.info("Telegram asked to wait %.1f s (%s); pausing every request", seconds, endpoint)


async def _sleep_until(loop: asyncio.AbstractEventLoop, moment: float) -> None:
    delay = moment - loop.time()
    if delay > 0:
        await asyncio.sleep(delay)


def group_of(chat_id: object) -> int | str | None:
    """The group a chat id names, for its per-group limit; None for a person. Groups and
    channels have negative ids or @usernames; people have positive ids."""
    if isinstance(chat_id, str):
        try:
            chat_id = int(chat_id)
        except ValueError:
            return chat_id
    return chat_id if isinstance(chat_id, int) and chat_id < 0 else None


def retry_seconds(error: RetryAfter) -> float:
    """How long a 429 asks to wait, in seconds."""
    value = getattr(error, "_retry_after", None)  # a timedelta, without the deprecation
    if not isinstance(value, dt.timedelta):
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
