"""A fake Telegram Bot API server on loopback, for driving the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import copy
import email.parser
import email.policy
import ipaddress
import json
import math
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests import loopback

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "123456789:TEST-fake-token_for_loopback_only"
BOT_ID = 123456789
BOT_USERNAME = "jinlin_test_bot"
WAIT_SECONDS = 5.0
KICKED = "Forbidden: bot was kicked from the group chat"
# Methods that post or change a message in a chat: they count against the flood limits and
# take the configured delay, as Telegram's round trip would.
MESSAGE_METHODS = {"sendmessage", "sendphoto", "editmessagetext"}
# Parameters python-telegram-bot sends as JSON strings inside a form body.
_JSON_PARAMS = {"reply_markup", "commands", "scope", "allowed_updates", "entities",
                "caption_entities", "link_preview_options", "reply_parameters"}


@dataclass(frozen=True)
class Call:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    ok: bool = True
    code: int = 200
    # time.monotonic() when the fake answered (CLOCK_MONOTONIC: comparable across processes)
    at: float = field(default_factory=time.monotonic, compare=False)
    # the token in the URL: lets a test tell apart processes sharing the fake (same bot)
    token: str = ""

    @property
    def chat_id(self) -> int | None:
        return _int_or_none(self.params.get("chat_id"))


@dataclass(frozen=True)
class Limits:
    """Telegram's flood limits as the fake enforces them (sliding windows): at most `overall`
    message requests in any `period` seconds, at most `per_group` to one group in any
    `group_period` seconds. Beyond them the fake answers 429 with `retry_after`."""

    overall: float = 30
    period: float = 1.0
    per_group: float = 20
    group_period: float = 60.0

    def scaled(self, factor: float) -> Limits:
        """The same windows with `factor` times the messages ("10x Telegram")."""
        return Limits(self.overall * factor, self.period, self.per_group * factor,
                      self.group_period)


class _Hold:
    """Requests of one method parked at the door until released (or dropped)."""

    def __init__(self) -> None:
        self.released = False
        self.drop = False
        self.waiting = 0


@dataclass(frozen=True)
class TgUser:
    """A Telegram user as the fake puts it into updates."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "zh-hans"
    is_bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot,
                                "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


BOT_USER = TgUser(BOT_ID, "近邻", username=BOT_USERNAME, language_code=None, is_bot=True)


