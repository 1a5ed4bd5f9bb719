"""Benchmark: a burst of QR sign-ins through the real Telegram stack, beside a bare echo bot.

N members (default 500) scan the printed sign-in code at once: N private `/start ci_…` updates
are put into the fake Bot API server's getUpdates queue in one go, and the real
python-telegram-bot Application from `bot.telegram.build_application` long-polls them (real
update processor, real adapter, real core, real database). Beside it, in the same run and
against the same fake server, a bare python-telegram-bot Application echoes the same N updates.

Printed per bot and store: updates/s (burst pushed -> last reply received by the fake server),
p50/p99 processing latency (update handed to the handlers -> its reply received by the fake
server), the ratio to the bare bot, and whether every sign-in was stored exactly once. A second
burst of the same scans must answer "already signed in" and store nothing.

Telegram's real limit (~30 messages/s) would make both bots equally rate-bound, so by default
both use an AIORateLimiter with its throttles switched off (`--rate-limiter off`); `none` builds
them without a limiter, `telegram` with Telegram's default limits.

    .venv/bin/python -m bench.checkin_burst [--members 500] [--postgres URL | --no-postgres]
        [--rate-limiter off|none|telegram] [--switch-interval SECONDS] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import logging
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from sqlalchemy import func, select
from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.settings import Settings
from bot.telegram import ALLOWED_UPDATES, build_application
from handlers import qrcodes
from handlers.core import Core, utc_now
from handlers.messages import Incoming, Outgoing
from handlers.rules import Rules
from storage import activities, orgs, people
from storage.db import Database, scratch_schema
from storage.migrate import upgrade
from storage.models import Attendance, PointsEntry
from storage.people import SenderInfo
from tests.fake_telegram import TOKEN, FakeTelegram, TgUser, private_chat
from tests.telegram_fixtures import settings_for

SECRET = b"bench-secret-for-checkin-burst"
TITLE = "楼道清扫"
POINTS = 5
FIRST_USER_ID = 7_000_000_000
WARMUP_USERS = 20
BURST_TIMEOUT = 60.0
GOAL_RATIO = 0.5
GOAL_P99_MS = 50.0
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# ------------------------------------------------------------------ instruments


class TimedFake(FakeTelegram):
    """The fake Bot API server, also noting when each sendMessage arrived (perf_counter)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[int, float, str]] = []  # (chat id, arrival, text)

    def _record(self, method: str, params: dict[str, Any], **outcome: Any) -> None:
        arrived = time.perf_counter()
        if method == "sendMessage" and outcome.get("ok", True):
            with self._lock:
                self.sent.append((int(params["chat_id"]), arrived, str(params["text"])))
        super()._record(method, params, **outcome)

    def push_all(self, updates: list[dict[str, Any]]) -> None:
        """Queue every update at once: the next getUpdates sees the whole burst."""
        with self._lock:
            for update in updates:
                self.push_update(update)

    def forget_pending(self) -> None:
        """Drop updates another bot left unconfirmed, so that the next bot starts clean."""
        with self._lock:
            self._updates.clear()


class Timing:
    """When each update reached the handlers (group -1), and how many finished (group 1)."""

    def __init__(self, app: Application) -> None:
        self.started: dict[int, float] = {}
        self.finished = 0
        app.add_handler(TypeHandler(Update, self._start), group=-1)
        app.add_handler(TypeHandler(Update, self._finish), group=1)

    async def _start(self, update: Update, _context: object) -> None:
        chat = update.effective_chat
        if chat is not None:
            self.started.setdefault(chat.id, time.perf_counter())

    async def _finish(self, _update: Update, _context: object) -> None:
        self.finished += 1

    def reset(self) -> None:
        self.started.clear()


