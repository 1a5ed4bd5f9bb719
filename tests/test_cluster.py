"""Several processes on one PostgreSQL (a city): they start together, keep each chat's order,
share one Telegram rate limit and take over each other's timers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import text
from telegram.ext import BaseRateLimiter

from bot.background import Background
from bot.console import ConsoleWorld
from bot.delivery import Registry
from bot.intake import Intake
from bot.ratelimit import SmoothRateLimiter
from bot.services import WebhookService, start_worker, stop_worker
from bot.shared_limit import RedisRateLimiter
from bot.telegram import build_application, send_one
from bot.telegram_web import SECRET_HEADER
from handlers import replies
from handlers.core import Core
from handlers.messages import Button, Document, Incoming, Outgoing
from storage.db import Database, make_engine
from storage.migrate import current_revision, head_revision, upgrade
from tests.city import Proxy, WorkerProcess, fresh_schema, seed_branch, until_ready
from tests.conftest import POSTGRES_URL, TEST_RULES, Clock, postgres_skip_reason
from tests.fake_telegram import (
    TOKEN,
    FakeTelegram,
    Limits,
    TgUser,
    group_chat,
    private_chat,
)
from tests.loopback import free_port
from tests.story import notice, set_up_branch
from tests.telegram_fixtures import settings_for


@pytest.fixture
def empty_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search path is a new, empty schema (dropped afterwards)."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    with fresh_schema(POSTGRES_URL, "c") as url:
        yield url


def test_three_workers_started_together_on_an_empty_database_all_come_up(
        empty_schema: str) -> None:
    """Each start migrates; under the lock one does the work and the others find it done."""
    env = {**os.environ, "DATABASE_URL": empty_schema, "JINLIN_LOG_LEVEL": "WARNING"}
    starts = [subprocess.Popen([sys.executable, "-m", "bot", "db", "upgrade"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(3)]
    said = [start.communicate(timeout=120) for start in starts]
    assert [(start.returncode, out) for start, (out, _) in zip(starts, said, strict=True)] == [
        (0, "database is up to date\n")] * 3, [err for _, err in said]
    engine = make_engine(empty_schema)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


# ------------------------------------------------------------------ intake on PostgreSQL

WANG = TgUser(5100000002, "王书记", username="wang_shuji", language_code="zh-hans")
SECRET = "s3cret-Token_for-cluster"
SUBMITTED = "已提交给「阳光花园党支部」书记核实，核实后我会告诉你。"


@pytest.fixture
def city(empty_schema: str) -> Iterator[tuple[str, Database]]:
    """A migrated PostgreSQL schema: its URL (as DATABASE_URL) and the database."""
    database = Database.from_url(empty_schema)
    upgrade(database.engine)
    try:
        yield empty_schema, database
    finally:
        database.dispose()


class BusyCore(Core):
    """The core of a worker on a busier machine: each update waits a little first."""

    def handle(self, incoming: Incoming) -> list[Outgoing]:
        time.sleep(0.05)
        return super().handle(incoming)


def webhook_worker(fake: FakeTelegram, url: str, database: Database, *,
                   work: bool = True, core: type[Core] = Core) -> WebhookService:
    """One of the city's webhook workers: its own port, Application and (if `work`) intake
    worker."""
    settings = settings_for(fake, TELEGRAM_MODE="webhook", DATABASE_URL=url,
                            TELEGRAM_WEBHOOK_URL="https://jinlin.example/telegram",
                            TELEGRAM_WEBHOOK_SECRET=SECRET, JINLIN_WEB_PORT=free_port())
    return WebhookService(settings, core(database, rules=TEST_RULES), intake=Intake(url),
                          work=work)


@contextlib.asynccontextmanager
async def running(*services: WebhookService) -> AsyncIterator[list[httpx.AsyncClient]]:
    """The services serving, with a client for each."""
    tasks = [asyncio.create_task(s.run()) for s in services]
    try:
        for service in services:
            await asyncio.wait_for(service.server.listening.wait(), 20)
        async with contextlib.AsyncExitStack() as stack:
            yield [await stack.enter_async_context(httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{s.server.config.port}",
                headers={SECRET_HEADER: SECRET})) for s in services]
    finally:
        for service in services:
            service.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)


async def eventually(check: Callable[[], bool], seconds: float = 30) -> None:
    """Until `check` holds (what it looks at lives in other threads: poll it)."""
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_answers_alternating_between_two_workers_are_taken_in_the_order_written(
        city: tuple[str, Database]) -> None:
    """Five people fill in 亮身份, each update going to the other web server than the one
    before (as a reverse proxy alternates); two workers, one slower than the other, then
    take the stored updates, eight at a time each: every form reads what its person wrote,
    in the order written."""
    url, database = city
    branch_id = seed_branch(Core(database, rules=TEST_RULES), WANG, "阳光花园党支部")
    fake = FakeTelegram()
    fake.start()
    people_ = [TgUser(5300000001 + n, f"居民{n}", language_code="zh-hans") for n in range(5)]
    answers = ["/start iam_{branch}", "{name}", "{n}号楼1单元", "2", "1", "暂无", "1"]
    servers = [webhook_worker(fake, url, database, work=False, core=kind)
               for kind in (Core, BusyCore)]
    try:
        async with running(*servers) as clients:
            for step, answer in enumerate(answers):
                for n, person in enumerate(people_):
                    text = answer.format(branch=branch_id, name=person.first_name, n=n + 1)
                    update = {**fake.text_update(person, private_chat(person), text),
                              "update_id": 1000 * (n + 1) + step}
                    stored = await clients[(n + step) % 2].post("/telegram", json=update)
                    assert stored.status_code == 200
            workers = [start_worker(s.intake, s.telegram_app, 8) for s in servers
                       if s.intake is not None]
            try:
                await eventually(lambda: all(SUBMITTED in fake.sent_texts(p.id)
                                             for p in people_))
            finally:
                for worker in workers:
                    await stop_worker(worker)
    finally:
        fake.stop()
    for n, person in enumerate(people_):
        (summary,) = [t for t in fake.sent_texts(person.id) if t.startswith("请核对")]
        assert (f"姓名：{person.first_name}\n楼栋/单元：{n + 1}号楼1单元\n党员类别：离退休\n"
                f"组织关系：在册\n特长：无") in summary


async def test_sigterm_lets_the_update_under_way_finish(city: tuple[str, Database]) -> None:
    """Stopping a worker while it answers someone: the answer still goes out, and no job is
    left behind."""
    url, database = city
    fake = FakeTelegram()
    fake.start()
    person = TgUser(5300000100, "李四", language_code="zh-hans")
    try:
        service = webhook_worker(fake, url, database)
        async with running(service) as (client,):
            fake.hold("sendMessage")
            update = {**fake.text_update(person, private_chat(person), "/help"),
                      "update_id": 77}
            assert (await client.post("/telegram", json=update)).status_code == 200
            await eventually(lambda: fake.held("sendMessage") == 1)
            service.stop()  # what uvicorn does on SIGTERM
            await asyncio.sleep(0.5)
            fake.release("sendMessage")
        assert fake.sent_texts(person.id)
    finally:
        fake.stop()
    with database.engine.connect() as connection:
        left = connection.execute(text(
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"))
        assert left.scalar() == 0


async def test_readyz_says_what_is_ready(city: tuple[str, Database]) -> None:
    url, database = city
    fake = FakeTelegram()
    fake.start()
    try:
        service = webhook_worker(fake, url, database)
        async with running(service) as (client,):
            ready = await client.get("/readyz")
            assert (ready.status_code, ready.json()) == (200, {
                "status": "ready",
                "checks": {"database": True, "migrations": True, "queue": True}})
            with database.engine.begin() as connection:
                connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
            behind = await client.get("/readyz")
            assert (behind.status_code, behind.json()["checks"]["migrations"]) == (503, False)
            assert (await client.get("/healthz")).status_code == 200
    finally:
        fake.stop()


# ------------------------------------------------------------------ one rate limit (Redis)


@pytest.fixture
def redis_url() -> str:
    """A Redis database for this run (skipped, with the reason, when Redis is away)."""
    url = os.environ.get("JINLIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as error:  # any failure to connect means: skip, and say why
        pytest.skip(f"Redis not reachable at {url}: {type(error).__name__}: {error}")
    return url


async def broadcast_from_two_processes(fake: FakeTelegram, core: Core,
                                       limiters: list[BaseRateLimiter[int]]) -> float:
    """Two Applications of one bot send to 120 groups each at once; returns the seconds."""
    apps = [build_application(settings_for(fake), core, limiter=limiter)
            for limiter in limiters]
    started = time.monotonic()
    async with apps[0], apps[1]:
        sends = [send_one(app, Outgoing("telegram", str(-1009000000000 - 100 * a - n), "通知"))
                 for a, app in enumerate(apps) for n in range(120)]
        await asyncio.gather(*sends, return_exceptions=True)
    return time.monotonic() - started


async def test_two_processes_of_one_bot_keep_one_rate_limit_together(
        core: Core, redis_url: str) -> None:
    """Telegram counts per bot, not per process: two workers each keeping 100 a second stay
    within this fake's 120 a second together when they share the limit through Redis, and
    draw 429s when each keeps its own."""
    fake = FakeTelegram(limits=Limits().scaled(4))
    fake.start()
    try:
        for a in range(2):
            for n in range(120):
                fake.add_chat(group_chat(-1009000000000 - 100 * a - n, "楼栋群"))
        alone = [SmoothRateLimiter(100, 80) for _ in range(2)]
        await broadcast_from_two_processes(fake, core, alone)
        assert fake.limited > 0
        await asyncio.sleep(1.1)  # the fake's window empties
        fake.limited = 0
        key = f"jinlin:test:{uuid.uuid4().hex}"
        shared: list[BaseRateLimiter[int]] = [RedisRateLimiter(redis_url, key, 100, 80)
                                              for _ in range(2)]
        seconds = await broadcast_from_two_processes(fake, core, shared)
        assert fake.limited == 0
        assert seconds >= 239 / 100
    finally:
        fake.stop()


# ------------------------------------------------------------------ failover

HOLDER = """
import asyncio, sys
from bot.background import Background
from bot.delivery import Registry
from handlers.core import Core
from storage.db import Database

