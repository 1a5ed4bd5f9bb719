"""The WeChat Official Account adapter: callbacks to `Incoming`, `Outgoing` to WeChat.

WeChat posts each message or event to `/wechat` (signed with the account's token, and in
safe mode AES-encrypted with its EncodingAESKey) and drops the connection after 5 seconds,
then retries the same message three times. So: the answer goes back in the HTTP response
("passive reply") when it is ready within a budget of about 4 seconds; otherwise the
response is "success" and the answer follows through the customer-service API, which
WeChat accepts only within 48 hours of the follower's last message. A retry is handled
once: while the first is still running it is answered "success", later its passive reply is
repeated, and after a restart the core's record of processed updates refuses it.

wechatpy is synchronous (requests), so every API call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import functools
import io
import logging
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from xml.parsers.expat import ExpatError

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy import WeChatClient, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import ClickEvent, ScanEvent, SubscribeEvent, SubscribeScanEvent
from wechatpy.exceptions import (
    InvalidAppIdException,
    InvalidSignatureException,
    WeChatClientException,
)
from wechatpy.messages import BaseMessage, TextMessage
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bot import qr
from bot.bodies import MAX_BODY_BYTES, TooLarge, read_body
from bot.delivery import Registry
from bot.ordering import ChatLocks
from bot.settings import Settings
from bot.telegram import POSTGRES_CORE_THREADS, SQLITE_CORE_THREADS
from bot.wechat_numbers import Ambiguous, Picked, pick
from bot.wechat_render import PLATFORM, Bundle, chunks, render, render_in
from bot.wechat_shared import CallbackState, TokenStore, follower_turn, shared
from handlers.core import Core
from handlers.messages import Button, ChatKind, Incoming, Outgoing, Sender
from storage import wechat_users

log = logging.getLogger(__name__)
T = TypeVar("T")

PATH = "/wechat"
SUCCESS = "success"
# Customer-service messages are accepted this long after the follower's last message.
SERVICE_WINDOW = dt.timedelta(hours=48)
# WeChat's codes for "outside the reply window" and "too many replies in the window".
WINDOW_ERRORS = {45015, 45047}
# Temporary parametric QR codes live at most 30 days; a scene holds at most 64 characters.
QR_MAX_SECONDS = 30 * 24 * 3600
QR_MAX_SCENE = 64
# Rotating codes' QR addresses remembered (one per activity, direction and period).
ROTATING_KEPT = 200
API_TIMEOUT_SECONDS = 10
# A callback signed further than this from our clock is refused (an old one replayed).
FRESH_SECONDS = 300
# Nonces are remembered past the whole window (both sides), then forgotten.
NONCE_KEPT = dt.timedelta(seconds=2 * FRESH_SECONDS + 60)
MAX_NONCE = 64


class ConfigError(RuntimeError):
    """A setting the WeChat adapter needs is missing or malformed."""


class WechatClient(WeChatClient):
    """wechatpy's client with its API base URL and its token URL both configurable."""

    def __init__(self, app_id: str, secret: str, base_url: str,
                 timeout: float = API_TIMEOUT_SECONDS, tokens: TokenStore | None = None) -> None:
        super().__init__(app_id, secret, timeout=timeout, session=tokens)
        self.API_BASE_URL = base_url.rstrip("/") + "/"
        # Shared by every process (Redis): one of them refreshes the token at a time.
        self.tokens = tokens

    def fetch_access_token(self) -> Any:
        """Fetch a token from `<base>token` (wechatpy hard-codes api.weixin.qq.com); with a
        shared store, only when no other process is fetching one already."""
        if self.tokens is not None:
            return self.tokens.refresh_once(self.access_token_key, self._fetch_token)
        return self._fetch_token()

    def _fetch_token(self) -> Any:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid,
                    "secret": self.secret})


@dataclass(frozen=True)
class Account:
    """The Official Account's callback secrets."""

    app_id: str
    token: str
    aes_key: str | None = None

    def crypto(self) -> WeChatCrypto | None:
        if not self.aes_key:
            return None
        return WeChatCrypto(self.token, self.aes_key, self.app_id)


