"""What `python -m bot run` and `python -m bot worker` serve on Telegram: the Application
(webhook or polling), the web server with the platforms' routes, the background services, and
on PostgreSQL the durable intake's worker, all wired to one delivery registry."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute
from telegram import Update
from telegram.ext import Application

from bot.background import Background
from bot.delivery import Registry
from bot.desk import Desk
from bot.health import Readiness
from bot.intake import Intake
from bot.settings import Settings
from bot.telegram import ALLOWED_UPDATES, PLATFORM, build_application, chat_key
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

log = logging.getLogger(__name__)


class WebhookService:
    """The Application fed by Telegram's webhook, served by uvicorn. With an `intake`, each
    update is stored as a job before the webhook answers, and (when `work`) this process
    also runs a worker that handles them."""

    def __init__(self, settings: Settings, core: Core, *, routes: Sequence[BaseRoute] = (),
                 registry: Registry | None = None, intake: Intake | None = None,
                 work: bool = True, wechat: WechatSender | None = None) -> None:
        self.core = core
        self.registry = registry if registry is not None else Registry()
        self.wecom_url = settings.wecom_api_base_url
        self.wechat = wechat
        self.secret = webhook_secret(settings)
        self.intake, self.work = intake, work
        self.concurrency = settings.telegram_concurrent_updates
        settings = settings.model_copy(update={"telegram_mode": "webhook"})
        self.telegram_app = build_application(settings, core, registry=self.registry)
        self.path = webhook_path(settings)
        self.url = public_url(settings.telegram_webhook_url or "", self.path)
        accept = None if intake is None else self._store
        readiness = Readiness(core.db, intake.reachable if intake is not None else None)
        web_app = create_web_app([
            *webhook_routes(self.telegram_app, self.secret, self.path, accept),
            *telegram_qr_routes(self.telegram_app, core),
            *Desk(core, settings, self.registry.deliver).routes(), *routes], readiness=readiness)
        self.server = Server(server_config(web_app, settings))

    async def _store(self, update: Update) -> None:
        assert self.intake is not None
        await self.intake.put(PLATFORM, chat_key(update), update.to_dict())

    async def run(self) -> None:
        """Register the webhook with Telegram, then serve until `stop` (or SIGTERM): the
        worker then finishes the updates under way before the bot stops."""
        self.server.bind()
        app = self.telegram_app
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(app)
            if app.post_init is not None:
                await app.post_init(app)  # only run_polling/run_webhook call it themselves
            await app.bot.set_webhook(self.url, secret_token=self.secret,
                                      allowed_updates=ALLOWED_UPDATES)
            await app.start()
            stack.push_async_callback(app.stop)
            background = Background(app, self.core, self.registry, wecom_url=self.wecom_url,
                                    wechat=self.wechat)
            background.start()
            stack.push_async_callback(background.stop)
            if self.intake is not None:
                await self.intake.open()
                stack.push_async_callback(self.intake.close)
                if self.work:
                    worker = start_worker(self.intake, app, self.concurrency)
                    stack.push_async_callback(stop_worker, worker)
            await self.server.serve()

    def stop(self) -> None:
        """Ask the server to finish; `run` then stops the Application."""
        self.server.should_exit = True


def start_worker(intake: Intake, app: Application, concurrency: int) -> asyncio.Task[None]:
    """A task running the intake's worker, handing Telegram updates to `app`."""
    async def handle(data: dict[str, Any]) -> None:
        update = Update.de_json(data, app.bot)
        if update is not None:
            await app.process_update(update)

    intake.handle(PLATFORM, handle)
    return asyncio.create_task(intake.work(concurrency=concurrency), name="intake-worker")


async def stop_worker(worker: asyncio.Task[None]) -> None:
    """Stop taking jobs and wait for those under way (procrastinate's graceful stop)."""
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker


class WorkerService:
    """`python -m bot worker`: handles stored updates and runs the background services,
    without a web server; stops on SIGTERM after the jobs under way."""

    def __init__(self, settings: Settings, core: Core, intake: Intake, *,
                 registry: Registry | None = None) -> None:
        self.core, self.intake = core, intake
        self.registry = registry if registry is not None else Registry()
        self.wecom_url = settings.wecom_api_base_url
        self.concurrency = settings.telegram_concurrent_updates
        settings = settings.model_copy(update={"telegram_mode": "webhook"})
        self.telegram_app = build_application(settings, core, registry=self.registry)
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Work until `stop` or a signal."""
        app = self.telegram_app
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(app)
            await app.start()
            stack.push_async_callback(app.stop)
            background = Background(app, self.core, self.registry, wecom_url=self.wecom_url)
            background.start()
            stack.push_async_callback(background.stop)
            await self.intake.open()
            stack.push_async_callback(self.intake.close)
            worker = start_worker(self.intake, app, self.concurrency)
            stack.push_async_callback(stop_worker, worker)
            with _signals(self.stop):
                await self._stopping.wait()

    def stop(self) -> None:
        self._stopping.set()


@contextlib.contextmanager
def _signals(stop: Any) -> Any:
    import signal

    if not Server.take_signals:
        yield
        return
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop)
    try:
        yield
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)


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
                                  *routes], readiness=Readiness(core.db))
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


def keep_out_of_collections() -> None:
    """Leave what was loaded at start (catalogs, models, the services) out of the garbage
    collector's passes: it lives as long as the process, and each full pass over it took
    100-150 ms in the middle of a burst (bench/wechat_burst.py, bench/checkin_burst.py), a
    pause every waiting member shared. Called by every service before it starts serving."""
    gc.collect()
    gc.freeze()


def intake_for(settings: Settings, core: Core) -> Intake | None:
    """The durable intake when the database is PostgreSQL; None for embedded SQLite."""
    if core.db.is_sqlite:
        return None
    return Intake(settings.db_url, jobs=settings.telegram_concurrent_updates)


async def serve_webhook(settings: Settings, core: Core) -> None:
    """Register the webhook with Telegram and serve it with uvicorn until stopped."""
    service = WebhookService(settings, core, intake=intake_for(settings, core),
                             work=settings.web_worker)
    keep_out_of_collections()
    await service.run()


async def serve_polling(settings: Settings, core: Core) -> None:
    """Long-poll Telegram and serve the web pages with uvicorn until stopped."""
    service = PollingService(settings, core)
    keep_out_of_collections()
    await service.run()


async def serve_worker(settings: Settings, core: Core) -> None:
    """Handle stored updates (PostgreSQL) until SIGTERM."""
    intake = intake_for(settings, core)
    assert intake is not None, "workers need PostgreSQL"
    service = WorkerService(settings, core, intake)
    keep_out_of_collections()
    await service.run()
