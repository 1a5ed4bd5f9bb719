"""A fake WeCom group robot webhook API on loopback, for driving bot/wecom.py's httpx client.

It answers `POST /cgi-bin/webhook/send?key=…` as WeCom does: errcode 0 for a known key,
93000 for an unknown one, 40058 for a text over 2048 bytes (a markdown over 4096), 40009 for
an image whose md5 is not that of its bytes or over 2 MB, and 45009 beyond `limit` posts per
key in any `period` seconds (a sliding window, 20 a minute like WeCom unless scaled down).
Messages may be text (with `mentioned_list`), markdown or image.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests import loopback

MAX_TEXT_BYTES = 2048
MAX_MARKDOWN_BYTES = 4096
MAX_IMAGE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Post:
    """One message a robot was asked to post, and WeCom's answer."""

    key: str
    body: dict[str, Any]
    errcode: int
    at: float = field(default_factory=time.monotonic, compare=False)

    @property
    def text(self) -> str:
        """The words posted, whether as text or as markdown."""
        kind = self.body.get("msgtype", "")
        return str(self.body.get(kind, {}).get("content", "")) if kind in ("text", "markdown") \
            else ""


class FakeWecom:
    """Robots by key, what was posted to each, and WeCom's per-robot limit."""

    def __init__(self, *, limit: int = 20, period: float = 60.0) -> None:
        self.limit, self.period = limit, period
        self.posts: list[Post] = []
        self._keys: set[str] = set()
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._lock = threading.Lock()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve on a free loopback port in a background thread."""
        app = Starlette(routes=[Route("/cgi-bin/webhook/send", self._send, methods=["POST"])])
        # No access log: it would print the key (and tests check that nothing logs it).
        self._server, self._thread, self.port = loopback.serve(
            app, "WeCom", access_log=False, log_config=None)

    def stop(self) -> None:
        loopback.stop(self._server, self._thread)

    # ------------------------------------------------------------ what tests use

    def add_robot(self, key: str) -> None:
        with self._lock:
            self._keys.add(key)

    def fail_next(self, key: str, errcode: int, errmsg: str, times: int = 1) -> None:
        """The next `times` posts to `key` are answered with this error."""
        with self._lock:
            self._failures.setdefault(key, []).extend([(errcode, errmsg)] * times)

    def texts(self, key: str) -> list[str]:
        """What the robot posted to its group, in order."""
        with self._lock:
            return [p.text for p in self.posts if p.key == key and p.errcode == 0]

    def bodies(self, key: str) -> list[dict[str, Any]]:
        """Every message the robot posted to its group, as posted, in order."""
        with self._lock:
            return [p.body for p in self.posts if p.key == key and p.errcode == 0]

    def answers(self, key: str) -> list[int]:
        with self._lock:
            return [p.errcode for p in self.posts if p.key == key]

    def most_in_any_window(self, key: str) -> int:
        """The most posts accepted for `key` within any `period` seconds."""
        with self._lock:
            times = [p.at for p in self.posts if p.key == key and p.errcode == 0]
        return max((sum(1 for t in times if start <= t < start + self.period)
                    for start in times), default=0)

    # ------------------------------------------------------------ the endpoint

    async def _send(self, request: Request) -> Response:
        key = request.query_params.get("key", "")
        body = await request.json()
        with self._lock:
            code, message = self._answer(key, body)
            self.posts.append(Post(key, body, code))
        return JSONResponse({"errcode": code, "errmsg": message})

    def _answer(self, key: str, body: dict[str, Any]) -> tuple[int, str]:
        now = time.monotonic()
        if key not in self._keys:
            return 93000, "invalid webhook url, hint: [fake]"
        if self._failures.get(key):
            return self._failures[key].pop(0)
        recent = [p for p in self.posts if p.key == key and p.errcode == 0
                  and p.at > now - self.period]
        if len(recent) >= self.limit:
            return 45009, "api freq out of limit"
        kind = body.get("msgtype")
        if kind == "image":
            return _image(body.get("image", {}))
        content = body.get(kind, {}).get("content", "") if kind in ("text", "markdown") else ""
        if not content:
            return 40008, "invalid message type"
        limit = MAX_MARKDOWN_BYTES if kind == "markdown" else MAX_TEXT_BYTES
        if len(content.encode()) > limit:
            return 40058, "content exceed max length"
        return 0, "ok"


def _image(image: dict[str, Any]) -> tuple[int, str]:
    try:
        data = base64.b64decode(image.get("base64", ""), validate=True)
    except ValueError:
        return 40009, "invalid image base64"
    if not data or len(data) > MAX_IMAGE_BYTES \
            or hashlib.md5(data).hexdigest() != image.get("md5"):  # noqa: S324 - WeCom's
        return 40009, "invalid image size or md5"
    return 0, "ok"
