"""A fake WeChat API server on loopback, and callbacks built exactly as WeChat sends them.

The server answers what the adapter calls through the real wechatpy client: `token`,
`qrcode/create`, `media/upload`, `message/custom/send` and `message/template/send`
(under `/cgi-bin/`). For 网页授权 (OAuth `snsapi_base`) it plays both sides:
`/connect/oauth2/authorize` sends the browser back to the page's redirect_uri with a code for
`oauth_openid` (as WeChat does for whoever opened the page in WeChat), and
`/sns/oauth2/access_token` exchanges that code, once, for the openid. `Follower` builds a
follower's messages and events as WeChat posts them to the callback URL: the XML of the real
payloads (tests/fixtures/wechat_*.xml), signed with the account's token and, in safe mode,
AES-encrypted with its EncodingAESKey, using wechatpy's own crypto.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
import xmltodict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from wechatpy.crypto import PrpCrypto, WeChatCrypto

from tests import loopback

FIXTURES = Path(__file__).parent / "fixtures"
APP_ID = "wx5d3f8a1c2b7e9f04"
APP_SECRET = "fake-app-secret-for-loopback-only"
TOKEN = "jinlinFakeToken2026"
# An EncodingAESKey: 43 characters of base64 for 32 bytes.
AES_KEY = base64.b64encode(hashlib.sha256(b"jinlin test key").digest()).decode().rstrip("=")
ACCOUNT_ID = "gh_3a7f2c9e1b05"
ACCESS_TOKEN = "FAKE_ACCESS_TOKEN_LOOPBACK"
# Customer-service messages are accepted this long after the follower last wrote.
WINDOW_SECONDS = 48 * 3600


@dataclass(frozen=True)
class Call:
    """One API request the adapter made: the path after /cgi-bin/, the query and the body."""

    path: str
    query: dict[str, str]
    body: dict[str, Any]
    upload: bytes = b""


@dataclass
class FakeWechat:
    """The WeChat API on a free loopback port, recording every call."""

    calls: list[Call] = field(default_factory=list)
    # openid -> errcode the customer-service API answers for it (45015: out of the window)
    refuse: dict[str, int] = field(default_factory=dict)
    # openid -> errcode the template message API answers for it (43004: unfollowed)
    refuse_template: dict[str, int] = field(default_factory=dict)
    # The URLs of the parametric QR codes created, in order (what their images encode).
    qr_urls: list[str] = field(default_factory=list)
    # The follower whose WeChat opens pages next (who 网页授权 says it is), if anyone.
    oauth_openid: str | None = None
    # With a clock (seconds), customer-service messages to a follower who has not written for
    # 48 hours are refused with 45015, as WeChat does; `saw` records each follower's writing.
    clock: Callable[[], float] | None = None
    last_wrote: dict[str, float] = field(default_factory=dict)
    port: int = 0
    _codes: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/"

    @property
    def oauth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/connect/"

    def start(self) -> None:
        app = Starlette(routes=[Route("/cgi-bin/{path:path}", self._endpoint,
                                      methods=["GET", "POST"]),
                                Route("/connect/oauth2/authorize", self._authorize),
                                Route("/sns/oauth2/access_token", self._oauth_token)])
        self._server, self._thread, self.port = loopback.serve(app, "WeChat")

    def stop(self) -> None:
        loopback.stop(self._server, self._thread)

    # ------------------------------------------------------------ what tests read

    def saw(self, openid: str, at: float) -> None:
        """The follower wrote to the account at `at`: their 48-hour window opens."""
        with self._lock:
            self.last_wrote[openid] = max(at, self.last_wrote.get(openid, 0.0))

    def _window_closed(self, openid: str) -> bool:
        if self.clock is None:
            return False
        with self._lock:
            wrote = self.last_wrote.get(openid)
        return wrote is None or self.clock() - wrote > WINDOW_SECONDS

    def calls_to(self, path: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path == path]

    def sent(self, openid: str | None = None) -> list[dict[str, Any]]:
        """Customer-service messages accepted, optionally only those to `openid`."""
        return [c.body for c in self.calls_to("message/custom/send")
                if c.body.get("touser") == openid or openid is None
                if c.body.get("touser") not in self.refuse and not c.query.get("refused")]

    def templates_to(self, openid: str) -> list[dict[str, Any]]:
        """Template messages accepted for `openid`."""
        return [c.body for c in self.calls_to("message/template/send")
                if c.body.get("touser") == openid
                and c.body.get("touser") not in self.refuse_template
                and not c.query.get("refused")]

    def texts_to(self, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent(openid) if m["msgtype"] == "text"]

    def images_to(self, openid: str) -> list[bytes]:
        """The uploaded images sent to `openid`, in order."""
        uploads = {c.query["media_id"]: c.upload for c in self.calls_to("media/upload")}
        return [uploads[m["image"]["media_id"]] for m in self.sent(openid)
                if m["msgtype"] == "image"]

    def scenes(self) -> list[str]:
        return [c.body["action_info"]["scene"]["scene_str"] for c in self.calls_to("qrcode/create")]

    # ------------------------------------------------------------ the API

    async def _endpoint(self, request: Request) -> JSONResponse:
        path = request.path_params["path"]
        query = dict(request.query_params)
        if path == "token":
            return self._token(query)
        if query.get("access_token") != ACCESS_TOKEN:
            return JSONResponse({"errcode": 40014, "errmsg": "invalid access_token"})
        if path == "media/upload":
            data = _uploaded(request.headers["content-type"], await request.body())
            media_id = f"MEDIA_{next(self._ids)}"
            self._record(Call(path, {**query, "media_id": media_id}, {}, data))
            return JSONResponse({"type": query.get("type"), "media_id": media_id,
                                 "created_at": int(time.time())})
        body = json.loads(await request.body() or b"{}")
        if path == "message/custom/send" and not self.refuse.get(body.get("touser", "")) \
                and self._window_closed(body.get("touser", "")):
            query = {**query, "refused": "45015"}  # marked, so `sent` leaves it out
        if path == "message/template/send" and _too_long_for_a_thing(body):
            query = {**query, "refused": "47003"}
        self._record(Call(path, query, body))
        if path == "qrcode/create":
            ticket = f"gQH{next(self._ids):06d}"
            url = f"http://weixin.qq.com/q/{ticket}"
            with self._lock:
                self.qr_urls.append(url)
            return JSONResponse({"ticket": ticket, "expire_seconds": body["expire_seconds"],
                                 "url": url})
        if path == "menu/create":
            return JSONResponse({"errcode": 0, "errmsg": "ok"})
        if path == "message/template/send":
            code = self.refuse_template.get(body.get("touser", ""), 0) \
                or int(query.get("refused", 0))
            return JSONResponse({"errcode": code, "errmsg": "ok" if not code else "refused",
                                 "msgid": next(self._ids)})
        if path == "message/custom/send":
            code = self.refuse.get(body.get("touser", ""), 0) or int(query.get("refused", 0))
            return JSONResponse({"errcode": code, "errmsg": "ok" if not code else
                                 "response out of time limit or subscription is canceled"})
        return JSONResponse({"errcode": 40004, "errmsg": "not faked"})

    async def _authorize(self, request: Request) -> Response:
        """WeChat's authorization page: for snsapi_base it asks nothing and sends the browser
        straight back with a code."""
        query = dict(request.query_params)
        self._record(Call("oauth2/authorize", query, {}))
        if query.get("appid") != APP_ID or query.get("scope") != "snsapi_base" \
                or self.oauth_openid is None:
            return PlainTextResponse("bad request", status_code=400)
        code = f"CODE{next(self._ids)}"
        with self._lock:
            self._codes[code] = self.oauth_openid
        answer = urlencode({"code": code, "state": query.get("state", "")})
        back = f"{query['redirect_uri']}?{answer}"
        return RedirectResponse(back, status_code=302)

    async def _oauth_token(self, request: Request) -> JSONResponse:
        query = dict(request.query_params)
        self._record(Call("sns/oauth2/access_token", query, {}))
        with self._lock:
            openid = self._codes.pop(query.get("code", ""), None)
        if query.get("appid") != APP_ID or query.get("secret") != APP_SECRET:
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        if openid is None:
            return JSONResponse({"errcode": 40029, "errmsg": "invalid code"})
        return JSONResponse({"access_token": "FAKE_OAUTH_TOKEN", "expires_in": 7200,
                             "refresh_token": "FAKE_REFRESH", "openid": openid,
                             "scope": "snsapi_base"})

    def _token(self, query: dict[str, str]) -> JSONResponse:
        self._record(Call("token", query, {}))
        if query.get("appid") != APP_ID or query.get("secret") != APP_SECRET:
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        return JSONResponse({"access_token": ACCESS_TOKEN, "expires_in": 7200})

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


# ---------------------------------------------------------------- callbacks


def _uploaded(content_type: str, body: bytes) -> bytes:
    """The bytes of the `media` part of a multipart upload."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "media":
            return bytes(part.get_payload(decode=True))
    raise AssertionError("no media part in the upload")


