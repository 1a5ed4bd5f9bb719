"""Serving the WeChat callback: on its own, or on the Telegram services' web server."""

from __future__ import annotations

import asyncio
import contextlib

from bot.background import Background
from bot.delivery import Registry
from bot.desk import Desk
from bot.qrpage import qr_routes
from bot.services import PollingService, WebhookService, keep_out_of_collections
from bot.settings import Settings
from bot.web import Server, create_web_app, server_config
from bot.wechat import WechatAdapter, build_adapter
from bot.wechat_outbox import Template, WechatSender
from handlers.core import Core

# At shutdown, answers still being sent get this long to go out.
DRAIN_SECONDS = 10


class WechatService:
    """The WeChat callback served by uvicorn, with the timer loop beside it."""

    def __init__(self, settings: Settings, core: Core,
                 adapter: WechatAdapter | None = None) -> None:
        self.core = core
        self.adapter = adapter or build_adapter(settings, core)
        self.wecom_url = settings.wecom_api_base_url
        self.sender = followers_sender(settings, self.adapter)
        # The on-site sign-in page is served here too, its codes scannable by WeChat.
        rules = core.rules
        web_app = create_web_app([*self.adapter.routes(), *qr_routes(
            rules.secret, rules.qr_period_seconds,
            self.adapter.rotating_link(rules.qr_period_seconds), core.clock),
            *Desk(core, settings, self.adapter.registry.deliver).routes()])
        self.server = Server(server_config(web_app, settings))

    async def run(self) -> None:
        """Serve until `stop` (or a signal); what is still being sent is finished first."""
        self.server.bind()
        # Robots and followers are reached in WeChat-only mode too.
        background = Background(None, self.core, self.adapter.registry,
                                wecom_url=self.wecom_url, wechat=self.sender)
        background.start()
        try:
            await self.server.serve()
        finally:
            await background.stop()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_SECONDS):
                    await self.adapter.drain()

    def stop(self) -> None:
        self.server.should_exit = True


def with_telegram(settings: Settings, core: Core) -> PollingService | WebhookService:
    """A Telegram service whose web server also takes WeChat's callbacks."""
    registry = Registry()
    adapter = build_adapter(settings, core, registry)
    kind = WebhookService if settings.telegram_mode == "webhook" else PollingService
    return kind(settings, core, routes=adapter.routes(), registry=registry,
                wechat=followers_sender(settings, adapter))


def followers_sender(settings: Settings, adapter: WechatAdapter) -> WechatSender:
    """The outbox sender for notices to followers, with the template messages configured."""
    template = Template.parse(settings.wechat_notice_template_id,
                              settings.wechat_notice_template_fields)
    messages = Template.parse(settings.wechat_message_template_id,
                              settings.wechat_message_template_fields)
    return WechatSender(adapter, adapter.registry, template, messages)


def run(settings: Settings, core: Core) -> None:
    """Serve WeChat (and Telegram, when its token is set) until interrupted."""
    service = (WechatService(settings, core) if settings.telegram_token is None
               else with_telegram(settings, core))
    keep_out_of_collections()
    asyncio.run(service.run())

