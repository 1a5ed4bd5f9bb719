"""The web server: Telegram's webhook behind a secret, and a health check."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import socket
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.settings import Settings
from bot.telegram import ALLOWED_UPDATES, ConfigError, build_application
from handlers.core import Core

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
DEFAULT_PATH = "/telegram"
# Telegram accepts 1-256 characters of A-Za-z0-9_- as a webhook secret.
_SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def create_web_app(telegram_app: Application, secret: str,
                   path: str = DEFAULT_PATH) -> Starlette:
    """A Starlette app that queues Telegram updates carrying `secret`, plus GET /healthz."""
    if not secret:
        raise ValueError("a webhook needs a secret")
    expected = secret.encode()

    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return Response(status_code=403)
        try:
            data = json.loads(await request.body())
            update = Update.de_json(data, telegram_app.bot)
        except (ValueError, TypeError, KeyError):
            log.warning("unreadable webhook body")
            return Response(status_code=400)
        await telegram_app.update_queue.put(update)
        return Response()

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route(path, telegram_webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])


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


class WebhookService:
    """The Application fed by Telegram's webhook, served by uvicorn."""

    def __init__(self, settings: Settings, core: Core) -> None:
        self.secret = webhook_secret(settings)
        settings = settings.model_copy(update={"telegram_mode": "webhook"})
        self.telegram_app = build_application(settings, core)
        self.path = webhook_path(settings)
        self.url = public_url(settings.telegram_webhook_url or "", self.path)
        self.server = _Server(uvicorn.Config(
            create_web_app(self.telegram_app, self.secret, self.path), host=settings.web_host,
            port=settings.web_port, use_colors=False, log_level="warning"))

    async def run(self) -> None:
        """Register the webhook with Telegram, then serve until `stop` (or a signal)."""
        app = self.telegram_app
        async with app:
            if app.post_init is not None:
                await app.post_init(app)  # only run_polling/run_webhook call it themselves
            await app.bot.set_webhook(self.url, secret_token=self.secret,
                                      allowed_updates=ALLOWED_UPDATES)
            await app.start()
            try:
                await self.server.serve()
            finally:
                await app.stop()

    def stop(self) -> None:
        """Ask the server to finish; `run` then stops the Application."""
        self.server.should_exit = True


def public_url(configured: str, path: str) -> str:
    """TELEGRAM_WEBHOOK_URL, with the local path appended when it names only a host."""
    if urlparse(configured).path in ("", "/"):
        return configured.rstrip("/") + path
    return configured


async def serve_webhook(settings: Settings, core: Core) -> None:
    """Register the webhook with Telegram and serve it with uvicorn until stopped."""
    await WebhookService(settings, core).run()
