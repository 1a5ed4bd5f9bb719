"""WeCom group robots (企业微信群机器人): the sender that posts the branch's notices to them.

A robot is a webhook: `POST {base}/cgi-bin/webhook/send?key=KEY` with a JSON message, answered
by `{"errcode": 0, "errmsg": "ok"}`. WeCom allows 20 messages a minute per robot and answers
errcode 45009 beyond that. The sender keeps its own sliding window per robot, so a robot's
rows beyond the limit are put back with `retry_after` for the moment a slot frees, each row
after the ones deferred before it: WeCom never sees more than the limit. The window lives in
one process, so `bot.background.Background` runs this sender only in the process holding the
scheduler lock.

The key is a secret: it is never logged (httpx's request log is redacted) and never part of
an error recorded on a row.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx

from bot import logsafe, qr
from bot.drain import drain_forever
from handlers import robots
from handlers.core import Core
from handlers.messages import Outgoing
from handlers.outbox import Claimed, Result
from storage import robots as stored_robots

log = logging.getLogger(__name__)

PLATFORM = robots.PLATFORM
SEND_PATH = "/cgi-bin/webhook/send"
MAX_TEXT_BYTES = 2048
# A markdown message takes 4096 bytes; an image at most 2 MB before base64.
MAX_MARKDOWN_BYTES = 4096
MAX_IMAGE_BYTES = 2 * 1024 * 1024
PER_ROBOT = 20
PERIOD_SECONDS = 60.0
BATCH = 30
IDLE_SECONDS = 1.0
NETWORK_RETRY_SECONDS = 10.0
# 45009: over the robot's limit; -1: WeCom is busy. Both pass; other codes do not.
RATE_LIMITED = 45009
RETRY_CODES = {-1, RATE_LIMITED}
# Come back a little after the slot frees rather than a little before it.
SLOT_MARGIN = 0.1
# How late a deferred row may be claimed after its moment, beyond the idle pause.
CLAIM_LATENCY = 0.25
UNREACHABLE = "WeCom unreachable"
UNAVAILABLE = "WeCom unavailable (HTTP 429 or 5xx)"
_UNREACHABLE = {UNREACHABLE, UNAVAILABLE}

Deliver = Callable[[list[Outgoing]], Awaitable[None]]


class RobotError(Exception):
    """WeCom answered with an errcode other than 0."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class RobotClient:
    """Posts messages to WeCom group robots through their webhook API."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        # httpx logs each request's URL, robot key included.
        logsafe.install()
        self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def send_text(self, key: str, content: str, *, mention_all: bool = False) -> None:
        """Post one text message (mentioning everyone: @all); WeCom's refusal is raised as
        RobotError."""
        text: dict[str, Any] = {"content": content}
        if mention_all:
            text["mentioned_list"] = ["@all"]
        await self._post(key, {"msgtype": "text", "text": text})

    async def send_markdown(self, key: str, content: str) -> None:
        """Post one markdown message (bold, links, quotes)."""
        await self._post(key, {"msgtype": "markdown", "markdown": {"content": content}})

    async def send_image(self, key: str, png: bytes) -> None:
        """Post an image: its bytes in base64 and their MD5, as WeCom asks."""
        if len(png) > MAX_IMAGE_BYTES:
            raise ValueError("image over WeCom's 2 MB")
        await self._post(key, {"msgtype": "image", "image": {
            "base64": base64.b64encode(png).decode(),
            "md5": hashlib.md5(png).hexdigest()}})  # noqa: S324 - WeCom's checksum

    async def _post(self, key: str, message: dict[str, Any]) -> None:
        response = await self.http.post(SEND_PATH, params={"key": key}, json=message)
        response.raise_for_status()
        body = response.json()
        code = int(body.get("errcode", -1))
        if code != 0:
            raise RobotError(code, str(body.get("errmsg", "")).replace(key, "…"))

    async def aclose(self) -> None:
        await self.http.aclose()


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut at a line break where one is near."""
    pieces: list[str] = []
    while len(text.encode()) > limit:
        head = text.encode()[:limit].decode(errors="ignore")
        cut = head.rfind("\n")
        cut = cut if cut > len(head) // 2 else len(head)
        pieces.append(head[:cut])
        text = text[cut:].lstrip("\n")
    return [*pieces, text]


