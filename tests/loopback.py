"""Loopback for tests and benchmarks: fake platform servers (an ASGI app served by uvicorn in a
thread) and free ports for the bot's own servers."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


def free_port() -> int:
    """A loopback port nobody listens on right now (for a server started elsewhere)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(app: Any, name: str, **config: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    """Serve `app` on a free 127.0.0.1 port; returns once it listens (server, thread, port)."""
    # Made as TCP (not protocol 0), so that asyncio sets TCP_NODELAY on every accepted
    # connection; otherwise Nagle's algorithm holds small writes ~40 ms on each request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fake {name} server did not start")
        time.sleep(0.01)
    return server, thread, port


def stop(server: uvicorn.Server | None, thread: threading.Thread | None) -> None:
    """Stop serving and wait for the thread."""
    if server is not None and thread is not None:
        server.should_exit = True
        thread.join(timeout=5)
