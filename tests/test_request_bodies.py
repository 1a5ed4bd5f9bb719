"""What the webhook and the WeChat callback do with bodies that are too big or not updates:
413 before the whole body is read, 400 for any other shape, never a 500."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from bot.bodies import MAX_BODY_BYTES, TooLarge, read_body
from bot.services import WebhookService
from bot.telegram_web import SECRET_HEADER
from handlers.core import Core
from storage.models import Account, ProcessedUpdate
from tests.fake_telegram import FakeTelegram, TgUser, private_chat
from tests.loopback import free_port
from tests.telegram_fixtures import fake_tg, settings_for
from tests.test_wechat import ZHANG, Running, count, fake_wx, running

__all__ = ["fake_tg", "fake_wx", "running"]  # fixtures used by name below

SECRET = "bodies-webhook-secret"
ALICE = TgUser(5100000003, "Alice", username="alice", language_code="en")
MEGABYTE = b"x" * MAX_BODY_BYTES
# Bodies that are JSON but not an update, or not even JSON.
NOT_UPDATES = [b"null", b"[]", b'"x"', b"42", b"{}", b'{"update_id": "7"}',
               b'{"update_id": true}', b'{"update_id": 5, "message": "hello"}',
               b'{"update_id": 6, "message": {"chat": 1}}', b"[" * 100_000 + b"]" * 100_000,
               b'{"update_id": 8, "message": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
               b"\xff\xfe", b""]


@pytest.fixture
async def webhook(fake_tg: FakeTelegram, core: Core) -> AsyncIterator[httpx.AsyncClient]:
    """The webhook service on a loopback port, and a client posting to it with the secret."""
    port = free_port()
    service = WebhookService(settings_for(
        fake_tg, TELEGRAM_WEBHOOK_URL="https://jinlin.example/telegram",
        TELEGRAM_WEBHOOK_SECRET=SECRET, JINLIN_WEB_PORT=port), core)
    task = asyncio.create_task(service.run())
    await asyncio.wait_for(service.server.listening.wait(), 5)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10,
                                 headers={SECRET_HEADER: SECRET}) as client:
        yield client
    service.stop()
    await asyncio.wait_for(task, 5)


async def test_a_webhook_body_over_a_megabyte_is_refused(webhook: httpx.AsyncClient,
                                                         fake_tg: FakeTelegram) -> None:
    padded = json.dumps({"update_id": 1, "pad": MEGABYTE.decode()}).encode()
    assert (await webhook.post("/telegram", content=padded)).status_code == 413

    async def undeclared() -> AsyncIterator[bytes]:
        for _ in range(12):  # 12 MB in chunks, no Content-Length
            yield MEGABYTE
    assert (await webhook.post("/telegram", content=undeclared())).status_code == 413
    update = {**fake_tg.text_update(ALICE, private_chat(ALICE), "/help"), "update_id": 77}
    assert (await webhook.post("/telegram", json=update)).status_code == 200
    (reply,) = await fake_tg.wait_for("sendMessage", 1)
    assert "/iam" in reply.params["text"], "a normal update still works after the big ones"


async def test_webhook_bodies_that_are_not_updates_get_400(webhook: httpx.AsyncClient,
                                                           core: Core) -> None:
    statuses = [(await webhook.post("/telegram", content=body)).status_code
                for body in NOT_UPDATES]
    assert statuses == [400] * len(NOT_UPDATES)
    assert count(core.db, Account) == 0


async def test_wechat_bodies_too_big_or_not_xml(running: Running) -> None:
    zhang = running.follower(ZHANG)
    query, _ = zhang.text("签到")
    big = await running.http.post(running.url, params=query, content=MEGABYTE + b"x")
    assert big.status_code == 413
    shapes = [b"null", b"[]", b"<xml>", b"<xml>text</xml>", b"<other/>",
              b"<xml>" * 50_000 + b"</xml>" * 50_000, b"\xff\xfe", b""]
    statuses = []
    for body in shapes:
        query, _ = zhang.text("签到")
        statuses.append((await running.http.post(running.url, params=query,
                                                 content=body)).status_code)
    assert statuses == [400] * len(shapes)
    assert count(running.core.db, ProcessedUpdate) == 0


async def test_the_limit_is_met_before_the_body_is_read_whole() -> None:
    """A chunked 10 MB body: reading stops at the first chunk past 1 MB."""
    chunks_taken = 0
    chunk = b"y" * 64 * 1024

    async def receive() -> dict[str, Any]:
        nonlocal chunks_taken
        chunks_taken += 1
        return {"type": "http.request", "body": chunk, "more_body": chunks_taken < 160}

    request = Request({"type": "http", "method": "POST", "headers": [], "path": "/"}, receive)
    with pytest.raises(TooLarge):
        await read_body(request)
    assert chunks_taken == MAX_BODY_BYTES // len(chunk) + 1