class TimedLock:
    """Stands in for `Database._write_turn` (SQLite's one-writer lock) to time waits and holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken = 0.0
        self.waits: list[float] = []
        self.holds: list[float] = []

    def __enter__(self) -> None:
        asked = time.perf_counter()
        self._lock.acquire()
        self._taken = time.perf_counter()
        self.waits.append(self._taken - asked)

    def __exit__(self, *_: object) -> None:
        self.holds.append(time.perf_counter() - self._taken)
        self._lock.release()

    def reset(self) -> None:
        self.waits.clear()
        self.holds.clear()


class TimedCore(Core):
    """The core, also noting how long each `handle` took inside its worker thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spans: dict[str, tuple[float, float]] = {}  # update key -> (start, end)
        self.profiling = False
        self._profilers: dict[int, cProfile.Profile] = {}  # one per worker thread

    def handle(self, incoming: Incoming) -> list[Outgoing]:
        started = time.perf_counter()
        if self.profiling:
            # cProfile hooks one thread only; the core runs on many: one profiler per thread.
            profiler = self._profilers.setdefault(threading.get_ident(), cProfile.Profile())
            answer: list[Outgoing] = profiler.runcall(super().handle, incoming)
        else:
            answer = super().handle(incoming)
        self.spans[incoming.update_key or ""] = (started, time.perf_counter())
        return answer

    def profile_stats(self) -> pstats.Stats | None:
        """The worker threads' profiles merged, or None when nothing was profiled."""
        profilers = list(self._profilers.values())
        if not profilers:
            return None
        stats = pstats.Stats(profilers[0])
        for other in profilers[1:]:
            stats.add(other)
        return stats


# ------------------------------------------------------------------ seeding


@dataclass(frozen=True)
class Seeded:
    activity_id: int
    members: list[TgUser]


def seed(database: Database, members: int) -> Seeded:
    """A community, a branch with a bound group, an activity open for sign-in now, and
    `members` Telegram accounts (verified members) each with a confirmed place on it."""
    now = utc_now()
    users = [TgUser(FIRST_USER_ID + n, f"党员{n}", language_code="zh-hans")
             for n in range(members)]
    with database.session() as session:
        community = orgs.create_community(session, "鹭江社区")
        branch = orgs.create_branch(session, community.id, "阳光花园党支部")
        group = orgs.ensure_chat(session, "telegram", "-1001234567890", "group", "阳光小区群")
        orgs.bind_chat(session, group, branch.id)
        secretary, _ = people.ensure_account(session, SenderInfo(
            "telegram", "5100000002", "王书记", "wang_shuji", "zh-hans"), now)
        people.grant(session, secretary.person_id, "secretary", branch_id=branch.id, now=now)
        created = activities.create(
            session, branch_id=branch.id, title=TITLE, place="3号楼",
            starts_at=now + dt.timedelta(minutes=10), ends_at=now + dt.timedelta(hours=2),
            capacity=max(500, members), points=POINTS, created_by=secretary.person_id,
            created_at=now)
        activity = activities.locked(session, created.id)
        assert activity is not None
        for user in users:
            account, _ = people.ensure_account(session, SenderInfo(
                "telegram", str(user.id), user.first_name, None, user.language_code), now)
            profile, _ = people.save_profile(session, account.person_id, branch.id, {
                "name": user.first_name, "building": "3号楼", "kind": "retired",
                "registered_here": True, "skills": ""}, now)
            profile.status = "verified"
            _, joined = activities.join(session, activity, account.person_id, now)
            assert joined
        return Seeded(activity.id, users)


def stored(database: Database, activity_id: int) -> tuple[int, int, int]:
    """(attendance rows, distinct people among them, points entries for the activity)."""
    with database.session() as session:
        rows = session.scalar(select(func.count()).select_from(Attendance)
                              .where(Attendance.activity_id == activity_id)) or 0
        distinct = session.scalar(select(func.count(func.distinct(Attendance.person_id)))
                                  .where(Attendance.activity_id == activity_id)) or 0
        awarded = session.scalar(select(func.count()).select_from(PointsEntry)
                                 .where(PointsEntry.source == f"activity:{activity_id}")) or 0
    return rows, distinct, awarded


