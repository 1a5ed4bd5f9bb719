"""Benchmark: one notice to 1,400 group chats through the real python-telegram-bot stack.

A branch with N bound groups (default 1,400, a city's branch count) and a notice run queued
to all of them, as `/notice` → 立即发送 leaves it. The real `OutboxSender` (the one `bot.background`
runs) drains it through the Application from `bot.telegram.build_application`, whose rate
limiter (bot/ratelimit.py) keeps to Telegram's limits, against a fake Bot API server that
ENFORCES those limits — at most 30 message requests in any second overall and 20 in any
minute per group (sliding windows) — answering 429 with `retry_after` beyond them, like
Telegram. Each request takes `--delay` seconds at the fake (a network round trip). The fake
runs in a child process, so that it does not share the bot's interpreter lock.

Printed: the wall time (sender started -> last notice accepted) against the floor the limits
allow (N / 30 per second), the 429s, duplicates and losses, the progress edits.
`--scale 10` multiplies the limits (300/s overall, 200/min per group) for a quick run; the
bot's rate limiter is then given the same scaled limits.

    .venv/bin/python -m bench.broadcast [--chats 1400] [--scale 10] [--delay 0.03]
        [--postgres URL]

Goal (issue 5): wall time <= 1.1 x the floor, nothing lost, nothing repeated, under 1% of
requests answered 429.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection

from pydantic import SecretStr
from sqlalchemy import func, select

from bot.cli import grant
from bot.outbox import OutboxSender
from bot.settings import Settings
from bot.telegram import build_application, deliver, rate_limiter
from handlers import notices as notice_feature
from handlers.context import Scope
from handlers.core import Core
from handlers.messages import Outgoing
from handlers.rules import Rules
from storage import notices, orgs, people
from storage.db import Database, scratch_schema
from storage.migrate import upgrade
from storage.models import Delivery
from tests.fake_telegram import TOKEN, FakeTelegram, Limits, group_chat

SECRETARY_ID = 5100000002
FIRST_GROUP = -1001000000001
TEXT = "本周六上午九点，各小区党支部开展主题党日活动，请党员准时参加。"
BRANCH = "阳光小区党支部"
GOAL_RATIO = 1.1
GOAL_429_SHARE = 0.01
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# ------------------------------------------------------------------ seeding


def group_ids(count: int) -> list[int]:
    return [FIRST_GROUP - n for n in range(count)]


def group_title(chat_id: int) -> str:
    return f"{FIRST_GROUP - chat_id + 1}号小区群"


def seed_broadcast(core: Core, chat_ids: list[int], secretary_id: int = SECRETARY_ID,
                   text: str = TEXT) -> tuple[int, list[Outgoing]]:
    """A branch with these Telegram groups bound to it, its secretary, and one notice to all
    of them queued now, as the secretary's 立即发送 leaves it (run 'sending', one outbox row
    per group). Returns the run's id and the messages for the secretary (the progress one
    among them), which the caller delivers or records."""
    with core.db.session() as session:
        community = orgs.create_community(session, "鹭江社区")
        branch = orgs.create_branch(session, community.id, BRANCH)
        for chat_id in chat_ids:
            chat = orgs.ensure_chat(session, "telegram", str(chat_id), "group",
                                    group_title(chat_id))
            orgs.bind_chat(session, chat, branch.id)
    grant(core.db, f"telegram:{secretary_id}", "secretary", branch=BRANCH)
    with core.db.session() as session:
        account = people.find_account(session, "telegram", str(secretary_id))
        assert account is not None
        scope = Scope(session, core.catalogs, core.rules, core.clock(), core)
        item = notices.create(
            session, branch_id=branch.id, created_by=account.person_id, text=text,
            target="branch", target_chat_id=None, rule="now", rule_time="", rule_day=0,
            created_at=scope.now, rule_at=None)
        run = notices.plan_run(session, item.id, scope.now)
        assert run is not None
        notice_feature._start_run(scope, item, run)
        return run.id, scope.outbox


# ------------------------------------------------------------------ the fake, in a child


@dataclass(frozen=True)
class FakeReport:
    delivered: Counter[int]  # successful sendMessage per group
    requests: int  # message requests (send, edit) the fake answered
    too_many: int  # of which 429 because of the limits
    first_at: float  # monotonic time of the first and last notice accepted
    last_at: float
    edits: int
    failed_edits: int
    to_secretary: list[str]


def _serve_fake(conn: Connection, limits: Limits, delay: float, chats: list[int],
                secretary_id: int) -> None:
    fake = FakeTelegram(limits=limits, delay=delay)
    fake.start()
    for chat_id in chats:
        fake.add_chat(group_chat(chat_id, group_title(chat_id)))
    fake.add_chat({"id": secretary_id, "type": "private", "first_name": "王书记"})
    conn.send(fake.port)
    conn.recv()  # "report"
    message_calls = [c for c in fake.calls if c.method.lower() in
                     ("sendmessage", "sendphoto", "editmessagetext")]
    groups = [c for c in fake.calls_to("sendMessage") if (c.chat_id or 0) < 0]
    edits = [c for c in message_calls if c.method == "editMessageText"]
    conn.send(FakeReport(
        delivered=fake.delivered(), requests=len(message_calls), too_many=fake.limited,
        first_at=min((c.at for c in groups), default=0.0),
        last_at=max((c.at for c in groups), default=0.0),
        edits=len(edits), failed_edits=sum(not c.ok for c in edits),
        to_secretary=fake.sent_texts(secretary_id)))
    conn.recv()  # "stop"
    fake.stop()


@contextmanager
def fake_in_child(limits: Limits, delay: float, chats: list[int]) -> Iterator[
        tuple[int, Connection]]:
    """The fake Bot API server in a child process; yields its port and a pipe to it."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve_fake,
                            args=(theirs, limits, delay, chats, SECRETARY_ID), daemon=True)
    child.start()
    try:
        yield ours.recv(), ours
        ours.send("stop")
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()


