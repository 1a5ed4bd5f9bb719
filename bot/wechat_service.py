"""Serving the WeChat callback: on its own, or on the Telegram services' web server."""

from __future__ import annotations

import asyncio
import contextlib

from bot.desk import Desk
from bot.settings import Settings
from bot.web import (
    Background,
    PollingService,
    WebhookService,
    _Server,
    _server_config,
    create_web_app,
)
from bot.wechat import PLATFORM, WechatAdapter, build_adapter
from handlers.core import Core
from handlers.messages import Outgoing

# At shutdown, answers still being sent get this long to go out.
DRAIN_SECONDS = 10


class WechatService:
    """The WeChat callback served by uvicorn, with the timer loop beside it."""

    def __init__(self, settings: Settings, core: Core,
                 adapter: WechatAdapter | None = None) -> None:
        self.core = core
        self.adapter = adapter or build_adapter(settings, core)
        self.desk = Desk(core)
        web_app = create_web_app(None, routes=[*self.adapter.routes(), *self.desk.routes()])
        self.server = _Server(_server_config(web_app, settings))

    async def run(self) -> None:
        """Serve until `stop` (or a signal); what is still being sent is finished first."""
        background = Background(None, self.core, {PLATFORM: self.adapter.deliver})
        background.start()
        self.desk.deliver = background._deliver
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
    from bot.telegram import deliver

    adapter = build_adapter(settings, core)
    kind = WebhookService if settings.telegram_mode == "webhook" else PollingService
    service = kind(settings, core, routes=adapter.routes(),
                   others={PLATFORM: adapter.deliver})

    async def to_telegram(messages: list[Outgoing]) -> None:
        await deliver(service.telegram_app, messages, core=core)

    adapter.elsewhere = to_telegram
    return service


def run(settings: Settings, core: Core) -> None:
    """Serve WeChat (and Telegram, when its token is set) until interrupted."""
    if settings.telegram_token is None:
        asyncio.run(WechatService(settings, core).run())
    else:
        asyncio.run(with_telegram(settings, core).run())
