"""The web server: Telegram's webhook behind a secret, the rotating QR page, a health check."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import json
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from urllib.parse import urlparse

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application
from telegram.helpers import create_deep_linked_url

from bot import scheduler
from bot.bodies import MAX_BODY_BYTES, TooLarge, read_body
from bot.desk import Desk
from bot.outbox import LEASE, OutboxSender
from bot.qrpage import qr_routes
from bot.settings import Settings
from bot.singleton import SchedulerLock
from bot.telegram import ALLOWED_UPDATES, FORWARD, ConfigError, build_application, deliver
from bot.wecom import RobotClient, WecomSender
from handlers.core import Core
from handlers.messages import Outgoing

log = logging.getLogger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]
# Sends messages on another platform (WeChat) from the timers and the outbox.
Deliver = Callable[[list[Outgoing]], Awaitable[None]]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
DEFAULT_PATH = "/telegram"
# Telegram accepts 1-256 characters of A-Za-z0-9_- as a webhook secret.
_SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def create_web_app(telegram_app: Application | None, secret: str = "",
                   path: str = DEFAULT_PATH, *, routes: Sequence[Route] = ()) -> Starlette:
    """A Starlette app with GET /healthz and `routes`, plus, given `telegram_app`, the webhook
    at `path` that queues Telegram updates carrying `secret`."""
    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    webhook = [] if telegram_app is None else [
        Route(path, _webhook_endpoint(telegram_app, secret), methods=["POST"])]
    return Starlette(routes=[*webhook, Route("/healthz", healthz, methods=["GET"]), *routes])


def _webhook_endpoint(telegram_app: Application, secret: str) -> Endpoint:
    """The POST endpoint queueing updates that carry Telegram's secret header."""
    if not secret:
        raise ValueError("a webhook needs a secret")
    expected = secret.encode()

    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return Response(status_code=403)
        try:
            update = _update_of(await read_body(request), telegram_app)
        except TooLarge:
            log.warning("refused a webhook body over %d bytes", MAX_BODY_BYTES)
            return Response(status_code=413)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            log.warning("unreadable webhook body")
            return Response(status_code=400)
        await telegram_app.update_queue.put(update)
        return Response()

    return telegram_webhook


def _update_of(body: bytes, telegram_app: Application) -> Update:
    """The update in a webhook body; ValueError (or the like) when it is not one."""
    data = json.loads(body)
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        raise ValueError("not an update")
    update = Update.de_json(data, telegram_app.bot)
    if update is None:
        raise ValueError("not an update")
    return update


def telegram_qr_routes(telegram_app: Application, core: Core) -> list[Route]:
    """The rotating QR page, its codes deep-linking to this bot (known once started)."""
    def link_for(payload: str) -> str:
        return create_deep_linked_url(telegram_app.bot.username, payload)

    rules = core.rules
    return qr_routes(rules.secret, rules.qr_period_seconds, link_for, core.clock)


def webhook_secret(settings: Settings) -> str:
    """The configured webhook secret; refuse to run a webhook without a valid one."""
    secret = (settings.telegram_webhook_secret.get_secret_value()
              if settings.telegram_webhook_secret else "")
    if not _SECRET_FORMAT.match(secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be set to 1-256 characters of "
                         "A-Z, a-z, 0-9, _ and - in webhook mode")
    if not settings.telegram_webhook_url:
        raise ConfigError("TELEGRAM_WEBHOOK_URL must be set in webhook mode")
    return secret


def webhook_path(settings: Settings) -> str:
    """The local path Telegram posts to: the path of TELEGRAM_WEBHOOK_URL, else /telegram."""
    path = urlparse(settings.telegram_webhook_url or "").path
    return path if path and path != "/" else DEFAULT_PATH


class _Server(uvicorn.Server):
    """uvicorn's server with an event set once it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then tell whoever waits."""
        await super().startup(sockets)
        self.listening.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Stop on SIGINT/SIGTERM as uvicorn does, without raising the signal again after."""
        with super().capture_signals():
            yield
            # Re-raised, it would cancel the services' clean-up (stopping the bot) half-way.
            self._captured_signals.clear()


class WebhookService:
    """The Application fed by Telegram's webhook, served by uvicorn."""

    def __init__(self, settings: Settings, core: Core, *, routes: Sequence[Route] = (),
                 others: Mapping[str, Deliver] | None = None) -> None:
        self.core, self.others = core, others or {}
        self.wecom_url = settings.wecom_api_base_url
        self.secret = webhook_secret(settings)
        settings = settings.model_copy(update={"telegram_mode": "webhook"})
        self.telegram_app = build_application(settings, core)
        self.telegram_app.bot_data[FORWARD] = dict(self.others)
        self.path = webhook_path(settings)
        self.url = public_url(settings.telegram_webhook_url or "", self.path)
        self.desk = Desk(core)
        web_app = create_web_app(self.telegram_app, self.secret, self.path,
                                 routes=[*telegram_qr_routes(self.telegram_app, core),
                                         *self.desk.routes(), *routes])
        self.server = _Server(_server_config(web_app, settings))

    async def run(self) -> None:
        """Register the webhook with Telegram, then serve until `stop` (or a signal)."""
        app = self.telegram_app
        async with app:
            if app.post_init is not None:
                await app.post_init(app)  # only run_polling/run_webhook call it themselves
            await app.bot.set_webhook(self.url, secret_token=self.secret,
                                      allowed_updates=ALLOWED_UPDATES)
            await app.start()
            background = Background(app, self.core, self.others, wecom_url=self.wecom_url)
            background.start()
            self.desk.deliver = background._deliver
            try:
                await self.server.serve()
            finally:
                await background.stop()
                await app.stop()

    def stop(self) -> None:
        """Ask the server to finish; `run` then stops the Application."""
        self.server.should_exit = True