# ------------------------------------------------------------------ applications


def make_limiter(mode: str, max_retries: int) -> AIORateLimiter | None:
    """The rate limiter both bots get: throttles off (default), none, or Telegram's."""
    if mode == "none":
        return None
    if mode == "off":
        return AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=max_retries)
    return AIORateLimiter(max_retries=max_retries)


# Updates in flight for both bots: the deployment default unless --concurrency says otherwise.
CONCURRENCY = [Settings.model_fields["telegram_concurrent_updates"].default]

LIMITER_TEXT = {
    "off": "AIORateLimiter with its overall and group throttles off (429 retries only)",
    "none": "no rate limiter",
    "telegram": "AIORateLimiter with Telegram's limits (30 msg/s overall) - rate-bound!",
}


def our_application(fake: FakeTelegram, core: Core, limiter: str) -> Application:
    """`build_application` as the bot runs it, only its limiter swapped (see LIMITER_TEXT)."""
    settings = settings_for(fake, TELEGRAM_CONCURRENT_UPDATES=CONCURRENCY[0])

    def limiter_for(max_retries: int) -> AIORateLimiter | None:
        return make_limiter(limiter, max_retries)

    with mock.patch("bot.telegram.rate_limiter", limiter_for):
        return build_application(settings, core)


def bare_application(fake: FakeTelegram, limiter: str) -> Application:
    """A bare python-telegram-bot echo bot: same server, concurrency and limiter."""
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        assert message.text is not None
        await context.bot.send_message(message.chat_id, message.text)

    builder: Any = (ApplicationBuilder().token(TOKEN).base_url(fake.base_url)
               .base_file_url(fake.base_file_url)
               .concurrent_updates(CONCURRENCY[0]))
    rate_limiter = make_limiter(limiter, 2)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


@contextlib.asynccontextmanager
async def polling(app: Application, fake: TimedFake) -> AsyncIterator[Application]:
    """Start `app` long-polling the fake as `run_polling` would; stop it afterwards."""
    fake.forget_pending()
    async with app:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dt.timedelta(seconds=0.2),
                                        allowed_updates=ALLOWED_UPDATES)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


# ------------------------------------------------------------------ bursts


@dataclass
class Burst:
    """What one burst measured."""

    count: int
    seconds: float
    latencies_ms: list[float]
    replies: dict[int, list[str]]  # chat -> texts received during the burst
    core_ms: list[float] = field(default_factory=list)
    first_seen_ms: list[float] = field(default_factory=list)  # push -> handler start

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def p(self, share: float, values: list[float] | None = None) -> float:
        return percentile(self.latencies_ms if values is None else values, share)


def percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def scans(fake: FakeTelegram, users: list[TgUser], payload: str) -> list[dict[str, Any]]:
    """Each user's private `/start <payload>`, as Telegram delivers a scanned deep link."""
    return [fake.text_update(u, private_chat(u), f"/start {payload}") for u in users]


async def burst(fake: TimedFake, timing: Timing, updates: list[dict[str, Any]],
                core: TimedCore | None = None) -> Burst:
    """Push `updates` at once; wait until every chat got its reply; measure."""
    chats = {int(u["message"]["chat"]["id"]) for u in updates}
    with fake._lock:
        mark = len(fake.sent)
    timing.reset()
    if core is not None:
        core.spans.clear()
    pushed = time.perf_counter()
    fake.push_all(updates)
    deadline = pushed + BURST_TIMEOUT
    while True:
        with fake._lock:
            answered = {chat for chat, _, _ in fake.sent[mark:] if chat in chats}
        if len(answered) == len(chats):
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {len(answered)} of {len(chats)} replies within "
                               f"{BURST_TIMEOUT:.0f} s")
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.2)  # room for a stray second reply, which the check would catch
    with fake._lock:
        got = [s for s in fake.sent[mark:] if s[0] in chats]
    first_reply: dict[int, float] = {}
    replies: dict[int, list[str]] = {}
    for chat, arrived, reply in got:
        first_reply.setdefault(chat, arrived)
        replies.setdefault(chat, []).append(reply)
    last = max(first_reply.values())
    result = Burst(len(updates), last - pushed,
                   [(first_reply[c] - timing.started[c]) * 1000 for c in chats], replies,
                   first_seen_ms=[(timing.started[c] - pushed) * 1000 for c in chats])
    if core is not None:
        result.core_ms = [(end - start) * 1000 for start, end in core.spans.values()]
    return result


