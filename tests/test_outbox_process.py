"""The outbox across real processes: `python -m bot` against the fake Bot API in this process.

- Killed mid-broadcast (SIGKILL) and started again, the bot sends every group the notice
  exactly once: what Telegram confirmed is not resent, what it never got is.
- Killed while requests are on the wire, the only repeats are those Telegram had accepted
  and whose answer the dead process never recorded (the Bot API has no idempotency key);
  nothing is lost, and how many were in that window is printed.
- Two processes on one PostgreSQL database drain one outbox together: both send, nothing
  twice, one summary.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from bench.broadcast import SECRETARY_ID, group_ids, group_title, seed_broadcast
from handlers.core import Core
from handlers.rules import Rules
from storage import posted
from storage.db import Database, scratch_schema
from storage.migrate import upgrade
from tests.conftest import POSTGRES_URL, postgres_skip_reason
from tests.fake_telegram import TOKEN, FakeTelegram, group_chat, private_chat
from tests.fake_telegram import TgUser as User
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRETARY = User(SECRETARY_ID, "王书记")
START_SECONDS = 30.0


# ------------------------------------------------------------------ helpers


class BotProcess:
    """One `python -m bot` run: Telegram polling against the fake, its own log file."""

    def __init__(self, name: str, folder: Path, fake: FakeTelegram, *,
                 database_url: str | None = None, token: str = TOKEN) -> None:
        self.log = folder / f"{name}.log"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JINLIN_", "TELEGRAM_")) and k != "DATABASE_URL"}
        env.update({
            "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_MODE": "polling",
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_API_BASE_FILE_URL": fake.base_file_url,
            "JINLIN_DATA_DIR": str(folder / "data"), "JINLIN_WEB_HOST": "127.0.0.1",
            "JINLIN_WEB_PORT": str(free_port()), "JINLIN_SECRET_KEY": "process-test-secret",
            "JINLIN_LOG_LEVEL": "INFO"})
        if database_url:
            env["DATABASE_URL"] = database_url
        with self.log.open("w") as log:
            # cwd: the test's folder, so that no developer's .env is read
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], cwd=folder, env=env,
                stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> float:
        """SIGKILL: no clean-up at all. Returns when (monotonic) it was sent."""
        at = time.monotonic()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        return at

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_until(check: Callable[[], bool], timeout: float, what: str,
               *processes: BotProcess) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        for bot in processes:
            if bot.process.poll() is not None:
                raise AssertionError(f"the bot exited while waiting for {what}:\n"
                                     + bot.output()[-3000:])
        if time.monotonic() > deadline:
            logs = "\n".join(bot.output()[-3000:] for bot in processes)
            raise AssertionError(f"not within {timeout} s: {what}\n{logs}")
        time.sleep(0.02)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()


def prepare(fake: FakeTelegram, database: Database, chats: int) -> list[int]:
    """The groups, the secretary, and one notice to all groups queued (as 立即发送 leaves
    it), its progress message already posted; the fake knows every chat."""
    core = Core(database, rules=Rules(secret=b"process-test-secret"))
    ids = group_ids(chats)
    run_id, _for_secretary = seed_broadcast(core, ids)
    with database.session() as session:
        posted.record(session, f"notice_progress:{run_id}", "telegram",
                             str(SECRETARY_ID), "1")
    for chat_id in ids:
        fake.add_chat(group_chat(chat_id, group_title(chat_id)))
    fake.add_chat(private_chat(SECRETARY))
    return ids


def sqlite_prepared(fake: FakeTelegram, folder: Path, chats: int) -> tuple[list[int], Path]:
    path = folder / "data" / "jinlin.sqlite3"
    path.parent.mkdir(parents=True)
    database = Database.from_url(f"sqlite:///{path}")
    upgrade(database.engine)
    try:
        ids = prepare(fake, database, chats)
    finally:
        database.dispose()
    return ids, path


def row_states(path: Path) -> dict[str, set[int]]:
    """The outbox as the last committed transaction left it: state -> chat ids.

    Read-only, beside the running bot (WAL): takes none of its locks."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        found: dict[str, set[int]] = {}
        for state, chat in connection.execute("SELECT state, chat_external_id FROM deliveries"):
            found.setdefault(state, set()).add(int(chat))
    return found


def in_groups(fake: FakeTelegram, ids: list[int]) -> dict[int, int]:
    delivered = fake.delivered()
    return {chat: delivered[chat] for chat in ids}


def summaries(fake: FakeTelegram) -> list[str]:
    return [t for t in fake.sent_texts(SECRETARY_ID) if t.startswith("通知 #1 已")]


# ------------------------------------------------------------------ SQLite: restart


