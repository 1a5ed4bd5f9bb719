"""WeChat adapter state that several workers share: the access token, the callbacks being
answered, the passive replies kept for WeChat's retries, and each follower's turn.

WeChat retries a callback it gave up on, and the retry may reach another worker than the
first. The worker answering a callback marks it "running"; a retry seen anywhere marks it
"lost" (WeChat no longer waits for that answer), and the first worker then sends the answer
through the customer-service API instead of the dropped response; a passive reply is kept a
few minutes so that a retry arriving after it is repeated, not answered anew. With Redis
(JINLIN_REDIS_URL) this lives there; without, in the process (one worker).

The access token: wechatpy keeps it in a session store; with Redis it is stored there for
every process, and one process refreshes it while the others wait for its result.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import redis
from sqlalchemy import text
from wechatpy.session.redisstorage import RedisStorage

from storage.db import Database

# How long a running mark lives (WeChat gives up after 5 s and retries for about 15 s).
RUNNING_SECONDS = 60
# How long a passive reply is kept for a retry.
REPLY_SECONDS = 300
REMEMBERED_REPLIES = 1000
# One refresh of the access token at a time; the others wait this long for it.
REFRESH_SECONDS = 15.0
FRESH_SECONDS = 60  # wechatpy refreshes a token with less than this left
PREFIX = "jinlin:wechat"
# Per-follower turns across processes (PostgreSQL): one advisory lock per follower.
_FOLLOWER_LOCK = "SELECT pg_advisory_lock(hashtext('jinlin-follower:' || current_schema()), " \
                 "hashtext(:openid))"
_FOLLOWER_UNLOCK = "SELECT pg_advisory_unlock(hashtext('jinlin-follower:' || " \
                   "current_schema()), hashtext(:openid))"


class CallbackState:
    """Which callbacks are being answered, and the replies kept for retries (one process)."""

    def __init__(self) -> None:
        self._running: dict[str, bool] = {}  # key -> lost
        self._replies: OrderedDict[str, str] = OrderedDict()

    def begin(self, key: str) -> bool:
        """Mark `key` running; False when some worker already is (this is a retry)."""
        if key in self._running:
            self._running[key] = True
            return False
        self._running[key] = False
        return True

    def lost(self, key: str) -> bool:
        """Whether a retry came while `key` ran (WeChat stopped waiting for the answer)."""
        return self._running.get(key, False)

    def end(self, key: str) -> None:
        self._running.pop(key, None)

    def remember(self, key: str, reply: str) -> None:
        self._replies[key] = reply
        while len(self._replies) > REMEMBERED_REPLIES:
            self._replies.popitem(last=False)

    def reply(self, key: str) -> str | None:
        return self._replies.get(key)


class RedisCallbackState(CallbackState):
    """The same, in Redis: a retry reaching another worker finds it."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        super().__init__()
        self.redis, self.prefix = client, prefix

    def begin(self, key: str) -> bool:
        if self.redis.set(f"{self.prefix}:run:{key}", "0", nx=True, ex=RUNNING_SECONDS):
            return True
        self.redis.set(f"{self.prefix}:run:{key}", "1", xx=True, ex=RUNNING_SECONDS)
        return False

    def lost(self, key: str) -> bool:
        return self.redis.get(f"{self.prefix}:run:{key}") == b"1"

    def end(self, key: str) -> None:
        self.redis.delete(f"{self.prefix}:run:{key}")

    def remember(self, key: str, reply: str) -> None:
        self.redis.set(f"{self.prefix}:reply:{key}", reply.encode(), ex=REPLY_SECONDS)

    def reply(self, key: str) -> str | None:
        value = self.redis.get(f"{self.prefix}:reply:{key}")
        return value.decode() if isinstance(value, bytes) else None


class TokenStore(RedisStorage):
    """wechatpy's Redis session store, where the access token is kept for every process."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        super().__init__(client, prefix=f"{prefix}:session")
        self.client, self.lock_prefix = client, f"{prefix}:refreshing"

    def fresh(self, key: str) -> bool:
        """Whether a token is stored with more than a minute left (wechatpy's own margin)."""
        return int(self.client.ttl(self.key_name(key))) > FRESH_SECONDS

    def refresh_once(self, key: str, fetch: Callable[[], Any]) -> None:
        """Run `fetch` in one process at a time; the others wait for the token it stores."""
        lock = f"{self.lock_prefix}:{key}"
        if self.client.set(lock, "1", nx=True, ex=int(REFRESH_SECONDS)):
            try:
                if not self.fresh(key):  # another process may have just stored one
                    fetch()
            finally:
                self.client.delete(lock)
            return
        deadline = time.monotonic() + REFRESH_SECONDS
        while time.monotonic() < deadline and self.client.exists(lock):
            time.sleep(0.05)
        if not self.fresh(key):
            fetch()  # the other process failed: try ourselves


def shared(redis_url: str | None) -> tuple[CallbackState, TokenStore | None]:
    """The callback state and token store for this deployment (Redis when configured)."""
    if not redis_url:
        return CallbackState(), None
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    return RedisCallbackState(client), TokenStore(client)


@contextlib.contextmanager
def follower_turn(database: Database, openid: str) -> Iterator[None]:
    """Hold `openid`'s turn across processes (PostgreSQL); within one process the adapter's
    own per-follower lock already orders them."""
    if database.is_sqlite:
        yield
        return
    with database.engine.connect() as connection:
        connection.execute(text(_FOLLOWER_LOCK), {"openid": openid})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text(_FOLLOWER_UNLOCK), {"openid": openid})
            connection.commit()