async def warm_up(fake: TimedFake, timing: Timing, users: list[TgUser]) -> None:
    """A few plain `/start`s first: connections opened, statements compiled."""
    before = timing.finished
    fake.push_all([fake.text_update(u, private_chat(u), "/start") for u in users])
    deadline = time.perf_counter() + BURST_TIMEOUT
    while timing.finished < before + len(users):
        if time.perf_counter() > deadline:
            raise RuntimeError("warm-up did not finish")
        await asyncio.sleep(0.01)


def warmup_users() -> list[TgUser]:
    return [TgUser(FIRST_USER_ID - 1000 + n, f"热身{n}", language_code="zh-hans")
            for n in range(WARMUP_USERS)]


# ------------------------------------------------------------------ one store


@dataclass
class Row:
    bot: str
    store: str
    burst: Burst
    ratio: float | None = None
    check: str = ""


def expected_texts(core: Core, key: str, start: dt.datetime, end: dt.datetime,
                   **params: object) -> set[str]:
    """The zh_CN sentence for every minute the burst spanned (the reply shows hh:mm)."""
    t = core.catalogs.get("zh_CN")
    texts = set()
    moment = start - dt.timedelta(minutes=1)
    while moment <= end + dt.timedelta(minutes=1):
        local = moment.astimezone(core.rules.timezone)
        texts.add(t(key, time=f"{local:%H:%M}", **params))
        moment += dt.timedelta(minutes=1)
    return texts


def reply_check(result: Burst, accepted: set[str]) -> tuple[int, int, int]:
    """(chats with exactly one reply, chats with more, replies not among `accepted`)."""
    once = sum(1 for texts in result.replies.values() if len(texts) == 1)
    more = sum(1 for texts in result.replies.values() if len(texts) > 1)
    wrong = sum(1 for texts in result.replies.values() for t in texts if t not in accepted)
    return once, more, wrong


