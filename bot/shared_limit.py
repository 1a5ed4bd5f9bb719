"""One Telegram rate limit for every process of a token, kept in Redis.

The same rules as bot/ratelimit.py — messages spaced evenly MARGIN under 30 a second, up to
20 a minute per group, every request paused after a 429 for its `retry_after` — but the
bookkeeping lives in Redis, so three workers together keep the limit one process keeps. Short
Lua scripts (atomic in Redis, on Redis's clock) book the group's slot, then take the overall
turn when it is due; in each process one waiter at a time asks, in arrival order. Should
Redis stop answering, sends fall back to the process's own limiter (and say so in the log)
rather than stop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.ratelimit import (
    MARGIN,
    RETRY_PAD,
    TOLERANCE,
    Callback,
    JSONDict,
    SmoothRateLimiter,
    group_of,
    retry_seconds,
)

log = logging.getLogger(__name__)

POOL = 16

# KEYS: the last send overall, the pause. ARGV: the spacing, the tolerance. Takes the turn
# when it is due (returns "0") or says how many seconds until it is (a string). A turn taken
# within the tolerance of its moment is stamped with that moment (the spacing does not drift
# by each wake-up's lateness); one taken later is stamped when taken, so that the next sends
# never bunch up to catch up.
_OVERALL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local last = tonumber(redis.call('GET', KEYS[1]) or '-1e18')
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
local due = math.max(last + tonumber(ARGV[1]), paused)
if now >= due then
  local stamp = now
  if now - due < tonumber(ARGV[2]) then stamp = due end
  redis.call('SET', KEYS[1], tostring(stamp), 'EX', 60)
  return '0'
end
return tostring(due - now)
"""

# KEYS: the group's window (its last slots). ARGV: how many, over how many seconds.
_GROUP = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local most = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local n = redis.call('LLEN', KEYS[1])
local slot = now
if n > 0 then slot = math.max(slot, tonumber(redis.call('LINDEX', KEYS[1], -1))) end
if n >= most then
  slot = math.max(slot, tonumber(redis.call('LINDEX', KEYS[1], -most)) + period)
end
redis.call('RPUSH', KEYS[1], tostring(slot))
redis.call('LTRIM', KEYS[1], -most, -1)
redis.call('EXPIRE', KEYS[1], math.ceil(slot - now + period) + 1)
return tostring(slot - now)
"""

# KEYS: the pause. ARGV: seconds. Extends the pause, never shortens it; returns what is left.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_ = math.max(current, now + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], tostring(until_), 'EX', math.ceil(until_ - now) + 1)
return tostring(until_ - now)
"""

_LEFT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
return tostring(math.max(0, tonumber(redis.call('GET', KEYS[1]) or '0') - now))
"""


def key_for(token: str) -> str:
    """The Redis key prefix of one bot token (a hash: the token never reaches Redis)."""
    return "jinlin:tg:" + hashlib.sha256(token.encode()).hexdigest()[:16]


class RedisRateLimiter(BaseRateLimiter[int]):
    """SmoothRateLimiter's limits, shared by every process using the same Redis and key."""

    def __init__(self, url: str, key: str, overall_per_second: float = 30,
                 group_per_minute: float = 20, max_retries: int = 0,
                 margin: float = MARGIN) -> None:
        # Many sends wait their turn at once: they queue for a connection instead of failing.
        pool = redis.BlockingConnectionPool.from_url(url, max_connections=POOL, timeout=10,
                                                     socket_timeout=2,
                                                     socket_connect_timeout=2)
        self._client = redis.Redis(connection_pool=pool)
        self._key = key
        self._interval = (1 + margin) / overall_per_second if overall_per_second else 0.0
        self._group_max = int(group_per_minute)
        self._group_period = 60 * (1 + margin)
        self._max_retries = max_retries
        self._gate = asyncio.Lock()
        self._overall = self._client.register_script(_OVERALL)
        self._group = self._client.register_script(_GROUP)
        self._pause_script = self._client.register_script(_PAUSE)
        self._left = self._client.register_script(_LEFT)
        # When Redis does not answer: this process's own share of the limits.
        self._fallback = SmoothRateLimiter(overall_per_second, group_per_minute, max_retries,
                                           margin)

    async def initialize(self) -> None:
        """Nothing to set up: the connection opens on first use."""

    async def shutdown(self) -> None:
        await self._client.aclose()

    async def process_request(self, callback: Callback, args: Any, kwargs: dict[str, Any],
                              endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> bool | JSONDict | list[JSONDict]:
        """Wait for this request's turn across all processes, make it, retry after a 429."""
        max_retries = rate_limit_args or self._max_retries
        chat_id = data.get("chat_id")
        for attempt in range(max_retries + 1):
            try:
                if chat_id is not None:
                    await self._turn(group_of(chat_id))
                else:
                    await self._unpaused()
            except RedisError as error:
                log.warning("Redis unreachable (%s); this send keeps this process's own "
                            "limit", type(error).__name__)
                return await self._fallback.process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == max_retries:
                    raise
                await self._pause(error, endpoint)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _turn(self, group: int | str | None) -> None:
        if group is not None and self._group_max:
            await _sleep(await self._group(keys=[f"{self._key}:g:{group}"],
                                           args=[self._group_max, self._group_period]))
        # One waiter per process asks Redis, in arrival order; the processes take turns.
        async with self._gate:
            keys = [f"{self._key}:last", f"{self._key}:pause"]
            # The turn is taken in Redis by whichever process asks first once it is due.
            while (wait := float(await self._overall(keys=keys,  # noqa: ASYNC110
                                                     args=[self._interval,
                                                           TOLERANCE]))) > 0:
                await asyncio.sleep(wait)

    async def _unpaused(self) -> None:
        # The pause lives in Redis, set by any process: there is no local event to wait on.
        while (left := float(await self._left(keys=[f"{self._key}:pause"]))) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)

    async def _pause(self, error: RetryAfter, endpoint: str) -> None:
        seconds = retry_seconds(error)
        try:
            await self._pause_script(keys=[f"{self._key}:pause"], args=[seconds + RETRY_PAD])
        except RedisError:
            await asyncio.sleep(seconds + RETRY_PAD)
        log.info("Telegram asked to wait %.1f s (%s); pausing every process", seconds, endpoint)


async def _sleep(delay: Any) -> None:
    seconds = float(delay)
    if seconds > 0:
        await asyncio.sleep(seconds)