# ------------------------------------------------------------------ databases


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="jinlin-bench-") as folder:
        database = Database.from_url(f"sqlite:///{folder}/jinlin.sqlite3")
        upgrade(database.engine)
        try:
            yield database
        finally:
            database.dispose()


def postgres_database(url: str) -> AbstractContextManager[Database]:
    return scratch_schema(url, "bench", pool_size=20)


# ------------------------------------------------------------------ the run


@dataclass(frozen=True)
class Outcome:
    chats: int
    scale: float
    store: str
    floor: float
    wall: float
    until_summary: float
    fake: FakeReport
    states: dict[str, int]

    @property
    def ratio(self) -> float:
        return self.wall / self.floor

    @property
    def lost(self) -> int:
        return sum(1 for n in range(self.chats) if self.fake.delivered[FIRST_GROUP - n] == 0)

    @property
    def repeated(self) -> int:
        return sum(count - 1 for chat, count in self.fake.delivered.items()
                   if chat < 0 and count > 1)

    @property
    def share_429(self) -> float:
        return self.fake.too_many / max(self.fake.requests, 1)

    @property
    def met(self) -> bool:
        return (self.ratio <= GOAL_RATIO and not self.lost and not self.repeated
                and self.share_429 < GOAL_429_SHARE)


async def broadcast(database: Database, store: str, chats: int, scale: float,
                    delay: float) -> Outcome:
    limits = Limits().scaled(scale)
    ids = group_ids(chats)
    core = Core(database, rules=Rules(secret=b"bench-broadcast-secret"))
    run_id, for_secretary = seed_broadcast(core, ids)
    with fake_in_child(limits, delay, ids) as (port, pipe):
        settings = Settings.model_validate({
            "TELEGRAM_BOT_TOKEN": SecretStr(TOKEN),
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
            "TELEGRAM_API_BASE_FILE_URL": f"http://127.0.0.1:{port}/file/bot",
            "TELEGRAM_MAX_RETRIES": 3, "TELEGRAM_MODE": "webhook"})
        app = build_application(settings, core, limiter=rate_limiter(3, scale))
        async with app:
            await app.start()
            await deliver(app, for_secretary, core=core)  # the progress message
            sender = OutboxSender(app, core, only_process=True)
            started = time.monotonic()
            sender.start()
            try:
                await _until_summary(pipe, database, run_id, chats)
            finally:
                until_summary = time.monotonic() - started
                await sender.stop()
                await app.stop()
        pipe.send("report")
        report: FakeReport = pipe.recv()
    with database.session() as session:
        states = dict(session.execute(select(Delivery.state, func.count())
                                      .group_by(Delivery.state)).all())
    floor = chats / limits.overall * limits.period
    return Outcome(chats, scale, store, floor, report.last_at - started, until_summary,
                   report, states)