class PollingService:
    """The Application long-polling Telegram, beside uvicorn serving the QR page and /healthz."""

    def __init__(self, settings: Settings, core: Core, poll_timeout: float = 10, *,
                 routes: Sequence[Route] = (),
                 others: Mapping[str, Deliver] | None = None) -> None:
        self.core, self.others = core, others or {}
        self.wecom_url = settings.wecom_api_base_url
        settings = settings.model_copy(update={"telegram_mode": "polling"})
        self.poll_timeout = dt.timedelta(seconds=poll_timeout)
        self.telegram_app = build_application(settings, core)
        self.telegram_app.bot_data[FORWARD] = dict(self.others)
        self.desk = Desk(core)
        web_app = create_web_app(None, routes=[*telegram_qr_routes(self.telegram_app, core),
                                               *self.desk.routes(), *routes])
        self.server = _Server(_server_config(web_app, settings))

    async def run(self) -> None:
        """Start polling, then serve the web pages until `stop` (or a signal)."""
        app = self.telegram_app
        assert app.updater is not None
        async with app:
            if app.post_init is not None:
                await app.post_init(app)  # only run_polling/run_webhook call it themselves
            await app.start()
            await app.updater.start_polling(timeout=self.poll_timeout,
                                            allowed_updates=ALLOWED_UPDATES)
            background = Background(app, self.core, self.others, wecom_url=self.wecom_url)
            background.start()
            self.desk.deliver = background._deliver
            try:
                await self.server.serve()
            finally:
                await background.stop()
                await app.updater.stop()
                await app.stop()

    def stop(self) -> None:
        """Ask the server to finish; `run` then stops polling and the Application."""
        self.server.should_exit = True


class Background:
    """The timer loop and the outbox sender that run beside the Application (if any);
    `others` send the timers' messages for other platforms."""

    def __init__(self, app: Application | None, core: Core,
                 others: Mapping[str, Deliver] | None = None, *,
                 wecom_url: str | None = None) -> None:
        self.app, self.core, self.others = app, core, others or {}
        self.wecom_url = wecom_url
        self.lock = SchedulerLock(core.db)
        self.timers: AsyncIOScheduler | None = None
        self.sender: OutboxSender | None = None
        self.wecom: WecomSender | None = None

    def start(self) -> None:
        """Timers only in the process holding the lock; senders wherever it is safe."""
        leader = self.lock.acquire()
        if leader:
            self.core.ensure_recurring()
            self.timers = scheduler.start(self.core, self._deliver, self.core.rules.timezone)
        else:
            log.warning("another process runs the timers for this database; "
                        "this one only answers updates")
        sqlite = self.core.db.is_sqlite
        if self.app is not None and (leader or not sqlite):
            self.sender = OutboxSender(self.app, self.core, only_process=sqlite)
            self.sender.start()
        if leader and self.wecom_url:
            self._start_wecom(sqlite)

    def _start_wecom(self, sqlite: bool) -> None:
        """The WeCom robot sender, in the leader only: its per-robot window is in memory."""
        after = self.sender.released if self.sender is not None else None
        release = None if after is not None else dt.timedelta(0) if sqlite else LEASE
        assert self.wecom_url is not None
        self.wecom = WecomSender(self.core, RobotClient(self.wecom_url), self._deliver,
                                 after=after, release=release)
        self.wecom.start()

    async def _deliver(self, messages: list[Outgoing]) -> None:
        for platform, send in self.others.items():
            theirs = [m for m in messages if m.platform == platform]
            if theirs:
                await send(theirs)
        ours = [m for m in messages if m.platform not in self.others]
        if self.app is not None:
            await deliver(self.app, ours, core=self.core)
        elif ours:
            log.warning("no adapter for %d messages to %s", len(ours), ours[0].platform)
        if self.sender is not None:
            self.sender.wake()
        if self.wecom is not None:
            self.wecom.wake()

    async def stop(self) -> None:
        if self.timers is not None:
            self.timers.shutdown(wait=False)
        if self.sender is not None:
            await self.sender.stop()
        if self.wecom is not None:
            await self.wecom.stop()
        self.lock.release()


def _server_config(web_app: Starlette, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(web_app, host=settings.web_host, port=settings.web_port,
                          use_colors=False, log_level="warning")


def public_url(configured: str, path: str) -> str:
    """TELEGRAM_WEBHOOK_URL, with the local path appended when it names only a host."""
    if urlparse(configured).path in ("", "/"):
        return configured.rstrip("/") + path
    return configured


async def serve_webhook(settings: Settings, core: Core) -> None:
    """Register the webhook with Telegram and serve it with uvicorn until stopped."""
    await WebhookService(settings, core).run()


async def serve_polling(settings: Settings, core: Core) -> None:
    """Long-poll Telegram and serve the web pages with uvicorn until stopped."""
    await PollingService(settings, core).run()