def load_fixture(name: str) -> dict[str, Any]:
    """A real Bot API payload kept under tests/fixtures/."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def private_chat(user: TgUser) -> dict[str, Any]:
    """The private chat between `user` and the bot."""
    chat = {"id": user.id, "type": "private", "first_name": user.first_name}
    if user.username:
        chat["username"] = user.username
    return chat


def group_chat(chat_id: int, title: str) -> dict[str, Any]:
    """A supergroup."""
    return {"id": chat_id, "type": "supergroup", "title": title}


class FakeTelegram:
    """The Bot API methods the adapter uses, backed by lists a test can read and feed."""

    def __init__(self, *, limits: Limits | None = None, delay: float = 0.0) -> None:
        self.limits = limits
        # seconds each message request takes before Telegram has it (a network round trip)
        self.delay = delay
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 500_000_001
        self._next_message_id = 1
        self._chats: dict[int, dict[str, Any]] = {}
        # method -> [(only this chat, or any: None; retry_after)]
        self._failures: dict[str, list[tuple[int | None, int]]] = {}
        self._kicked: dict[int, str] = {}
        # (chat, message id) -> (text, reply markup) as the chat shows it now
        self._shown: dict[tuple[int, int], tuple[str, Any]] = {}
        self._holds: dict[str, _Hold] = {}
        self._overall: deque[float] = deque()
        self._per_group: dict[int, deque[float]] = {}
        self.limited = 0  # 429s answered because a request went beyond `limits`
        self.inflight = 0  # message requests received and not answered yet
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def start(self) -> None:
        """Serve on a free loopback port in a background thread."""
        app = Starlette(routes=[Route("/file/bot{token}/{path:path}", self._file_download),
                                Route("/bot{token}/{method}", self._endpoint,
                                      methods=["GET", "POST"])])
        self._server, self._thread, self.port = loopback.serve(app, "Telegram")

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        loopback.stop(self._server, self._thread)

    # ------------------------------------------------------------ what tests use

    def calls_to(self, method: str, *, failed_too: bool = False) -> list[Call]:
        """Calls of one method that succeeded (or all of them), in arrival order."""
        with self._lock:
            return [c for c in self.calls if c.method == method and (c.ok or failed_too)]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Texts of sendMessage calls, optionally only those to `chat_id`."""
        return [str(c.params["text"]) for c in self.calls_to("sendMessage")
                if chat_id is None or int(c.params["chat_id"]) == chat_id]

    async def wait_for(self, method: str, count: int) -> list[Call]:
        """Wait until `count` calls of `method` succeeded; fail the test after WAIT_SECONDS."""
        if not await asyncio.to_thread(self._wait_blocking, method, count):
            raise AssertionError(f"fewer than {count} {method} calls: {self.calls}")
        return self.calls_to(method)

    def _wait_blocking(self, method: str, count: int) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.calls_to(method)) >= count,
                                          timeout=WAIT_SECONDS)

    def fail_next(self, method: str, retry_after: int = 1, times: int = 1,
                  chat_id: int | None = None) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with 429."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(chat_id, retry_after)] * times)

    def add_chat(self, chat: dict[str, Any]) -> None:
        """A chat the bot may write to (a group it is in, a person who started it)."""
        self._remember_chat(chat)

    def kick(self, chat_id: int, description: str = KICKED) -> None:
        """The bot was removed from `chat_id`: sending there answers 403 `description`."""
        with self._lock:
            self._kicked[chat_id] = description

    def hold(self, method: str) -> None:
        """Park every following `method` request at the door, before Telegram has it."""
        with self._lock:
            self._holds.setdefault(method.lower(), _Hold())

    def release(self, method: str, *, drop: bool = False) -> int:
        """Let parked requests in; with `drop`, they never reach Telegram (the caller died).

        Returns how many were parked."""
        with self._lock:
            gate = self._holds.pop(method.lower(), None)
            if gate is None:
                return 0
            gate.released, gate.drop = True, drop
            return gate.waiting

    def held(self, method: str) -> int:
        with self._lock:
            gate = self._holds.get(method.lower())
            return gate.waiting if gate else 0

    def delivered(self, method: str = "sendMessage") -> Counter[int]:
        """How many times each chat accepted `method` (only successful calls)."""
        return Counter(c.chat_id for c in self.calls_to(method) if c.chat_id is not None)

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update for getUpdates; an `update_id` is assigned when missing."""
        with self._lock:
            if "update_id" not in update:
                update = {**update, "update_id": self._next_update_id}
                self._next_update_id += 1
            self._updates.append(update)
        return update

    def text_update(self, user: TgUser, chat: dict[str, Any], text: str,
                    reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        """A message update like Telegram's, with entities for commands and mentions."""
        update = load_fixture("telegram_group_message.json")
        message = update.pop("message")
        message.update(message_id=self._new_message_id(), date=int(time.time()),
                       chat=chat, text=text, entities=_entities(text))
        message["from"] = user.to_dict()
        if not message["entities"]:
            del message["entities"]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self._remember_chat(chat)
        del update["update_id"]
        return {**update, "message": message}

    def callback_update(self, user: TgUser, pressed: dict[str, Any],
                        data: str) -> dict[str, Any]:
        """A button press on the bot's message `pressed` (as the bot sent it)."""
        update = load_fixture("telegram_callback_query.json")
        query = update["callback_query"]
        query.update(id=str(self._new_message_id() * 7919), data=data,
                     message=copy.deepcopy(pressed))
        query["from"] = user.to_dict()
        query["chat_instance"] = str(-pressed["chat"]["id"] * 31)
        del update["update_id"]
        return update

    def send_document(self, user: TgUser, chat: dict[str, Any], file_name: str, data: bytes,
                      caption: str = "") -> dict[str, Any]:
        """Push a file message from `user`; the file can then be fetched like Telegram's."""
        update = self.text_update(user, chat, caption or "x")
        message = update["message"]
        del message["text"]
        message.pop("entities", None)
        if caption:
            message["caption"] = caption
        file_id = f"doc{len(self.files) + 1}"
        self.files[file_id] = data
        message["document"] = {"file_id": file_id, "file_unique_id": file_id,
                               "file_name": file_name, "file_size": len(data)}
        return self.push_update(update)

    async def _file_download(self, request: Request) -> Response:
        """The bytes of an uploaded file, as Telegram's file server gives them."""
        file_id = request.path_params["path"].rsplit("/", 1)[-1]
        if file_id not in self.files:
            return Response(status_code=404)
        return Response(self.files[file_id], media_type="application/octet-stream")

    def send_text(self, user: TgUser, chat: dict[str, Any], text: str,
                  reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        """Push a text message from `user` in `chat`."""
        return self.push_update(self.text_update(user, chat, text, reply_to))

    def press(self, user: TgUser, pressed: dict[str, Any], data: str) -> dict[str, Any]:
        """Push a button press by `user` on the bot's message `pressed`."""
        return self.push_update(self.callback_update(user, pressed, data))

    def sent_message(self, call: Call) -> dict[str, Any]:
        """The Message the fake answered a sendMessage/sendPhoto call with."""
        result: dict[str, Any] = call.params["__result__"]
        return result

    # ------------------------------------------------------------ the server side

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        token = request.path_params["token"]
        params = await _read_params(request)
        if method.lower() not in MESSAGE_METHODS:
            return await self._answer(method, params, token)
        if not await self._through_the_door(method):
            self._record(method, params, ok=False, code=503, token=token)
            return _error(503, "Service Unavailable: the sender was gone")
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return await self._answer(method, params, token)
        finally:
            with self._lock:
                self.inflight -= 1

    async def _through_the_door(self, method: str) -> bool:
        """Wait while `method` is held; False when the parked request is dropped.

        A request let in counts as in flight until answered."""
        with self._lock:
            gate = self._holds.get(method.lower())
            if gate is None:
                self.inflight += 1
                return True
            gate.waiting += 1
        # released from the test's thread: an asyncio.Event of this loop would not do
        while not gate.released:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        with self._lock:
            self.inflight += 0 if gate.drop else 1
        return not gate.drop

    async def _answer(self, method: str, params: dict[str, Any], token: str) -> JSONResponse:
        retry_after = self._take_failure(method, _int_or_none(params.get("chat_id")))
        if retry_after is not None:
            self._record(method, params, ok=False, code=429, token=token)
            return _error(429, f"Too Many Requests: retry after {retry_after}",
                          {"retry_after": retry_after})
        handler = self._methods().get(method.lower())
        if handler is None:
            self._record(method, params, ok=False, code=404, token=token)
            return _error(404, "Not Found: method not found")
        if method.lower() == "getupdates":
            self._record(method, params, token=token)
            return _ok(await self._get_updates(params))
        with self._lock:  # deciding, counting and recording are one step
            result = _refused_button(params) or handler(params)
            if not isinstance(result, JSONResponse) and method.lower() in MESSAGE_METHODS:
                result = self._within_limits(params) or result
            if isinstance(result, JSONResponse):
                self._record(method, params, ok=False, code=result.status_code, token=token)
                return result
            self._record(method, {**params, "__result__": result}, token=token)
            if isinstance(result, dict) and "text" in result:
                where = (int(result["chat"]["id"]), int(result["message_id"]))
                self._shown[where] = (result["text"], params.get("reply_markup"))
        return _ok(result)

    def _within_limits(self, params: dict[str, Any]) -> JSONResponse | None:
        """None when this message may go now (and count it), else Telegram's 429."""
        limits = self.limits
        if limits is None:
            return None
        now = time.monotonic()
        chat_id = int(params["chat_id"])
        windows = [(self._overall, limits.overall, limits.period)]
        if chat_id < 0:
            windows.append((self._per_group.setdefault(chat_id, deque()), limits.per_group,
                            limits.group_period))
        wait = 0.0
        for window, most, period in windows:
            while window and window[0] <= now - period:
                window.popleft()
            if len(window) >= most:
                wait = max(wait, window[0] + period - now)
        if wait > 0:
            self.limited += 1
            retry_after = max(1, math.ceil(wait))
            return _error(429, f"Too Many Requests: retry after {retry_after}",
                          {"retry_after": retry_after})
        for window, _most, _period in windows:
            window.append(now)
        return None

    def _record(self, method: str, params: dict[str, Any], *, ok: bool = True,
                code: int = 200, token: str = "") -> None:
        with self._changed:
            self.calls.append(Call(method, params, ok, code, token=token))
            self._changed.notify_all()

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        harmless: Callable[[dict[str, Any]], Any] = lambda _: True  # noqa: E731
        return {
            "getfile": lambda params: {
                "file_id": params["file_id"], "file_unique_id": params["file_id"],
                "file_size": len(self.files.get(params["file_id"], b"")),
                "file_path": f"documents/{params['file_id']}"},
            "getme": lambda _: {**BOT_USER.to_dict(), "can_join_groups": True,
                                "can_read_all_group_messages": False,
                                "supports_inline_queries": False},
            "getupdates": harmless,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "editmessagetext": self._edit_message_text,
            "answercallbackquery": harmless,
            "setmycommands": harmless,
            "deletewebhook": harmless,
            "setwebhook": harmless,
            "getwebhookinfo": lambda _: {"url": "", "has_custom_certificate": False,
                                         "pending_update_count": 0},
            "close": harmless,
            "logout": harmless,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        deadline = time.monotonic() + float(params.get("timeout", 0) or 0)
        while True:
            with self._lock:
                # Asking from `offset` confirms every update before it: Telegram forgets them.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                pending = self._updates[:limit]
            stopping = self._server is not None and self._server.should_exit
            if pending or stopping or time.monotonic() >= deadline:
                return pending
            await asyncio.sleep(0.01)

    def _send_message(self, params: dict[str, Any]) -> Any:
        chat = self._chat(params.get("chat_id"))
        if isinstance(chat, JSONResponse):
            return chat
        message = self._bot_message(chat, params)
        message["text"] = params["text"]
        return message

    def _send_photo(self, params: dict[str, Any]) -> Any:
        chat = self._chat(params.get("chat_id"))
        if isinstance(chat, JSONResponse):
            return chat
        message = self._bot_message(chat, params)
        message["photo"] = [{"file_id": "AgACAgIAAxk-fake", "file_unique_id": "AQADfake",
                             "width": 320, "height": 320, "file_size": 1024}]
        if params.get("caption"):
            message["caption"] = params["caption"]
        return message

    def _edit_message_text(self, params: dict[str, Any]) -> Any:
        chat = self._chat(params.get("chat_id"))
        if isinstance(chat, JSONResponse):
            return chat
        message = self._bot_message(chat, params, int(params["message_id"]))
        with self._lock:
            shown = self._shown.get((int(chat["id"]), message["message_id"]))
        if shown == (params["text"], params.get("reply_markup")):
            return _error(400, "Bad Request: message is not modified: specified new message "
                          "content and reply markup are exactly the same as a current content "
                          "and reply markup of the message")
        message.update(text=params["text"], edit_date=int(time.time()))
        return message

    def _bot_message(self, chat: dict[str, Any], params: dict[str, Any],
                     message_id: int | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id or self._new_message_id(), "from": BOT_USER.to_dict(),
            "chat": chat, "date": int(time.time())}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _chat(self, chat_id: Any) -> dict[str, Any] | JSONResponse:
        """The chat a bot may write to, or the error Telegram gives for it."""
        try:
            key = int(chat_id)
        except (TypeError, ValueError):
            return _error(400, "Bad Request: chat not found")
        with self._lock:
            chat = self._chats.get(key)
            kicked = self._kicked.get(key)
        if kicked is not None:
            return _error(403, kicked)
        if chat is not None:
            return chat
        if key > 0:
            return _error(403, "Forbidden: bot can't initiate conversation with a user")
        return _error(400, "Bad Request: chat not found")

    def _remember_chat(self, chat: dict[str, Any]) -> None:
        with self._lock:
            self._chats[int(chat["id"])] = chat

    def _new_message_id(self) -> int:
        with self._lock:
            self._next_message_id += 1
            return self._next_message_id

    def _take_failure(self, method: str, chat_id: int | None) -> int | None:
        with self._lock:
            pending = self._failures.get(method, [])
            for index, (only, retry_after) in enumerate(pending):
                if only is None or only == chat_id:
                    del pending[index]
                    return retry_after
            return None


_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{5,32})?")
_MENTION = re.compile(r"@[A-Za-z0-9_]{5,32}")


def _entities(text: str) -> list[dict[str, Any]]:
    """bot_command and mention entities as Telegram marks them (offsets in UTF-16 units)."""
    command = _COMMAND.match(text)
    marked = [("bot_command", command)] if command else []
    # A command's "@bot" suffix is part of the command, not a mention.
    marked += [("mention", m) for m in _MENTION.finditer(text, command.end() if command else 0)]
    return [{"offset": _utf16(text[:m.start()]), "length": _utf16(m.group()), "type": kind}
            for kind, m in marked]


def _refused_button(params: dict[str, Any]) -> JSONResponse | None:
    """Telegram's answer to a URL button it will not show: the whole message is refused.

    It accepts http(s) links to public hosts only; a host without a dot (localhost) or a
    loopback or private address gives 400 BUTTON_URL_INVALID."""
    markup = params.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    for button in (b for row in rows for b in row):
        host = urlsplit(str(button.get("url", "https://t.me"))).hostname or ""
        try:
            private = not ipaddress.ip_address(host).is_global
        except ValueError:
            private = "." not in host
        if private:
            return _error(400, "Bad Request: BUTTON_URL_INVALID")
    return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def _read_params(request: Request) -> dict[str, Any]:
    """Form, multipart or JSON body (and query string) as one dict; nested JSON decoded."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    params: dict[str, Any] = dict(request.query_params)
    if content_type.startswith("application/json") and body:
        params.update(json.loads(body))
        return params
    if content_type.startswith("multipart/form-data"):
        params.update(_multipart(content_type, body))
    elif body:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    for key in _JSON_PARAMS & params.keys():
        if isinstance(params[key], str):
            params[key] = json.loads(params[key])
    return params


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Fields of a multipart/form-data body; a file field becomes its bytes."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        fields[str(name)] = content if part.get_filename() else content.decode()
    return fields


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(code: int, description: str,
           parameters: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code)