async def _until_summary(pipe: Connection, database: Database, run_id: int,
                         chats: int) -> None:
    """Wait until the run is done (every row sent or failed, the summary out)."""
    deadline = time.monotonic() + 10 + chats / 10  # far beyond the floor even unscaled
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        with database.session() as session:
            run = notices.run(session, run_id)
            if run is not None and run.state == "done":
                await asyncio.sleep(0.3)  # the summary's own request
                return
    print("  ! the run did not finish in time", file=sys.stderr)


# ------------------------------------------------------------------ printing


def print_outcome(outcome: Outcome, delay: float) -> None:
    fake = outcome.fake
    limits = Limits().scaled(outcome.scale)
    print(f"\nbroadcast: 1 notice -> {outcome.chats} groups, {outcome.store}, "
          f"limits x{outcome.scale:g} ({limits.overall:g}/s overall, "
          f"{limits.per_group:g}/min per group), fake round trip {delay * 1000:.0f} ms")
    rows = [
        ("floor (chats / overall rate)", f"{outcome.floor:8.2f} s"),
        ("wall (start -> last notice accepted)", f"{outcome.wall:8.2f} s"),
        ("ratio to the floor", f"{outcome.ratio:8.3f}   (goal <= {GOAL_RATIO})"),
        ("start -> run done, summary sent", f"{outcome.until_summary:8.2f} s"),
        ("message requests answered", f"{fake.requests:8d}"),
        ("answered 429 (beyond the limits)",
         f"{fake.too_many:8d}   ({outcome.share_429:.2%}; goal < {GOAL_429_SHARE:.0%})"),
        ("groups that got it", f"{sum(1 for c in fake.delivered if c < 0):8d}"),
        ("lost (no notice)", f"{outcome.lost:8d}"),
        ("repeated (extra copies)", f"{outcome.repeated:8d}"),
        ("outbox rows", f"  {outcome.states}"),
        ("progress edits (refused)", f"{fake.edits:8d}   ({fake.failed_edits})"),
        ("secretary's summary", f"  {fake.to_secretary[-1] if fake.to_secretary else '-'}"),
    ]
    for label, value in rows:
        print(f"  {label:<38} {value}")
    print(f"  goal {'MET' if outcome.met else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=1400)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply Telegram's limits (and the bot's limiter) by this")
    parser.add_argument("--delay", type=float, default=0.03,
                        help="seconds each message request takes at the fake (round trip)")
    parser.add_argument("--postgres", metavar="URL", nargs="?", const=DEFAULT_POSTGRES,
                        help="use PostgreSQL (a fresh schema) instead of SQLite")
    parser.add_argument("--log", default="WARNING", help="log level of the bot")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = "PostgreSQL" if args.postgres else "SQLite"
    databases = postgres_database(args.postgres) if args.postgres else sqlite_database()
    with databases as database:
        outcome = asyncio.run(broadcast(database, store, args.chats, args.scale, args.delay))
    print_outcome(outcome, args.delay)
    return 0 if outcome.met else 1


if __name__ == "__main__":
    sys.exit(main())
