"""A city's set-up for tests and benchmarks: a fresh PostgreSQL schema, a branch with its
secretary, and `python -m bot run` webhook workers started as separate processes (used by
tests/test_cluster.py and bench/cluster.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text

from bot.telegram_web import SECRET_HEADER
from handlers import i18n
from handlers.core import Core
from storage import orgs, people
from storage.db import make_engine
from storage.people import SenderInfo
from tests.fake_telegram import FakeTelegram, TgUser
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def fresh_schema(url: str, prefix: str) -> Iterator[str]:
    """A new empty schema; yields a DATABASE_URL whose search path is it, drops it after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed_branch(core: Core, secretary: TgUser, name: str) -> int:
    """A community with one branch `name` whose secretary is `secretary`; returns its id."""
    with core.db.session() as session:
        community = orgs.create_community(session, "阳光社区")
        branch = orgs.create_branch(session, community.id, name)
        account, _ = people.ensure_account(session, SenderInfo(
            "telegram", str(secretary.id), secretary.first_name, secretary.username,
            secretary.language_code), core.clock())
        people.grant(session, account.person_id, "secretary", branch_id=branch.id,
                     now=core.clock())
        return branch.id


class WorkerProcess:
    """One `python -m bot run` process in webhook mode against the fake Bot API, its
    output in `<folder>/<name>.log`; named in PostgreSQL by its application_name."""

    def __init__(self, number: int, url: str, fake: FakeTelegram, token: str, secret: str,
                 folder: Path, *, redis_url: str | None = None,
                 log_level: str = "WARNING", env: dict[str, str] | None = None) -> None:
        self.name = f"jinlin-w{number}"
        self.port = free_port()
        self.log = folder / f"{self.name}.log"
        # Nothing of this machine's own set-up, except strict texts when the tests ask.
        settings = dict(env or {})
        env = {k: v for k, v in os.environ.items() if k == i18n.STRICT_ENV or not (
            k.startswith(("JINLIN_", "TELEGRAM_")) or k == "DATABASE_URL")}
        env.update({
            "PYTHONPATH": str(ROOT), "DATABASE_URL": f"{url}&application_name={self.name}",
            "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_API_BASE_FILE_URL": fake.base_file_url, "TELEGRAM_MODE": "webhook",
            "TELEGRAM_WEBHOOK_URL": "https://jinlin.example/telegram",
            "TELEGRAM_WEBHOOK_SECRET": secret, "JINLIN_WEB_PORT": str(self.port),
            "JINLIN_SECRET_KEY": "c" * 32, "JINLIN_DATA_DIR": str(folder / self.name),
            "JINLIN_LOG_LEVEL": log_level})
        if redis_url:
            env["JINLIN_REDIS_URL"] = redis_url
        env.update(settings)
        with self.log.open("w") as log:
            # cwd: the run's folder, so that no developer's .env is read
            self.process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env,
                                            cwd=folder, stdout=log, stderr=subprocess.STDOUT)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up at all."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not stopped within 30 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


async def until_ready(workers: list[WorkerProcess], seconds: float = 90) -> None:
    """Until every worker's /readyz says 200 (TimeoutError, with its log, if one dies or
    does not come up in time)."""
    async with httpx.AsyncClient() as client, asyncio.timeout(seconds):
        for worker in workers:
            while True:
                if not worker.alive:
                    raise RuntimeError(f"{worker.name} exited:\n{worker.output()[-3000:]}")
                try:
                    if (await client.get(worker.base_url + "/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)


class Proxy:
    """Posts each update to the next live worker in turn, as a reverse proxy alternates."""

    def __init__(self, workers: list[WorkerProcess], secret: str) -> None:
        self.workers = workers
        self.turn = 0
        self.client = httpx.AsyncClient(headers={SECRET_HEADER: secret}, timeout=30)

    async def post(self, update: dict[str, object]) -> bool:
        """Whether the worker acknowledged the update (200)."""
        live = [w for w in self.workers if w.alive]
        worker = live[self.turn % len(live)]
        self.turn += 1
        answer = await self.client.post(worker.base_url + "/telegram", json=update)
        return answer.status_code == 200

    async def aclose(self) -> None:
        await self.client.aclose()