async def main():
    core = Core(Database.from_url(sys.argv[1]))
    background = Background(None, core, Registry())
    background.start()
    claimed = core.outbox_claim("console", 10, background.sender_lock.id)
    print(background.leading, len(claimed), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_when_the_timer_process_is_killed_a_survivor_takes_over_and_resends(
        city: tuple[str, Database], clock: Clock) -> None:
    """The process running the timers dies (SIGKILL) holding notices it had claimed: another
    process runs the timers within seconds, and the notices go back to the outbox at once
    rather than after the two-minute lease."""
    url, database = city
    world = ConsoleWorld(Core(database, rules=TEST_RULES, clock=clock))
    set_up_branch(world)
    notice(world, "周六上午清扫楼道")
    holder = subprocess.Popen(  # noqa: ASYNC220, S603 - our own interpreter, a fixed script
        [sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "JINLIN_LOG_LEVEL": "WARNING"})
    survivor = Background(None, Core(database, rules=TEST_RULES), Registry(),
                          watch_seconds=0.2)
    try:
        assert holder.stdout is not None
        said = await asyncio.wait_for(asyncio.to_thread(holder.stdout.readline), 60)
        assert said.split() == ["True", "1"]  # it runs the timers and holds the notice
        survivor.start()
        assert not survivor.leading
        holder.kill()
        killed = time.monotonic()
        await eventually(lambda: survivor.leading, 30)
        took_over = time.monotonic() - killed
        await eventually(lambda: pending_rows(database) == 1, 5)
    finally:
        holder.kill()
        holder.wait()
        await survivor.stop()
    assert took_over < 5


def pending_rows(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM deliveries WHERE state = 'pending'")).scalar() or 0)


# ------------------------------------------------------------------ replies outlive a worker

HELP_LINE = "/iam（亮身份、报到）"


def telegram_updates_handled(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM processed_updates WHERE platform = 'telegram'")).scalar() or 0)


def replies_kept(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM replies")).scalar() or 0)


async def test_answers_a_killed_worker_had_not_sent_are_sent_by_the_survivor_once(
        city: tuple[str, Database], tmp_path: Path) -> None:
    """Thirty people write /help, their updates alternating between two worker processes
    that answer four at a time each; Telegram is slow to take the answers. While both hold
    answers on their way, one worker is killed (SIGKILL): its answers never reach Telegram,
    though their updates count as handled. The survivor sends them: each person reads the
    help exactly once."""
    url, database = city
    fake = FakeTelegram()
    fake.start()
    persons = [TgUser(5300002000 + n, f"访客{n}", language_code="zh-hans") for n in range(30)]
    for person in persons:
        fake.add_chat(private_chat(person))
    fake.hold("sendMessage")
    workers = [WorkerProcess(n, url, fake, TOKEN, SECRET, tmp_path,
                             env={"TELEGRAM_CONCURRENT_UPDATES": "4"}) for n in range(2)]
    proxy = Proxy(workers, SECRET)
    try:
        await until_ready(workers)
        for n, person in enumerate(persons):
            update = {**fake.text_update(person, private_chat(person), "/help"),
                      "update_id": 60_000 + n}
            assert await proxy.post(update)
        await eventually(lambda: fake.held("sendMessage") == 8, 60)  # four from each
        workers[0].kill()
        fake.release("sendMessage", drop=True)  # the dead worker's four never got through
        await eventually(lambda: all(fake.sent_texts(p.id) for p in persons), 90)
        await eventually(lambda: replies_kept(database) == 0, 10)
    finally:
        await proxy.aclose()
        for worker in workers:
            worker.stop()
        fake.stop()
    assert telegram_updates_handled(database) == len(persons)
    answers = [fake.sent_texts(p.id) for p in persons]
    assert [len(texts) for texts in answers] == [1] * len(persons)
    assert all(HELP_LINE in texts[0] for texts in answers)


def test_a_kept_answer_reads_the_same_when_sent_later() -> None:
    """What the reply outbox keeps (as JSON in the database) is the message the core wrote:
    text, buttons, picture, file and the group line to fall back on."""
    answer = Outgoing(
        "telegram", "5300002001", "名单已导出", buttons=[[Button("收到", data="ack:7")]],
        image=b"\x89PNG\r\n", document=Document("名单.xlsx", b"PK\x03\x04"), ref="card:3",
        fallback=Outgoing("telegram", "-1009000000001", "@王书记 请先私聊我"))
    assert replies.decode(json.loads(json.dumps(replies.encode(answer)))) == answer
