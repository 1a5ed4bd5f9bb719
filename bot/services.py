"""What `python -m bot run` serves on Telegram: the Application (webhook or polling), the web
server with the platforms' routes, and the background services, wired to one registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from starlette.routing import BaseRoute

from bot.background import Background
from bot.delivery import Registry
from bot.desk import Desk
from bot.settings import Settings
from bot.telegram import ALLOWED_UPDATES, build_application
from bot.telegram_web import (
    public_url,
    telegram_qr_routes,
    webhook_path,
    webhook_routes,
    webhook_secret,
)
from bot.web import Server, create_web_app, server_config
from bot.wechat_outbox import WechatSender
from handlers.core import Core


class WebhookService:
    """The Application fed by Telegram's webhook, served by uvicorn."""

    def __init__(self, settings: Settings, core: Core, *, routes: Sequence[BaseRoute] = (),
                 registry: Registry | None = None, wechat: WechatSender | None = None) -> None:
        self.core = core
        self.registry = registry if registry is not None else Registry()
        self.wecom_url = settings.wecom_api_base_url
        self.wechat = wechat
        self.secret = webhook_secret(settings)
        settings = settings.model_copy(update={"telegram_mode": "webhook"})
        self.telegram_app = build_application(settings, core, registry=self.registry)
        self.path = webhook_path(settings)
        self.url = public_url(settings.telegram_webhook_url or "", self.path)
        web_app = create_web_app([
            *webhook_routes(self.telegram_app, self.secret, self.path),
            *telegram_qr_routes(self.telegram_app, core),
            *Desk(core, settings, self.registry.deliver).routes(), *routes])
        self.server = Server(server_config(web_app, settings))

    async def run(self) -> None:
        """Register the webhook with Telegram, then serve until `stop` (or a signal)."""
        self.server.bind()
        app = self.telegram_app
        async with app:
            if app.post_init is not None:
                await app.post_init(app)  # only run_polling/run_webhook call it themselves
            await app.bot.set_webhook(self.url, secret_token=self.secret,
                                      allowed_updates=ALLOWED_UPDATES)
            await app.start()
            background = Background(app, self.core, self.registry, wecom_url=self.wecom_url,
                                    wechat=self.wechat)
            background.start()
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
                 routes: Sequence[BaseRoute] = (), registry: Registry | None = None,
                 wechat: WechatSender | None = None) -> None:
        self.core = core
        self.registry = registry if registry is not None else Registry()
        self.wecom_url = settings.wecom_api_base_url
        self.wechat = wechat
        settings = settings.model_copy(update={"telegram_mode": "polling"})
        self.poll_timeout = dt.timedelta(seconds=poll_timeout)
        self.telegram_app = build_application(settings, core, registry=self.registry)
        web_app = create_web_app([*telegram_qr_routes(self.telegram_app, core),
                                  *Desk(core, settings, self.registry.deliver).routes(),
                                  *routes])
        self.server = Server(server_config(web_app, settings))

    async def run(self) -> None:
        """Start polling, then serve the web pages until `stop` (or a signal)."""
        self.server.bind()
        app = self.telegram_app
        assert app.updater is not None
        async with app:
            if app.post_init is not None:
                await app.post_init(app)  # only run_polling/run_webhook call it themselves
            await app.start()
            await app.updater.start_polling(timeout=self.poll_timeout,
                                            allowed_updates=ALLOWED_UPDATES)
            background = Background(app, self.core, self.registry, wecom_url=self.wecom_url,
                                    wechat=self.wechat)
            background.start()
            try:
                await self.server.serve()
            finally:
                await background.stop()
                await app.updater.stop()
                await app.stop()

    def stop(self) -> None:
        """Ask the server to finish; `run` then stops polling and the Application."""
        self.server.should_exit = True


async def serve_webhook(settings: Settings, core: Core) -> None:
    """Register the webhook with Telegram and serve it with uvicorn until stopped."""
    await WebhookService(settings, core).run()


async def serve_polling(settings: Settings, core: Core) -> None:
    """Long-poll Telegram and serve the web pages with uvicorn until stopped."""
    await PollingService(settings, core).run()
