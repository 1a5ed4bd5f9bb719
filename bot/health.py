"""Whether this process can serve: /healthz (alive) and /readyz (database reachable, schema
current, job queue reachable), each check said by name in JSON."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from storage.db import Database
from storage.migrate import current_revision, head_revision

log = logging.getLogger(__name__)
_head = functools.cache(head_revision)

Check = Callable[[], Awaitable[bool]]
# A check that does not answer within this long counts as failed.
CHECK_SECONDS = 3.0


class Readiness:
    """The checks /readyz runs, by name."""

    def __init__(self, database: Database, queue: Check | None = None) -> None:
        self.database = database
        self.checks: dict[str, Check] = {"database": self._database,
                                         "migrations": self._migrations}
        if queue is not None:
            self.checks["queue"] = queue

    async def run(self) -> dict[str, bool]:
        """Each check's verdict; all run at once."""
        names = list(self.checks)
        verdicts = await asyncio.gather(*(_bounded(self.checks[n]) for n in names))
        return dict(zip(names, verdicts, strict=True))

    async def _database(self) -> bool:
        def ping() -> None:
            with self.database.engine.connect() as connection:
                connection.execute(text("SELECT 1"))

        await asyncio.to_thread(ping)
        return True

    async def _migrations(self) -> bool:
        current = await asyncio.to_thread(current_revision, self.database.engine)
        return current == _head()


async def _bounded(check: Check) -> bool:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            return await check()
    except Exception as error:  # any failure means "not ready", said by the check's name
        log.warning("readiness check failed: %s", type(error).__name__)
        return False


def health_routes(readiness: Readiness | None) -> list[Route]:
    """GET /healthz (the process answers) and, given checks, GET /readyz (200 or 503)."""
    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        assert readiness is not None
        checks = await readiness.run()
        ready = all(checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if readiness is not None:
        routes.append(Route("/readyz", readyz, methods=["GET"]))
    return routes
