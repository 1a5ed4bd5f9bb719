"""Several workers answering one Official Account: one access token for all of them, and a
WeChat retry that reaches another worker than the first is still answered once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from bot.settings import Settings
from bot.wechat import WechatAdapter, WechatClient, build_adapter
from bot.wechat_shared import RedisCallbackState, TokenStore
from handlers.core import Core
from handlers.messages import Incoming, Outgoing
from storage.db import Database
from tests.conftest import TEST_RULES
from tests.fake_wechat import APP_ID, APP_SECRET, FakeWechat
from tests.test_wechat import Running, serve, wechat_settings

ZHANG = "oVbq06Kb1Ip3yhJ0D2dzX8aQ4u2M"


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """A Redis client (skipped, with the reason, when Redis is away)."""
    url = os.environ.get("JINLIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as error:  # any failure to connect means: skip, and say why
        pytest.skip(f"Redis not reachable at {url}: {type(error).__name__}: {error}")
    yield client
    client.close()


@pytest.fixture
def fake_wx() -> Iterator[FakeWechat]:
    server = FakeWechat()
    server.start()
    yield server
    server.stop()


def test_workers_fetch_the_access_token_once_between_them(
        fake_wx: FakeWechat, redis_client: redis.Redis) -> None:
    """Four sends from two workers at the same moment, none holding a token yet: WeChat is
    asked for a token once (each fetch would cost one of the day's 2,000)."""
    prefix = f"jinlin:test:{uuid.uuid4().hex}"
    clients = [WechatClient(APP_ID, APP_SECRET, fake_wx.base_url,
                            tokens=TokenStore(redis_client, prefix)) for _ in range(2)]
    start = threading.Barrier(4)

    def send(client: WechatClient, n: int) -> None:
        start.wait()
        client.message.send_text(ZHANG, f"第 {n} 条")

    threads = [threading.Thread(target=send, args=(clients[n % 2], n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(fake_wx.calls_to("token")) == 1
    assert len(fake_wx.texts_to(ZHANG)) == 4


def test_a_worker_that_saw_no_token_uses_the_one_another_just_stored(
        fake_wx: FakeWechat, redis_client: redis.Redis) -> None:
    """The second worker looked before the first stored its token and asks for the turn after
    the first let go: it takes the stored token instead of spending another of the day's 2,000."""
    prefix = f"jinlin:test:{uuid.uuid4().hex}"
    first, second = (WechatClient(APP_ID, APP_SECRET, fake_wx.base_url,
                                  tokens=TokenStore(redis_client, prefix)) for _ in range(2))
    first.message.send_text(ZHANG, "第 1 条")
    second.fetch_access_token()  # what wechatpy does when it found no token a moment ago
    second.message.send_text(ZHANG, "第 2 条")
    assert len(fake_wx.calls_to("token")) == 1
    assert len(fake_wx.texts_to(ZHANG)) == 2


class SlowCore(Core):
    """A core taking a second and a half per message (a busy database)."""

    def handle(self, incoming: Incoming) -> list[Outgoing]:
        time.sleep(1.5)
        return super().handle(incoming)


async def test_a_retry_reaching_another_worker_is_answered_once(
        fake_wx: FakeWechat, db: Database, redis_client: redis.Redis) -> None:
    """The first worker takes long over 帮助; WeChat retries the message and the retry reaches
    the second worker. It answers "success" without handling it again, and the first sends
    its answer through the customer-service API, since WeChat stopped waiting for it."""
    prefix = f"jinlin:test:{uuid.uuid4().hex}"
    settings = wechat_settings(fake_wx)
    slow, quick = SlowCore(db, rules=TEST_RULES), Core(db, rules=TEST_RULES)
    first = build_adapter(settings, slow)
    second = build_adapter(settings, quick)
    for adapter in (first, second):
        adapter.callbacks = RedisCallbackState(redis_client, prefix)
    async with served(first, settings, slow, fake_wx) as one, \
            served(second, settings, quick, fake_wx) as two:
        asked = asyncio.create_task(one.say(one.follower(ZHANG), "帮助", msg_id=4242))
        await asyncio.sleep(0.5)
        retried = await two.say(two.follower(ZHANG), "帮助", msg_id=4242)
        assert (retried, await asked) == ("", "")
        await one.settle()
    (answer,) = fake_wx.texts_to(ZHANG)
    assert answer.startswith("你的身份：居民\n直接发送这些词就行")


def served(adapter: WechatAdapter, settings: Settings, core: Core, fake: FakeWechat
           ) -> contextlib.AbstractAsyncContextManager[Running]:
    """`serve` as an async context manager."""
    return contextlib.asynccontextmanager(serve)(adapter, settings, core, fake)