def _fill(xml: str, tag: str, value: str) -> str:
    """The fixture with one element's value replaced, keeping its CDATA wrapping."""
    pattern = re.compile(rf"<{tag}>(<!\[CDATA\[)?.*?(\]\]>)?</{tag}>", re.DOTALL)
    match = pattern.search(xml)
    assert match is not None, tag
    inner = f"<![CDATA[{value}]]>" if match[1] else value
    return xml[:match.start()] + f"<{tag}>{inner}</{tag}>" + xml[match.end():]


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's


def _too_long_for_a_thing(body: dict[str, Any]) -> bool:
    """Whether a category template's "thing" field holds more than WeChat's 20 characters
    (WeChat answers 47003 "argument invalid! data.thing2.value invalid")."""
    fields = body.get("data") or {}
    return any(re.fullmatch(r"thing\d*", name) and len(str(field.get("value", ""))) > 20
               for name, field in fields.items() if isinstance(field, dict))


@dataclass
class Follower:
    """One follower of the Official Account posting to the bot's callback URL.

    WeChat signs each request with the current time and a random nonce: `clock` is the
    bot's clock (seconds), so the signature is fresh for the bot under test.
    """

    openid: str
    url: str
    aes: bool = True
    clock: Callable[[], float] = time.time
    # Told each time this follower writes (FakeWechat.saw): WeChat's 48-hour window.
    wrote: Callable[[str, float], None] | None = None
    _created: int = field(init=False, default=0)
    _msg_ids: itertools.count[int] = field(init=False)

    def __post_init__(self) -> None:
        # MsgIds are unique across followers, as WeChat's are.
        start = int(hashlib.sha1(self.openid.encode()).hexdigest()[:8], 16)  # noqa: S324
        self._msg_ids = itertools.count(24780000000000000 + start * 1000)

    def text(self, content: str, msg_id: int | None = None) -> tuple[dict[str, str], bytes]:
        """A text message (as in tests/fixtures/wechat_text.xml)."""
        return self._build("wechat_text.xml", Content=content,
                           MsgId=str(msg_id or next(self._msg_ids)))

    def scan(self, scene: str) -> tuple[dict[str, str], bytes]:
        """A follower scanning a parametric code (tests/fixtures/wechat_scan.xml)."""
        return self._build("wechat_scan.xml", EventKey=scene)

    def subscribe_by_scan(self, scene: str) -> tuple[dict[str, str], bytes]:
        """A new follower subscribing by scanning a parametric code."""
        return self._build("wechat_subscribe_scan.xml", EventKey=f"qrscene_{scene}")

    def location(self, same_second: bool = False) -> tuple[dict[str, str], bytes]:
        """The location report WeChat sends when a follower opens the chat (if allowed);
        `same_second`: in the same second as the previous event."""
        if same_second:
            self._created -= 1
        return self._build("wechat_location.xml")

    def click(self, key: str) -> tuple[dict[str, str], bytes]:
        """A tap on a custom menu item of kind "click"."""
        return self._build("wechat_click.xml", EventKey=key)

    def image(self) -> tuple[dict[str, str], bytes]:
        return self._build("wechat_image.xml", MsgId=str(next(self._msg_ids)))

    def _build(self, fixture: str, **fields: str) -> tuple[dict[str, str], bytes]:
        # Events are told apart by their CreateTime: each one a second after the last.
        self._created = max(self._created + 1, int(self.clock()))
        xml = (FIXTURES / fixture).read_text(encoding="utf-8")
        values = {"ToUserName": ACCOUNT_ID, "FromUserName": self.openid,
                  "CreateTime": str(self._created), **fields}
        if self.wrote is not None and fixture != "wechat_location.xml":
            self.wrote(self.openid, self.clock())
        for tag, value in values.items():
            xml = _fill(xml, tag, value)
        return self.seal(xml)

    def seal(self, xml: str) -> tuple[dict[str, str], bytes]:
        """Sign (and in safe mode encrypt) an XML body as WeChat does: the query and body."""
        timestamp, nonce = str(int(self.clock())), str(secrets.randbelow(10**10))
        query = {"signature": _signature(TOKEN, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "openid": self.openid}
        if not self.aes:
            return query, xml.encode()
        encrypt = PrpCrypto(base64.b64decode(AES_KEY + "=")).encrypt(xml, APP_ID).decode()
        query.update(encrypt_type="aes", msg_signature=_signature(TOKEN, timestamp, nonce,
                                                                   encrypt))
        body = (f"<xml><ToUserName><![CDATA[{ACCOUNT_ID}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        return query, body.encode()

    async def post(self, http: httpx.AsyncClient, sealed: tuple[dict[str, str], bytes]
                   ) -> httpx.Response:
        query, body = sealed
        return await http.post(self.url, params=query, content=body,
                               headers={"Content-Type": "text/xml"})

    def read_reply(self, response: httpx.Response) -> str:
        """The text of a passive reply ("" for "success"), decrypted in safe mode."""
        assert response.status_code == 200, response.status_code
        if response.text == "success":
            return ""
        xml = response.text
        if self.aes:
            outer = xmltodict.parse(xml)["xml"]
            crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
            xml = crypto.decrypt_message(xml, outer["MsgSignature"], outer["TimeStamp"],
                                         outer["Nonce"])
        reply = xmltodict.parse(xml)["xml"]
        assert reply["ToUserName"] == self.openid, reply
        assert reply["FromUserName"] == ACCOUNT_ID
        assert reply["MsgType"] == "text"
        return str(reply["Content"])
