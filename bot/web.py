"""The web server: one Starlette app served by uvicorn, with the health checks.

The platforms' routes (Telegram's webhook: bot/telegram_web.py; WeChat's callback:
bot/wechat.py; the QR page: bot/qrpage.py) are handed in; the services that run beside the
server are in bot/background.py, and bot/services.py puts them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Iterator, Sequence
from typing import ClassVar

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from bot.health import Readiness, health_routes
from bot.settings import Settings


class PortBusy(RuntimeError):
    """The configured port is taken by another program."""


def create_web_app(routes: Sequence[BaseRoute] = (), *,
                   readiness: Readiness | None = None) -> Starlette:
    """A Starlette app with GET /healthz, GET /readyz (given `readiness`) and `routes`."""
    return Starlette(routes=[*health_routes(readiness), *routes])


class Server(uvicorn.Server):
    """uvicorn's server with an event set once it listens, on a socket bound beforehand so
    that a busy port is said in one sentence rather than a traceback."""

    # Whether SIGINT/SIGTERM stop the service gracefully (the bot's own process). A test
    # process sets it False: there a SIGTERM (from `timeout`) must end the run, not only the
    # server of the test under way while the next tests go on.
    take_signals: ClassVar[bool] = True

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()
        self._socket: socket.socket | None = None

    def bind(self) -> None:
        """Take the configured address now; PortBusy when another program holds it."""
        if self._socket is None:
            self._socket = listen_socket(self.config.host, self.config.port)

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve on the bound socket (binding it first if need be) until asked to stop."""
        if sockets is None:
            self.bind()
            assert self._socket is not None
            sockets = [self._socket]
        try:
            await super().serve(sockets)
        finally:
            for sock in sockets:
                sock.close()
            self._socket = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then tell whoever waits."""
        await super().startup(sockets)
        self.listening.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Stop on SIGINT/SIGTERM as uvicorn does, without raising the signal again after."""
        if not self.take_signals:
            yield
            return
        with super().capture_signals():
            yield
            # Re-raised, it would cancel the services' clean-up (stopping the bot) half-way.
            self._captured_signals.clear()


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port), ready for uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Made as TCP (not protocol 0), so asyncio sets TCP_NODELAY on each accepted connection;
    # otherwise every answer stalls about 40 ms (Nagle against delayed ACKs).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortBusy(f"port {port} on {host} is already in use by another program: "
                           f"stop it, or set JINLIN_WEB_PORT to a free port.") from None
        raise
    return sock


# How long a stop waits for answers under way: an open live sign-in screen (server-sent
# events) would otherwise hold the stop for as long as its stream lasts.
GRACE_SECONDS = 5


def server_config(web_app: Starlette, settings: Settings) -> uvicorn.Config:
    """uvicorn's settings for the configured host and port (HTTP parsed by httptools, which
    uvicorn picks when it is installed)."""
    return uvicorn.Config(web_app, host=settings.web_host, port=settings.web_port,
                          use_colors=False, log_level="warning",
                          timeout_graceful_shutdown=GRACE_SECONDS)