def test_killed_mid_broadcast_and_restarted_every_group_gets_it_exactly_once(
        fake: FakeTelegram, tmp_path: Path) -> None:
    ids, path = sqlite_prepared(fake, tmp_path, 300)  # about 10 s at 30 messages a second
    first = BotProcess("first", tmp_path, fake)
    try:
        wait_until(lambda: sum(in_groups(fake, ids).values()) >= 60, START_SECONDS,
                   "60 groups served", first)
        # Stop Telegram taking more, let every answer given be recorded, then kill: the
        # process dies holding claimed rows, some answered and recorded, some never sent.
        fake.hold("sendMessage")
        wait_until(lambda: fake.inflight == 0
                   and row_states(path).get("sent", set()) == {
                       c for c, n in in_groups(fake, ids).items() if n},
                   10, "the answers recorded", first)
        first.kill()
    finally:
        first.stop()
    parked = fake.release("sendMessage", drop=True)
    before = row_states(path)
    served = {c for c, n in in_groups(fake, ids).items() if n}
    assert before["sent"] == served
    assert before.get("sending"), "the kill should leave claimed rows behind"
    assert 60 <= len(served) < 300

    released = len(before.get("sending", set()))

    # The second run is stopped cleanly (SIGTERM) half-way: it lets the sends under way
    # finish and records them before it exits, so nothing is in doubt.
    second = BotProcess("second", tmp_path, fake)
    try:
        wait_until(lambda: sum(in_groups(fake, ids).values()) >= 150, START_SECONDS,
                   "150 groups served", second)
        second.stop()
        assert second.process.returncode == 0, second.output()[-3000:]
    finally:
        second.stop()
    assert f"resending {released} notices claimed before a restart" in second.output()
    stopped = row_states(path)
    served = {c for c, n in in_groups(fake, ids).items() if n}
    assert stopped["sent"] == served
    assert max(in_groups(fake, ids).values()) == 1
    assert len(served) < 300

    third = BotProcess("third", tmp_path, fake)
    try:
        wait_until(lambda: bool(summaries(fake)), START_SECONDS, "the summary", third)
        time.sleep(0.3)
    finally:
        third.stop()
    assert in_groups(fake, ids) == dict.fromkeys(ids, 1)
    assert row_states(path) == {"sent": set(ids)}
    assert summaries(fake) == ["通知 #1 已全部送达（300/300）。"]
    print(f"\nkilled with {len(before['sent'])} of 300 sent: {released} claimed rows released "
          f"at restart, {parked} requests parked at the fake and dropped; stopped cleanly with "
          f"{len(stopped['sent'])} sent, {len(stopped.get('sending', ()))} left claimed")


def test_killed_with_requests_on_the_wire_repeats_only_the_unrecorded_answers(
        tmp_path: Path) -> None:
    """The worst moment: requests in flight (a 50 ms round trip). A message Telegram took
    before the kill but whose answer was not recorded is sent again after the restart:
    exactly those, nothing else repeated, nothing lost."""
    fake = FakeTelegram(delay=0.05)
    fake.start()
    try:
        ids, path = sqlite_prepared(fake, tmp_path, 120)
        first = BotProcess("first", tmp_path, fake)
        try:
            wait_until(lambda: sum(in_groups(fake, ids).values()) >= 30, START_SECONDS,
                       "30 groups served", first)
            killed_at = first.kill()
        finally:
            first.stop()
        wait_until(lambda: fake.inflight == 0, 5, "the fake to answer what it had")
        recorded = row_states(path).get("sent", set())
        took = {c for c, n in in_groups(fake, ids).items() if n}
        assert recorded <= took
        window = took - recorded  # Telegram has them; the dead process never recorded it
        answered_before_kill = {c.chat_id for c in fake.calls_to("sendMessage")
                                if c.chat_id in window and c.at < killed_at}

        second = BotProcess("second", tmp_path, fake)
        try:
            wait_until(lambda: bool(summaries(fake)), START_SECONDS, "the summary", second)
            time.sleep(0.3)
        finally:
            second.stop()
        delivered = in_groups(fake, ids)
        assert min(delivered.values()) == 1  # nothing lost
        assert {c for c, n in delivered.items() if n > 1} == window  # only those repeated
        assert max(delivered.values()) <= 2
        assert len(window) <= 5  # about rate x round trip: 30/s x 50 ms, with some slack
        assert row_states(path) == {"sent": set(ids)}
        print(f"\nkilled after {len(took)} of 120: {len(window)} sent twice "
              f"({len(answered_before_kill)} answered before the kill but not yet recorded, "
              f"{len(window) - len(answered_before_kill)} still on the wire)")
    finally:
        fake.stop()


# ------------------------------------------------------------------ PostgreSQL: two processes


@pytest.fixture
def postgres_schema() -> Iterator[tuple[Database, str]]:
    """A fresh schema in the test database, and a DATABASE_URL that uses it."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    with scratch_schema(POSTGRES_URL, "t") as database:
        with database.engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        separator = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
        yield database, url


def test_two_processes_on_one_postgresql_outbox_send_nothing_twice(
        fake: FakeTelegram, tmp_path: Path, postgres_schema: tuple[Database, str]) -> None:
    database, url = postgres_schema
    ids = prepare(fake, database, 300)
    # The same bot; the token's tail only tells the fake which process asked.
    tokens = (f"{TOKEN}a", f"{TOKEN}b")
    bots = [BotProcess(f"bot{n}", tmp_path, fake, database_url=url, token=token)
            for n, token in enumerate(tokens)]
    try:
        wait_until(lambda: bool(summaries(fake)), 2 * START_SECONDS, "the summary", *bots)
        time.sleep(0.5)
    finally:
        for bot in bots:
            bot.stop()
    assert in_groups(fake, ids) == dict.fromkeys(ids, 1)
    assert len(summaries(fake)) == 1
    by_process = [sum(1 for c in fake.calls_to("sendMessage")
                      if c.token == token and (c.chat_id or 0) < 0) for token in tokens]
    assert sum(by_process) == 300
    assert min(by_process) > 0, f"one process sent everything: {by_process}"
    # At most one of them runs the timers (the advisory lock); both drain the outbox. (The
    # lock's key is per database, not per schema: a test run beside this one may hold it.)
    outputs = [bot.output() for bot in bots]
    assert sum("another process runs the timers" in out for out in outputs) >= 1
    print(f"\ngroups served by each process: {by_process}")