class Window:
    """Posts per robot in a sliding window: at most `limit` in any `period` seconds.

    A post is counted from the moment WeCom answered it, later than WeCom saw it, so our
    window is never ahead of WeCom's. Rows deferred are promised a moment each, in order;
    a row coming back at its moment is not overtaken by rows that arrived after it. A
    promise counts as a post `slack` seconds after its moment (the row is claimed a little
    late), so the rows promised after it find their slot free when they come back."""

    def __init__(self, limit: int, period: float,
                 clock: Callable[[], float] = time.monotonic, slack: float = 0.0) -> None:
        self.limit, self.period, self.clock, self.slack = limit, period, clock, slack
        self._posts: dict[str, deque[float]] = defaultdict(deque)
        self._promised: dict[str, dict[int, float]] = defaultdict(dict)

    def may_post(self, robot: str, row: int, count: int) -> bool:
        """Whether `count` posts for `row` may go now."""
        self._prune(robot)
        promised = self._promised[robot]
        if row in promised:
            del promised[row]
        elif promised:
            return False  # earlier rows are waiting for their moment
        return len(self._posts[robot]) + count <= max(self.limit, count)

    def posted(self, robot: str) -> None:
        self._posts[robot].append(self.clock())

    def fill(self, robot: str) -> None:
        """WeCom says the robot is at its limit: count the window as full from now."""
        now = self._prune(robot)
        posts = self._posts[robot]
        posts.extend([now] * max(0, self.limit - len(posts)))

    def defer(self, robot: str, row: int) -> float:
        """Seconds until `row` may come back: after the posts and the rows deferred before."""
        now = self._prune(robot)
        moments = sorted([*self._posts[robot],
                          *(at + self.slack for at in self._promised[robot].values())])
        at = now if len(moments) < self.limit else max(now, moments[-self.limit] + self.period)
        self._promised[robot][row] = at
        return at - now + SLOT_MARGIN

    def _prune(self, robot: str) -> float:
        now = self.clock()
        posts = self._posts[robot]
        while posts and posts[0] <= now - self.period:
            posts.popleft()
        # A promise long past was never claimed (the row was cancelled or failed elsewhere).
        promised = self._promised[robot]
        for row in [r for r, at in promised.items() if at < now - self.period]:
            del promised[row]
        return now


