"""Telegram's routes on the web server: the webhook behind its secret, the rotating QR page."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application
from telegram.helpers import create_deep_linked_url

from bot.bodies import MAX_BODY_BYTES, TooLarge, read_body
from bot.qrpage import qr_routes
from bot.settings import Settings
from bot.telegram import ConfigError
from handlers.core import Core

log = logging.getLogger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]
# Takes each update the webhook accepted; returns once it is safely held.
Accept = Callable[[Update], Awaitable[None]]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
DEFAULT_PATH = "/telegram"
# Telegram accepts 1-256 characters of A-Za-z0-9_- as a webhook secret.
_SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def webhook_routes(telegram_app: Application, secret: str, path: str = DEFAULT_PATH,
                   accept: Accept | None = None) -> list[Route]:
    """The POST route at `path` taking updates that carry `secret`: handed to `accept`, or
    by default queued for the Application."""
    return [Route(path, _webhook_endpoint(telegram_app, secret, accept), methods=["POST"])]


def _webhook_endpoint(telegram_app: Application, secret: str,
                      accept: Accept | None) -> Endpoint:
    """The POST endpoint taking updates that carry Telegram's secret header."""
    if not secret:
        raise ValueError("a webhook needs a secret")
    expected = secret.encode()
    take = accept if accept is not None else telegram_app.update_queue.put

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
        await take(update)
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


def public_url(configured: str, path: str) -> str:
    """TELEGRAM_WEBHOOK_URL, with the local path appended when it names only a host."""
    if urlparse(configured).path in ("", "/"):
        return configured.rstrip("/") + path
    return configured
