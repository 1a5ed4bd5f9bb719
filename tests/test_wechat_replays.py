"""Signed WeChat callbacks that must not work twice or late: an old signature, one from the
future, a (timestamp, nonce) pair used again (also on another worker), plaintext mode
without the deployer's explicit opt-in."""

from __future__ import annotations

import pytest

from bot.wechat import ConfigError, build_adapter
from handlers.core import Core
from storage.models import Account, CallbackNonce, ProcessedUpdate, WechatUser
from tests.conftest import TEST_RULES, Clock
from tests.fake_wechat import FakeWechat, Follower
from tests.test_wechat import ZHANG, Running, count, fake_wx, running, serve, wechat_settings

__all__ = ["fake_wx", "running"]  # fixtures used by name below

OTHERS = ["oVbq06OtherFollower000000001", "oVbq06OtherFollower000000002",
          "oVbq06OtherFollower000000003"]


def stored(core: Core) -> list[int]:
    return [count(core.db, m) for m in (Account, ProcessedUpdate, WechatUser)]


async def test_signatures_older_or_newer_than_five_minutes_are_refused(
        running: Running, clock: Clock) -> None:
    before = stored(running.core)
    statuses = []
    for offset in (-90 * 86400, -301, 301, 365 * 86400):
        follower = Follower(ZHANG, running.url,
                            clock=lambda offset=offset: clock().timestamp() + offset)
        statuses.append((await follower.post(running.http, follower.text("签到"))).status_code)
        query, _ = follower.text("x")
        verify = await running.http.get(running.url, params={**query, "echostr": "12345"})
        statuses.append(verify.status_code)
    assert statuses == [403] * 8
    assert stored(running.core) == before
    within = Follower(ZHANG, running.url, clock=lambda: clock().timestamp() - 290)
    assert (await within.post(running.http, within.text("/start"))).status_code == 200


async def test_a_signed_request_used_again_is_refused(running: Running) -> None:
    zhang = running.follower(ZHANG)
    sealed = zhang.text("/start")
    assert (await zhang.post(running.http, sealed)).status_code == 200
    again = [(await zhang.post(running.http, sealed)).status_code for _ in range(3)]
    assert again == [403, 403, 403]
    assert count(running.core.db, ProcessedUpdate) == 1


async def test_plaintext_replay_with_other_bodies_is_refused(fake_wx: FakeWechat, core: Core,
                                                             clock: Clock) -> None:
    """The attack of the issue: one signed query reused with bodies of other followers."""
    settings = wechat_settings(fake_wx, WECHAT_AES_KEY=None, WECHAT_ALLOW_PLAINTEXT=True)
    async for run in serve(build_adapter(settings, core), settings, core, fake_wx):
        zhang = run.follower(ZHANG)
        query, body = zhang.text("/start")
        assert (await run.http.post(run.url, params=query, content=body)).status_code == 200
        before = stored(core)
        tried = 0
        refused = 0
        for other in OTHERS:
            forged = Follower(other, run.url, aes=False,
                              clock=lambda: clock().timestamp()).text("签到")[1]
            tried += 1
            answer = await run.http.post(run.url, params=query, content=forged)
            refused += answer.status_code == 403
        assert (tried, refused, [a - b for a, b in zip(stored(core), before, strict=True)]) == (
            3, 3, [0, 0, 0])


async def test_a_replay_to_another_worker_is_refused_too(
        fake_wx: FakeWechat, core: Core, clock: Clock) -> None:
    """Two workers on one database: a request one has taken, the other refuses."""
    settings = wechat_settings(fake_wx)
    other_core = Core(core.db, rules=TEST_RULES, clock=clock)
    async for first in serve(build_adapter(settings, core), settings, core, fake_wx):
        async for second in serve(build_adapter(settings, other_core), settings, other_core,
                                  fake_wx):
            zhang = first.follower(ZHANG)
            sealed = zhang.text("/start")
            assert (await zhang.post(first.http, sealed)).status_code == 200
            query, body = sealed
            replayed = await second.http.post(second.url, params=query, content=body)
            assert replayed.status_code == 403


async def test_nonces_are_forgotten_after_the_window(running: Running, clock: Clock) -> None:
    zhang = running.follower(ZHANG)
    await zhang.post(running.http, zhang.text("/start"))
    assert count(running.core.db, CallbackNonce) == 1
    clock.advance(minutes=20)
    await zhang.post(running.http, zhang.text("帮助"))
    assert count(running.core.db, CallbackNonce) == 1, "the old one pruned, the new one kept"


def test_plaintext_needs_the_opt_in(fake_wx: FakeWechat, core: Core,
                                    caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError, match="WECHAT_ALLOW_PLAINTEXT=true"):
        build_adapter(wechat_settings(fake_wx, WECHAT_AES_KEY=None), core)
    build_adapter(wechat_settings(fake_wx, WECHAT_AES_KEY=None, WECHAT_ALLOW_PLAINTEXT=True),
                  core)
    (warning,) = [r for r in caplog.records if "plaintext mode" in r.getMessage()]
    assert warning.levelname == "WARNING"