class WecomSender:
    """One sender loop posting the outbox rows of platform "wecom" to their robots."""

    def __init__(self, core: Core, client: RobotClient, deliver: Deliver, *,
                 limit: int = PER_ROBOT, period: float = PERIOD_SECONDS,
                 idle: float = IDLE_SECONDS, after: asyncio.Event | None = None,
                 release: dt.timedelta | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 claimed_by: int | None = None) -> None:
        self.core, self.client, self.deliver = core, client, deliver
        # This process's sender id (bot/singleton.py), written on the rows it claims.
        self.claimed_by = claimed_by
        self.window = Window(limit, period, clock, slack=SLOT_MARGIN + idle + CLAIM_LATENCY)
        self.idle = idle
        # Rows a dead process left "sending" are released once per start, for every platform:
        # by the Telegram OutboxSender if one runs (this sender waits for `after`), else here
        # (rows claimed more than `release` ago).
        self.after, self.release = after, release
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="wecom-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()

    def wake(self) -> None:
        """New rows were queued: look now rather than after the idle pause."""
        self._wake.set()

    async def run(self) -> None:
        """Drain forever; a failure in one round is logged and the next round goes on."""
        if self.after is not None:
            await self.after.wait()
        if self.release is not None:
            released = await asyncio.to_thread(self.core.outbox_release, self.release)
            if released:
                log.info("resending %d notices claimed before a restart", released)
        await drain_forever(self.drain_once, self._wake, self.idle, "WeCom")

    async def drain_once(self) -> int:
        """Claim one batch, post it robot by robot, record every result; returns its size."""
        batch = await asyncio.to_thread(self.core.outbox_claim, PLATFORM, BATCH,
                                    self.claimed_by)
        if not batch:
            return 0
        keys, everyone = await asyncio.to_thread(self._keys,
                                                 {item.message.chat_id for item in batch})
        per_robot: dict[str, list[Claimed]] = defaultdict(list)
        for item in batch:
            per_robot[item.message.chat_id].append(item)
        await asyncio.gather(*(self._robot(robot, keys.get(robot), items, robot in everyone)
                               for robot, items in per_robot.items()))
        run_ids = sorted({item.run_id for item in batch})
        await self.deliver(await asyncio.to_thread(self.core.outbox_progress, run_ids))
        return len(batch)

    def _keys(self, robot_ids: Iterable[str]) -> tuple[dict[str, str], set[str]]:
        """The robots' keys, and which of them mention everyone."""
        ids = [int(r) for r in robot_ids if r.isdigit()]
        with self.core.db.session() as session:
            return ({str(k): v for k, v in stored_robots.keys(session, ids).items()},
                    {str(r) for r in stored_robots.mentioning_all(session, ids)})

    async def _robot(self, robot: str, key: str | None, items: list[Claimed],
                     everyone: bool = False) -> None:
        """One robot's rows in order, so its group reads the notices as they were sent.

        Once the robot's API is unreachable, its other rows wait too instead of each
        waiting out its own timeout."""
        down: str | None = None
        for item in items:
            if down is None:
                result = await self._attempt(robot, key, item, everyone)
                down = result.error if result.error in _UNREACHABLE else None
            else:
                result = Result(item.delivery_id, retry_after=NETWORK_RETRY_SECONDS, error=down)
            await self.deliver(await asyncio.to_thread(self.core.outbox_report, result))

    async def _attempt(self, robot: str, key: str | None, item: Claimed,
                       everyone: bool = False) -> Result:
        """Post one row as markdown (in pieces if long), then the @all line if the robot
        mentions everyone, and say what became of it."""
        row = item.delivery_id
        if not key:
            return Result(row, error="robot removed")
        pieces = split_text(item.message.text, MAX_MARKDOWN_BYTES)
        if not self.window.may_post(robot, row, len(pieces) + everyone):
            return Result(row, retry_after=self.window.defer(robot, row), error="rate limited")
        try:
            for piece in pieces:
                await self.client.send_markdown(key, piece)
                self.window.posted(robot)
            if everyone:
                await self.client.send_text(key, self.core.catalogs.get(None)(
                    "robot.mention_all"), mention_all=True)
                self.window.posted(robot)
        except RobotError as error:
            if error.code == RATE_LIMITED:
                self.window.fill(robot)
                return Result(row, retry_after=self.window.defer(robot, row),
                              error=f"wecom {error}")
            retry = NETWORK_RETRY_SECONDS if error.code in RETRY_CODES else None
            return Result(row, retry_after=retry, error=f"wecom {error}")
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            if status == 429 or status >= 500:
                return Result(row, retry_after=NETWORK_RETRY_SECONDS, error=UNAVAILABLE)
            return Result(row, error=f"HTTP {status}")
        except httpx.TransportError:
            # Its message may hold the URL, key included: only the kind of failure is kept.
            return Result(row, retry_after=NETWORK_RETRY_SECONDS, error=UNREACHABLE)
        except ValueError:
            return Result(row, retry_after=NETWORK_RETRY_SECONDS, error="unreadable answer")
        return Result(row, message_id="")


class RobotPoster:
    """Posts what a handler sends to robots directly (not a notice of the outbox): the
    sign-in code a secretary asks for, its caption as markdown and the code as an image
    (a URL QR of the desk's sign-in page, which WeChat's camera opens)."""

    def __init__(self, core: Core, client: RobotClient) -> None:
        self.core, self.client = core, client

    async def deliver(self, messages: list[Outgoing]) -> None:
        ids = {m.chat_id for m in messages}
        keys = await asyncio.to_thread(self._keys, ids)
        for out in messages:
            key = keys.get(out.chat_id)
            if key is None:
                log.warning("a message for a removed robot was not posted")
                continue
            try:
                if out.text:
                    await self.client.send_markdown(key, out.text)
                if out.qr_payload is not None:
                    url = f"{self.core.rules.public_url}/desk/ci/{out.qr_payload}"
                    await self.client.send_image(key, qr.png(url))
            except (RobotError, httpx.HTTPError, ValueError) as error:
                log.warning("a robot did not post: %s", type(error).__name__)

    def _keys(self, robot_ids: Iterable[str]) -> dict[str, str]:
        ids = [int(r) for r in robot_ids if r.isdigit()]
        with self.core.db.session() as session:
            return {str(k): v for k, v in stored_robots.keys(session, ids).items()}