class Refused(Exception):
    """A callback to answer with this HTTP status and nothing else."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class _Job:
    """One callback being handled; `lost` once WeChat stopped waiting for its reply."""

    task: asyncio.Task[list[Bundle]] | None = None
    lost: bool = False
    openid: str = ""


class WechatAdapter:
    """Hands each callback to the core and answers passively or through the service API."""

    def __init__(self, core: Core, account: Account, client: WechatClient, *,
                 budget_seconds: float = 4.0, registry: Registry | None = None,
                 callbacks: CallbackState | None = None) -> None:
        self.core, self.account, self.client = core, account, client
        self.crypto = account.crypto()
        self.budget = budget_seconds
        # How messages for other platforms (a secretary on Telegram) leave; WeChat's own
        # messages reach the registry through `deliver`.
        self.registry = registry if registry is not None else Registry()
        self.registry.register(PLATFORM, self.deliver)
        self._jobs: dict[str, _Job] = {}
        # What every worker knows of the callbacks being answered and the replies kept for
        # retries (bot/wechat_shared.py): in Redis when several workers share the account.
        self.callbacks = callbacks if callbacks is not None else CallbackState()
        self._followers = ChatLocks()
        self._background: set[asyncio.Task[None]] = set()
        self._pruned = dt.datetime.min.replace(tzinfo=dt.UTC)
        # SQLite takes one writer at a time: more threads only fight over it (as Telegram's).
        workers = SQLITE_CORE_THREADS if core.db.is_sqlite else POSTGRES_CORE_THREADS
        self._threads = ThreadPoolExecutor(workers, thread_name_prefix="jinlin-wechat")
        # Nonces are checked beside the updates (a retry must not wait behind the update it
        # repeats), one at a time: in a burst, more threads only take turns at the GIL.
        self._nonces = ThreadPoolExecutor(1, thread_name_prefix="jinlin-wechat-nonce")
        # Set by the followers' sender when a template message is configured for messages
        # past the 48-hour window: they are queued for it (and it is woken) instead of missed.
        self.past_window: Callable[[], None] | None = None

    async def _in_core_thread(self, work: Callable[..., T], *args: Any) -> T:
        """`work` on one of the adapter's database threads."""
        return await asyncio.get_running_loop().run_in_executor(
            self._threads, functools.partial(work, *args))

    def routes(self) -> list[Route]:
        """The callback endpoint, to be served by the project's Starlette app."""
        return [Route(PATH, self.callback, methods=["GET", "POST"])]

    # ------------------------------------------------------------ the callback

    async def callback(self, request: Request) -> Response:
        """GET: WeChat checks the URL; POST: a message or event from a follower."""
        query = request.query_params
        try:
            self._check_signature(query.get("signature", ""), query.get("timestamp", ""),
                                  query.get("nonce", ""))
            timestamp = self._fresh(query.get("timestamp", ""))
            if request.method == "GET":
                return PlainTextResponse(query.get("echostr", ""))
            message = self._open(await self._body(request), query)
            await asyncio.get_running_loop().run_in_executor(
                self._nonces, self._first_use, timestamp, query.get("nonce", ""))
        except Refused as refusal:
            return Response(status_code=refusal.status)
        reply = await self.answer(message)
        return self._seal(reply, query)

    def _check_signature(self, signature: str, timestamp: str, nonce: str) -> None:
        try:
            check_signature(self.account.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            log.warning("refused a WeChat callback with a bad signature")
            raise Refused(403) from None

    def _fresh(self, timestamp: str) -> int:
        """The callback's timestamp, refused when it is not within the window of our clock."""
        now = self.core.clock().timestamp()
        if not timestamp.isdigit() or abs(int(timestamp) - now) > FRESH_SECONDS:
            log.warning("refused a WeChat callback signed outside ±%d s", FRESH_SECONDS)
            raise Refused(403)
        return int(timestamp)

    def _first_use(self, timestamp: int, nonce: str) -> None:
        """Refuse a (timestamp, nonce) pair seen before: a replayed callback."""
        now = self.core.clock()
        if not 0 < len(nonce) <= MAX_NONCE:
            raise Refused(403)
        with self.core.db.session() as session:
            if now - self._pruned > NONCE_KEPT:
                wechat_users.prune_nonces(session, now - NONCE_KEPT)
                self._pruned = now
            if not wechat_users.fresh_nonce(session, timestamp, nonce, now):
                log.warning("refused a replayed WeChat callback (nonce seen before)")
                raise Refused(403)

    @staticmethod
    async def _body(request: Request) -> bytes:
        try:
            return await read_body(request)
        except TooLarge:
            log.warning("refused a WeChat callback over %d bytes", MAX_BODY_BYTES)
            raise Refused(413) from None

    def _open(self, body: bytes, query: Any) -> BaseMessage:
        """The message in a POST body, decrypted in safe mode."""
        encrypted = query.get("encrypt_type") == "aes"
        if self.crypto is not None and not encrypted:
            # In plaintext the signature does not cover the body: with a key, insist on AES.
            log.warning("refused a plaintext WeChat callback: an AES key is configured")
            raise Refused(403)
        try:
            xml = body.decode()
            if encrypted:
                if self.crypto is None:
                    raise Refused(400)
                xml = self.crypto.decrypt_message(xml, query.get("msg_signature", ""),
                                                  query.get("timestamp", ""),
                                                  query.get("nonce", ""))
            message = parse_message(xml)
        except (InvalidSignatureException, InvalidAppIdException):
            log.warning("refused a WeChat callback whose message signature is wrong")
            raise Refused(403) from None
        except (ExpatError, KeyError, TypeError, ValueError, AttributeError,
                RecursionError) as error:
            log.warning("unreadable WeChat callback: %s", type(error).__name__)
            raise Refused(400) from None
        if message is None or not message.source:
            raise Refused(400)
        return message

    def _seal(self, reply: str, query: Any) -> Response:
        if reply == SUCCESS:
            return PlainTextResponse(SUCCESS)
        if self.crypto is not None:
            reply = self.crypto.encrypt_message(reply, query.get("nonce", ""),
                                                query.get("timestamp", ""))
        return Response(reply, media_type="application/xml")

    # ------------------------------------------------------------ answering

    async def answer(self, message: BaseMessage) -> str:
        """The passive reply XML for one message, or "success" (the rest follows later)."""
        key = update_key(message)
        job = self._jobs.get(key)
        if job is not None:
            # WeChat only retries once it gave up on the first connection.
            job.lost = True
            return SUCCESS
        remembered = self.callbacks.reply(key)
        if remembered is not None:
            return remembered
        if not self.callbacks.begin(key):
            return SUCCESS  # another worker answers it, and now knows WeChat gave up waiting
        job = _Job(openid=message.source)
        self._jobs[key] = job
        job.task = asyncio.create_task(self._handle(message))
        job.task.add_done_callback(lambda _task: self._jobs.pop(key, None))
        try:
            bundles = await asyncio.wait_for(asyncio.shield(job.task), self.budget)
        except TimeoutError:
            job.lost = True
            log.info("answer to %s took longer than %.1f s: sending it through the "
                     "customer-service API", key, self.budget)
            job.task.add_done_callback(self._send_later)
            job.task.add_done_callback(lambda _task: self.callbacks.end(key))
            return SUCCESS
        except Exception:
            # The core already answers its own failures; this is the adapter's (a database
            # error while rendering): say nothing rather than have WeChat retry it.
            log.exception("a WeChat callback failed")
            self.callbacks.end(key)
            return SUCCESS
        if job.lost or self.callbacks.lost(key):
            self.callbacks.end(key)
            self._spawn(self.send_bundles(bundles))
            return SUCCESS
        reply = self._passive(message, bundles)
        if reply != SUCCESS:
            self.callbacks.remember(key, reply)
        self.callbacks.end(key)
        return reply

    def _send_later(self, task: asyncio.Task[list[Bundle]]) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("a slow WeChat callback failed", exc_info=task.exception())
            return
        self._spawn(self.send_bundles(task.result()))

    def _passive(self, message: BaseMessage, bundles: list[Bundle]) -> str:
        """Take the sender's first text as the passive reply; the rest goes out later."""
        mine = next((b for b in bundles if b.openid == message.source), None)
        texts = chunks(mine.texts) if mine else []
        if mine is not None:
            mine.texts = texts[1:]
        later = [b for b in bundles if b.texts or b.images or b.qr_payloads]
        if later:  # the common answer is one text, all of it in the reply: no thread for it
            self._spawn(self.send_bundles(later))
        if not texts:
            return SUCCESS
        reply = TextReply(content=texts[0], source=message.target, target=message.source,
                          time=int(time.time()))
        return str(reply.render())

    async def _handle(self, message: BaseMessage) -> list[Bundle]:
        """Run the message through the core (one follower at a time, in order)."""
        async with self._followers.held(message.source):
            return await self._in_core_thread(self._handle_in_turn, message)

    def _handle_in_turn(self, message: BaseMessage) -> list[Bundle]:
        """`_handle_sync` in the follower's turn among all processes."""
        with follower_turn(self.core.db, message.source):
            return self._handle_sync(message)

    def _handle_sync(self, message: BaseMessage) -> list[Bundle]:
        now = self.core.clock()
        # The number is read against what the follower had been sent before this message.
        incoming, asked = self._incoming_or_question(message, now)
        answers = [] if incoming is None else self.core.handle(incoming)
        if asked is not None:
            answers = [asked]
        if message.type not in ("text", "event"):
            answers = [self._say(message.source, "wechat.text_only")]
        self._pass_on([o for o in answers if o.platform != PLATFORM])
        # One transaction: the window opens, the missed count is told, the answer is kept.
        with self.core.db.session() as session:
            missed = wechat_users.seen(session, message.source, now)
            if missed:
                answers.insert(0, self._say(message.source, "wechat.missed", count=missed))
            return render_in(session, self.core.catalogs, answers, now)

    def _say(self, openid: str, key: str, **params: object) -> Outgoing:
        return Outgoing(PLATFORM, openid, self.core.catalogs.get(None)(key, **params))

    def _incoming_or_question(self, message: BaseMessage, now: dt.datetime
                              ) -> tuple[Incoming | None, Outgoing | None]:
        """The core's view of a message, or the question which message a number answers."""
        found = None
        if isinstance(message, TextMessage):
            found = self._picked(message.source, message.content or "", now)
            if isinstance(found, Ambiguous):
                return None, self._which(message.source, found)
        return self.to_incoming(message, found if isinstance(found, Picked) else None), None

    def to_incoming(self, message: BaseMessage, picked: Picked | None = None
                    ) -> Incoming | None:
        """The core's view of a message (`picked`: the option a typed number stands for),
        or None for events that mean nothing to it."""
        text, button = "", None
        if isinstance(message, TextMessage):
            text = message.content or ""
            if picked is not None:
                text, button = _pressed(picked.option)
        elif isinstance(message, ScanEvent | SubscribeScanEvent):
            text = f"/start {message.scene_id}".strip()
        elif isinstance(message, SubscribeEvent):
            text = "/start"
        elif isinstance(message, ClickEvent) and _MENU_KEY.fullmatch(message.key or ""):
            text = f"/{message.key}"  # a menu item: as if its command were typed
        else:
            return None
        return Incoming(PLATFORM, message.source, ChatKind.PRIVATE,
                        Sender(PLATFORM, message.source), text=text, button_data=button,
                        update_key=update_key(message))

    def _picked(self, openid: str, text: str, now: dt.datetime) -> Picked | Ambiguous | None:
        """What a typed number answers (None: it is text, or the open form's answer)."""
        typed = text.strip()
        if not (typed.isascii() and typed.isdigit() and len(typed) <= 3):
            return None
        if self.core.form_takes_numbers(PLATFORM, openid):
            return None  # the open form numbers its buttons the same way
        with self.core.db.reading() as session:
            kept, sent, read = wechat_users.prompts(session, openid)
        return pick(kept, sent, read, int(typed), now) if kept else None

    def _which(self, openid: str, found: Ambiguous) -> Outgoing:
        """"你是要回复哪一条？" with every option still open, numbered afresh."""
        t = self.core.catalogs.get(None)
        buttons = [[Button(t("wechat.which_option", label=o.get("label", ""),
                             about=o.get("about", "")),
                           data=o.get("data"), start_payload=o.get("start"))]
                   for o in found.options]
        return Outgoing(PLATFORM, openid, t("wechat.which"), buttons)

    # ------------------------------------------------------------ sending

    async def deliver(self, messages: list[Outgoing]) -> None:
        """Send messages from timers or other platforms' updates (all through the API)."""
        self._pass_on([o for o in messages if o.platform != PLATFORM])
        now = self.core.clock()
        bundles = await asyncio.to_thread(render, self.core.db, self.core.catalogs,
                                          messages, now)
        await self.send_bundles(bundles)

    def _pass_on(self, messages: list[Outgoing]) -> None:
        if not messages:
            return
        self._spawn(self.registry.deliver(messages))

    async def send_bundles(self, bundles: list[Bundle]) -> None:
        """Send each follower their texts, then their images, through the service API."""
        for bundle in bundles:
            try:
                await asyncio.to_thread(self._send_bundle, bundle)
            except Exception:
                log.exception("sending to a WeChat follower failed")

    def _send_bundle(self, bundle: Bundle) -> None:
        openid = bundle.openid
        sends: list[Callable[[], object]] = [
            functools.partial(self.client.message.send_text, openid, text)
            for text in chunks(bundle.texts)]
        sends += [functools.partial(self._send_image, openid, image) for image in bundle.images]
        for label, payload in bundle.qr_payloads:
            sends += [functools.partial(self.client.message.send_text, openid, label),
                      functools.partial(self._send_qr, openid, payload)]
        if sends and not self.in_window(openid):
            log.info("%d messages to a WeChat follower past the 48-hour window: %s",
                     len(sends), "queued as template messages" if self.past_window
                     else "recorded as missed")
            for text in chunks(bundle.texts) or [""]:
                self.record_missed(openid, text)
            return
        for send in sends:
            try:
                send()
            except WeChatClientException as error:
                if error.errcode in WINDOW_ERRORS:
                    log.warning("WeChat refused a customer-service message outside its "
                                "window (%s)", error.errcode)
                    self.record_missed(openid, _text_of(send))
                else:
                    log.warning("WeChat refused a customer-service message: %s %s",
                                error.errcode, error.errmsg)
            except Exception:
                # Network trouble with one message should not hold back the others.
                log.exception("sending to a WeChat follower failed")

    def in_window(self, openid: str) -> bool:
        """Whether the follower wrote within the last 48 hours (customer-service messages)."""
        with self.core.db.session() as session:
            seen = wechat_users.last_seen(session, openid)
        return seen is not None and self.core.clock() - seen <= SERVICE_WINDOW

    def record_missed(self, openid: str, text: str) -> None:
        """A message that cannot go as a customer-service message: queued as a template
        message when one is configured (its own outbox row), else counted and kept for 未读."""
        with self.core.db.session() as session:
            if self.past_window is not None and text:
                wechat_users.queue_message(session, openid, text, self.core.clock())
            else:
                wechat_users.record_missed(session, openid, text, self.core.clock())
        if self.past_window is not None and text:
            self.past_window()

    def record_missed_for_good(self, openid: str, text: str) -> None:
        """A message no way could deliver: counted, and kept for 未读."""
        with self.core.db.session() as session:
            wechat_users.record_missed(session, openid, text, self.core.clock())

    def _send_image(self, openid: str, png: bytes) -> None:
        uploaded = self.client.media.upload("image", ("image.png", io.BytesIO(png),
                                                      "image/png"))
        self.client.message.send_image(openid, uploaded["media_id"])

    def _send_qr(self, openid: str, payload: str) -> None:
        """A parametric QR code whose scan brings `payload` back as a SCAN event."""
        if len(payload) > QR_MAX_SCENE:
            log.error("QR payload longer than WeChat's %d-character scene", QR_MAX_SCENE)
            return
        self._send_image(openid, qr.png(self._qr_url(payload, QR_MAX_SECONDS)))

    def _qr_url(self, payload: str, seconds: int) -> str:
        created = self.client.qrcode.create({
            "expire_seconds": seconds, "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": payload}}})
        return str(created["url"])

    def rotating_link(self, period_seconds: int) -> Callable[[str], str]:
        """What the on-site page shows for a code: a temporary parametric QR made once per
        code (so once per period), living two periods, so a photo sent home stops working."""
        made: collections.OrderedDict[str, str] = collections.OrderedDict()

        def link_for(payload: str) -> str:
            if payload not in made:
                made[payload] = self._qr_url(payload, 2 * period_seconds + 60)
                while len(made) > ROTATING_KEPT:
                    made.popitem(last=False)
            return made[payload]

        return link_for

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for the answers still being worked out and sent (at shutdown, in tests)."""
        while self._background or self._jobs:
            running = [j.task for j in self._jobs.values() if j.task is not None]
            await asyncio.wait([*self._background, *running])


def _text_of(send: Callable[[], object]) -> str:
    """The text a pending customer-service send carries ("" for an image)."""
    if isinstance(send, functools.partial) and send.func.__name__ == "send_text":
        return str(send.args[1])
    return ""


def _pressed(option: dict[str, str]) -> tuple[str, str | None]:
    """The text and button data an option stands for."""
    if "start" in option:
        return f"/start {option['start']}", None
    return "", option.get("data", "")


def update_key(message: BaseMessage) -> str:
    """MsgId for messages; for events, which have none, sender, time, kind and content (a
    LOCATION and a SCAN in the same second are two events; WeChat's retry of one is one)."""
    if message.id:
        return f"msg:{message.source}:{message.id}"
    event = str(getattr(message, "event", ""))
    content = next((str(v) for v in (getattr(message, name, None) for name in _EVENT_CONTENT)
                    if v), "")
    return f"ev:{message.source}:{message.time}:{event}:{content[:64]}"


# A menu item's key is the name of the command it runs (bot/wechat_menu.py).
_MENU_KEY = re.compile(r"[a-z_]{1,30}")
# What tells two events of one second apart: a scan's scene, a click's key, a location.
_EVENT_CONTENT = ("scene_id", "key", "latitude")


def account_of(settings: Settings) -> Account:
    """The callback secrets from the settings; refuse to start without them."""
    if not settings.wechat_enabled:
        raise ConfigError("WECHAT_APP_ID, WECHAT_APP_SECRET and WECHAT_TOKEN must be set")
    assert settings.wechat_app_id
    assert settings.wechat_token
    aes = settings.wechat_aes_key.get_secret_value() if settings.wechat_aes_key else None
    if aes is not None and len(aes) != 43:
        raise ConfigError("WECHAT_AES_KEY (EncodingAESKey) must be 43 characters")
    if aes is None and not settings.wechat_allow_plaintext:
        raise ConfigError("WECHAT_AES_KEY must be set (safe mode); plaintext mode, in which "
                          "message bodies are not signed, needs WECHAT_ALLOW_PLAINTEXT=true")
    if aes is None:
        log.warning("WeChat plaintext mode (WECHAT_ALLOW_PLAINTEXT): message bodies are not "
                    "signed, so a captured request could carry a forged message; set "
                    "WECHAT_AES_KEY and choose safe mode on the account's page")
    return Account(settings.wechat_app_id, settings.wechat_token.get_secret_value(), aes)


def build_adapter(settings: Settings, core: Core, registry: Registry | None = None
                  ) -> WechatAdapter:
    """The adapter wired to the core, its client pointed at WECHAT_API_BASE_URL, registered
    in `registry` as the way to WeChat."""
    account = account_of(settings)
    assert settings.wechat_app_secret is not None
    callbacks, tokens = shared(settings.redis_url)
    client = WechatClient(account.app_id, settings.wechat_app_secret.get_secret_value(),
                          settings.wechat_api_base_url, tokens=tokens)
    return WechatAdapter(core, account, client,
                         budget_seconds=settings.wechat_reply_budget_seconds,
                         registry=registry, callbacks=callbacks)