async def bench_store(name: str, database: Database, fake: TimedFake, members: int,
                      limiter: str, profile: str | None) -> list[Row]:
    upgrade(database.engine)
    started = time.perf_counter()
    seeded = seed(database, members)
    print(f"[{name}] seeded {members} members in {time.perf_counter() - started:.1f} s",
          flush=True)
    core = TimedCore(database, rules=Rules(secret=SECRET), clock=utc_now)
    write_turn = None
    if database.is_sqlite:
        # Instrument the one-writer lock (a private attribute; the code is left as it is).
        write_turn = TimedLock()
        database._write_turn = write_turn
    payload = qrcodes.make(SECRET, seeded.activity_id, "i")
    rows: list[Row] = []

    # The bare echo bot: same updates, same server, same concurrency and limiter.
    bare = bare_application(fake, limiter)
    bare_timing = Timing(bare)
    async with polling(bare, fake):
        await warm_up(fake, bare_timing, warmup_users())
        bare_burst = await burst(fake, bare_timing, scans(fake, seeded.members, payload))
    once, more, wrong = reply_check(bare_burst, {f"/start {payload}"})
    rows.append(Row("bare PTB echo", name, bare_burst,
                    check=f"{once} echoed once" + (f", {more} twice" if more else "")
                    + (f", {wrong} wrong" if wrong else "")))

    # Our bot, first burst (every scan signs in), then the same scans again (refused).
    ours = our_application(fake, core, limiter)
    our_timing = Timing(ours)
    async with polling(ours, fake):
        await warm_up(fake, our_timing, warmup_users())
        core.profiling = bool(profile)
        first_at = utc_now()
        if write_turn is not None:
            write_turn.reset()
        first = await burst(fake, our_timing, scans(fake, seeded.members, payload), core)
        first_end = utc_now()
        core.profiling = False
        lock_first = _lock_line(write_turn, first)
        after_first = stored(database, seeded.activity_id)
        if write_turn is not None:
            write_turn.reset()
        repeat = await burst(fake, our_timing, scans(fake, seeded.members, payload), core)
        lock_repeat = _lock_line(write_turn, repeat)
        after_repeat = stored(database, seeded.activity_id)
    stats = core.profile_stats()
    if stats is not None and profile:
        target = f"{profile}.{name}"
        stats.dump_stats(target)
        print(f"[{name}] cProfile of core.handle (first burst, all worker threads): {target}"
              " - timings of this run are inflated by the profiler")
        stats.sort_stats("cumulative").print_stats(25)

    signed = expected_texts(core, "scan.signed_in", first_at, first_end, title=TITLE,
                            points=POINTS)
    once, more, wrong = reply_check(first, signed)
    rows_ok = after_first == (members, members, members)
    rows.append(Row("jinlin sign-in", name, first, first.rate / bare_burst.rate,
                    check=f"{after_first[0]} rows/{after_first[1]} people/{after_first[2]} "
                          f"points; {once} answered once"
                          + (f", {more} twice" if more else "")
                          + (f", {wrong} unexpected" if wrong else "")
                          + (" OK" if rows_ok and once == members and not wrong else " FAIL")))
    refused = expected_texts(core, "error.already_signed_in", first_at, first_end, title=TITLE)
    once, more, wrong = reply_check(repeat, refused)
    unchanged = after_repeat == after_first
    rows.append(Row("jinlin repeat", name, repeat, repeat.rate / bare_burst.rate,
                    check=f"{'nothing new stored' if unchanged else 'STORED MORE'}; "
                          f"{once} 'already signed in'"
                          + (f", {more} twice" if more else "")
                          + (f", {wrong} unexpected" if wrong else "")
                          + (" OK" if unchanged and once == members and not wrong
                             else " FAIL")))
    for label, result in (("first", first), ("repeat", repeat)):
        print(f"[{name}] {label} burst: core.handle p50 {result.p(.5, result.core_ms):.1f} ms"
              f" p99 {result.p(.99, result.core_ms):.1f} ms"
              f" (sum {sum(result.core_ms) / 1000:.2f} s over {result.seconds:.2f} s wall);"
              f" burst->handler p50 {result.p(.5, result.first_seen_ms):.0f} ms"
              f" p99 {result.p(.99, result.first_seen_ms):.0f} ms", flush=True)
    for label, line in (("first", lock_first), ("repeat", lock_repeat)):
        if line:
            print(f"[{name}] {label} burst: {line}", flush=True)
    return rows


def _lock_line(lock: TimedLock | None, result: Burst) -> str:
    """How long SQLite's write lock was held and waited for during a burst."""
    if lock is None or not lock.holds:
        return ""
    holds = [h * 1000 for h in lock.holds]
    waits = [w * 1000 for w in lock.waits]
    return (f"write lock held {len(holds)} times, mean {statistics.fmean(holds):.1f} ms "
            f"(p50 {percentile(holds, .5):.1f}, p99 {percentile(holds, .99):.1f}) = "
            f"{sum(holds) / 1000 / result.seconds:.0%} of the burst's wall time; "
            f"wait p50 {percentile(waits, .5):.1f} ms, p99 {percentile(waits, .99):.1f} ms")


# ------------------------------------------------------------------ output


