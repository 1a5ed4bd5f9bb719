"""The console's web server: the desk and the rotating QR page on this machine, so that the
links the console shows (工作台, 签到码) open in a local browser.

It serves on JINLIN_WEB_HOST:JINLIN_WEB_PORT from a thread beside the console. What a page's
action says to other people is printed into the console, as their chats would show it.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterable

from bot import repl
from bot.console import ConsoleWorld
from bot.desk.app import Desk
from bot.qrpage import qr_routes
from bot.settings import Settings
from bot.web import PortBusy, Server, create_web_app, server_config
from handlers.messages import Outgoing


def start(settings: Settings, world: ConsoleWorld) -> Server | None:
    """Serve the desk and the QR page in a daemon thread; None (and one sentence on stderr)
    when the port is taken, the console then runs without pages."""
    core = world.core

    async def deliver(messages: Iterable[Outgoing]) -> None:
        for shown in world.show_all(messages):
            print(shown.render(), flush=True)

    rules = core.rules
    web_app = create_web_app([
        *qr_routes(rules.secret, rules.qr_period_seconds, lambda payload: f"/start {payload}",
                   core.clock),
        *Desk(core, settings, deliver).routes()])
    server = Server(server_config(web_app, settings))
    try:
        server.bind()
    except PortBusy as error:
        print(repl.t("pages_off", reason=error), file=sys.stderr)
        return None
    threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True,
                     name="console-web").start()
    print(repl.t("pages", url=rules.public_url), file=sys.stderr)
    return server
