"""A fake Telegram Bot API server on loopback, for driving the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import copy
import email.parser
import email.policy
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "123456789:TEST-fake-token_for_loopback_only"
BOT_ID = 123456789
BOT_USERNAME = "jinlin_test_bot"
WAIT_SECONDS = 5.0
# Parameters python-telegram-bot sends as JSON strings inside a form body.
_JSON_PARAMS = {"reply_markup", "commands", "scope", "allowed_updates", "entities",
                "caption_entities", "link_preview_options", "reply_parameters"}


@dataclass(frozen=True)
class Call:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    ok: bool = True


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

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 500_000_001
        self._next_message_id = 1
        self._chats: dict[int, dict[str, Any]] = {}
        self._failures: dict[str, list[int]] = {}
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
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/bot{token}/{method}", self._endpoint,
                                      methods=["GET", "POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Telegram server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)

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

    def fail_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 Too Many Requests."""
        with self._lock:
            self._failures.setdefault(method, []).extend([retry_after] * times)

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
        params = await _read_params(request)
        retry_after = self._take_failure(method)
        if retry_after is not None:
            self._record(method, params, ok=False)
            return _error(429, f"Too Many Requests: retry after {retry_after}",
                          {"retry_after": retry_after})
        handler = self._methods().get(method.lower())
        if handler is None:
            self._record(method, params, ok=False)
            return _error(404, "Not Found: method not found")
        if method.lower() == "getupdates":
            self._record(method, params)
            return _ok(await self._get_updates(params))
        result = handler(params)
        if isinstance(result, JSONResponse):
            self._record(method, params, ok=False)
            return result
        self._record(method, {**params, "__result__": result})
        return _ok(result)

    def _record(self, method: str, params: dict[str, Any], *, ok: bool = True) -> None:
        with self._changed:
            self.calls.append(Call(method, params, ok))
            self._changed.notify_all()

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        harmless: Callable[[dict[str, Any]], Any] = lambda _: True  # noqa: E731
        return {
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
            if pending or time.monotonic() >= deadline:
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

    def _take_failure(self, method: str) -> int | None:
        with self._lock:
            pending = self._failures.get(method)
            return pending.pop(0) if pending else None


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