def print_table(rows: list[Row], members: int, limiter: str) -> None:
    print()
    print(f"{members} sign-ins by scan in one burst; rate limiter: {LIMITER_TEXT[limiter]}; "
          f"concurrent updates: {CONCURRENCY[0]}; fed through getUpdates polling")
    head = (f"{'bot':16} {'store':10} {'updates/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'vs bare':>7}  stored-once check")
    print(head)
    print("-" * len(head))
    for row in rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "1.00"
        print(f"{row.bot:16} {row.store:10} {row.burst.rate:9.0f} {row.burst.p(.5):7.1f} "
              f"{row.burst.p(.99):7.1f} {ratio:>7}  {row.check}")
    print()
    print("latency = update handed to the handlers (group -1) -> its reply received by the fake "
          "server;\nupdates/s = burst pushed into getUpdates -> last reply received.")
    for row in rows:
        if row.bot != "jinlin sign-in":
            continue
        assert row.ratio is not None
        throughput = "met" if row.ratio >= GOAL_RATIO else "NOT met"
        latency = "met" if row.burst.p(.99) < GOAL_P99_MS else "NOT met"
        stored_ok = "met" if row.check.endswith("OK") else "NOT met"
        print(f"goals on {row.store:10}: throughput >= {GOAL_RATIO} x bare: {throughput} "
              f"({row.ratio:.2f}); p99 < {GOAL_P99_MS:.0f} ms: {latency} "
              f"({row.burst.p(.99):.1f} ms); stored exactly once: {stored_ok}")


# ------------------------------------------------------------------ main


@contextlib.contextmanager
def postgres_database(url: str) -> Iterator[Database | None]:
    """A fresh schema in the PostgreSQL database (dropped afterwards), or None if unreachable."""
    with contextlib.ExitStack() as stack:
        try:
            # The pool the bot itself gets (Database.from_url(settings.db_url)): the default.
            database = stack.enter_context(scratch_schema(url, "bench"))
        except Exception as error:  # no server: say so and go on without it
            print(f"postgresql skipped: {type(error).__name__}: {error}".splitlines()[0])
            yield None
            return
        yield database


async def run(args: argparse.Namespace) -> list[Row]:
    fake = TimedFake()
    fake.start()
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            sqlite = Database.from_url(f"sqlite:///{folder}/bench.sqlite3")
            try:
                rows += await bench_store("sqlite", sqlite, fake, args.members,
                                          args.rate_limiter, args.profile)
            finally:
                sqlite.dispose()
        if args.postgres:
            with postgres_database(args.postgres) as postgres:
                if postgres is not None:
                    rows += await bench_store("postgresql", postgres, fake, args.members,
                                              args.rate_limiter, args.profile)
    finally:
        fake.stop()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help=f"PostgreSQL URL to run on as well (default {DEFAULT_POSTGRES})")
    parser.add_argument("--no-postgres", dest="postgres", action="store_const", const="",
                        help="SQLite only")
    parser.add_argument("--rate-limiter", choices=sorted(LIMITER_TEXT), default="off")
    parser.add_argument("--switch-interval", type=float, metavar="SECONDS",
                        help="sys.setswitchinterval for the run (Python's default 0.005)")
    parser.add_argument("--profile", metavar="FILE",
                        help="cProfile core.handle during the first burst into FILE.<store>")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY[0],
                        help="updates in flight for both bots (default: the bot's setting)")
    args = parser.parse_args(argv)
    CONCURRENCY[0] = args.concurrency
    logging.basicConfig(level=logging.WARNING)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    started = time.perf_counter()
    rows = asyncio.run(run(args))
    print_table(rows, args.members, args.rate_limiter)
    print(f"GIL switch interval {sys.getswitchinterval() * 1000:g} ms; "
          f"{os.cpu_count()} CPUs; asyncio.to_thread workers {min(32, (os.cpu_count() or 1) + 4)}")
    print(f"\ntotal run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
