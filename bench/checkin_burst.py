"""Benchmark: a burst of QR sign-ins through the real Telegram stack, beside a bare echo bot.

N members (default 500) scan the printed sign-in code at once: N private `/start ci_…` updates
are put into the fake Bot API server's getUpdates queue in one go, and the real
python-telegram-bot Application from `bot.telegram.build_application` long-polls them (real
update processor, real adapter, real core, real database). In the same run, against the same
fake server, a bare python-telegram-bot Application (same concurrent updates) echoes the same
N updates. The fake server runs in its own process, so it does not share the bots'
interpreter lock, and its sockets set TCP_NODELAY (tests/loopback.py).

What a member waits is measured at the fake server, on its clock: from the moment the burst
was put into the getUpdates queue until that member's reply arrived. Printed per bot and
store: updates/s (burst pushed -> last reply), p50/p99 wait, the ratio to the bare bot, and
whether every sign-in was stored exactly once. A second burst of the same scans must answer
"already signed in" and store nothing.

Our bot makes its Bot API requests with aiohttp (bot/telegram_http.py); the bare bot keeps
python-telegram-bot's default, httpx, as a bare bot is written. A third row, the bare bot on
our transport, shows how much of the difference is the transport and how much the work.

`--limits off` (default): the fake enforces no flood limits; the bare bot has no rate limiter
and ours keeps its own with the throttles off, so both run as fast as they can.
`--limits telegram`: the fake answers 429 beyond Telegram's limits (30 messages/s overall,
20/min per group); ours runs with its production rate limiter, the bare bot with
python-telegram-bot's AIORateLimiter; printed: the time to answer all N scans against the
floor N/30 s.

Each run alternates the bare bot and ours for `--rounds` rounds (3 with limits off) and shows
the medians over the rounds, each round's figures above the table: this machine's speed drifts
within a minute, and one burst of each could compare a fast moment of one with a slow one of
the other.

Goals (issue 12): ratio >= 0.8 on SQLite and >= 0.6 on PostgreSQL; p99 wait <= 1.25 x the
bare bot's in the same run; with limits on, all N answered within 1.1 x the floor.

    .venv/bin/python -m bench.checkin_burst [--members 500] [--postgres URL | --no-postgres]
        [--limits off|telegram] [--concurrency N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from pydantic import SecretStr
from sqlalchemy import delete, func, select
from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.background import keep_replies
from bot.ratelimit import SmoothRateLimiter
from bot.services import keep_out_of_collections
from bot.settings import Settings
from bot.telegram import ALLOWED_UPDATES, build_application, rate_limiter, reply_settles
from bot.telegram_http import AiohttpRequest
from handlers import qrcodes
from handlers.core import Core, utc_now
from handlers.rules import Rules
from storage import activities, orgs, people
from storage.db import Database, scratch_schema
from storage.migrate import upgrade
from storage.models import Attendance, PointsEntry, Reply
from storage.people import SenderInfo
from tests.fake_telegram import TOKEN, FakeTelegram, Limits, TgUser, private_chat

SECRET = b"bench-secret-for-checkin-burst"
TITLE = "楼道清扫"
POINTS = 5
FIRST_USER_ID = 7_000_000_000
WARMUP_USERS = 20
BURST_TIMEOUT = 120.0
GOAL_RATIO = {"sqlite": 0.8, "postgresql": 0.6}
GOAL_P99_VS_BARE = 1.25
GOAL_FLOOR_RATIO = 1.1
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONCURRENCY = [Settings.model_fields["telegram_concurrent_updates"].default]
# The bare bot answers fastest here with 4 updates at once (python-telegram-bot's httpx
# transport slows as more requests share it): a row shows ours against that, beside the
# goal's comparison at the same setting.
BARE_FASTEST = 4
# Rounds of the bare bot and ours, alternated: this machine's speed drifts by a third within
# a minute, so one burst of each could compare a fast moment of one with a slow one of the
# other. With limits on, a burst takes the floor's 17 s and the rate is the limits' own.
ROUNDS = {"off": 3, "telegram": 1}


# ------------------------------------------------------------------ the fake, in a child


@dataclass(frozen=True)
class Replies:
    """What the fake saw of one burst, on its own clock (time.monotonic)."""

    pushed: float
    sent: list[tuple[int, float, str]]  # (chat, arrival, text) of each sendMessage
    too_many: int  # 429s answered because of the limits


def _serve_fake(conn: Connection, limits: Limits | None) -> None:
    """The child: a fake Bot API server, fed and read through `conn`."""
    fake = FakeTelegram(limits=limits)
    fake.start()
    conn.send(fake.port)
    while True:
        command, argument = conn.recv()
        if command == "stop":
            break
        if command == "forget":
            with fake._lock:
                fake._updates.clear()
            conn.send(None)
        elif command == "burst":
            conn.send(_burst_in_child(fake, argument))
    fake.stop()


def _burst_in_child(fake: FakeTelegram, updates: list[dict[str, Any]]) -> Replies:
    """Queue every update at once; return when each chat has a reply (or time is up)."""
    chats = {int(u["message"]["chat"]["id"]) for u in updates}
    with fake._lock:
        mark = len(fake.calls)
        limited = fake.limited
        for update in updates:
            fake.add_chat(update["message"]["chat"])
        pushed = time.monotonic()
        for update in updates:
            fake.push_update(update)

    answered: set[int | None] = set()
    seen, deadline = mark, pushed + BURST_TIMEOUT
    while len(answered) < len(chats) and time.monotonic() < deadline:
        time.sleep(0.005)
        with fake._lock:
            new, seen = fake.calls[seen:], len(fake.calls)
        answered |= {c.chat_id for c in new
                     if c.method == "sendMessage" and c.ok and c.chat_id in chats}
    time.sleep(0.2)  # room for a stray second reply, which the checks would catch
    with fake._lock:
        sent = [(int(c.params["chat_id"]), c.at, str(c.params["text"]))
                for c in fake.calls[mark:] if c.method == "sendMessage" and c.ok]
        return Replies(pushed, sent, fake.limited - limited)


class ChildFake:
    """The fake Bot API server in a child process (spawned: a clean interpreter)."""

    def __init__(self, limits: Limits | None) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self._child = context.Process(target=_serve_fake, args=(theirs, limits), daemon=True)
        self._child.start()
        self.port: int = self._pipe.recv()
        self._local = FakeTelegram()  # only builds updates; never started
        self.limits = limits

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def scans(self, users: list[TgUser], text: str) -> list[dict[str, Any]]:
        """Each user's private message `text` (a scanned deep link: `/start <payload>`)."""
        return [self._local.text_update(u, private_chat(u), text) for u in users]

    async def forget(self) -> None:
        """Drop updates another bot left unconfirmed, so that the next bot starts clean."""
        await asyncio.to_thread(self._ask, "forget", None)

    async def burst(self, updates: list[dict[str, Any]]) -> Replies:
        replies: Replies = await asyncio.to_thread(self._ask, "burst", updates)
        return replies

    def _ask(self, command: str, argument: object) -> Any:
        self._pipe.send((command, argument))
        return self._pipe.recv()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._pipe.send(("stop", None))
        self._child.join(timeout=10)
        if self._child.is_alive():
            self._child.kill()


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


def kept_left(database: Database) -> int:
    """Answers still in the reply outbox (each is deleted once Telegram has it)."""
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Reply)) or 0


# ------------------------------------------------------------------ applications


def our_application(fake: ChildFake, core: Core, limits: str) -> Application:
    """`build_application` as the bot runs it; with limits off, its limiter's throttles off."""
    settings = Settings.model_validate({
        "TELEGRAM_BOT_TOKEN": SecretStr(TOKEN), "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_API_BASE_FILE_URL": fake.base_file_url, "TELEGRAM_MAX_RETRIES": 3,
        "TELEGRAM_MODE": "polling", "TELEGRAM_CONCURRENT_UPDATES": CONCURRENCY[0]})
    limiter = rate_limiter(3) if limits == "telegram" else SmoothRateLimiter(0, 0, 3)
    return build_application(settings, core, limiter=limiter)


def bare_application(fake: ChildFake, limits: str, *, aiohttp: bool = False,
                     concurrency: int | None = None) -> Application:
    """A bare python-telegram-bot echo bot: same server and concurrent updates unless
    `concurrency` is given (with `aiohttp`, on our Bot API transport instead of
    python-telegram-bot's default)."""
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        assert message.text is not None
        await context.bot.send_message(message.chat_id, message.text)

    builder: Any = (ApplicationBuilder().token(TOKEN).base_url(fake.base_url)
                    .base_file_url(fake.base_file_url)
                    .concurrent_updates(concurrency or CONCURRENCY[0]))
    if aiohttp:
        builder = builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(connection_pool_size=1))
    if limits == "telegram":
        limiter: BaseRateLimiter[Any] = AIORateLimiter(max_retries=3)
        builder = builder.rate_limiter(limiter)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


@contextlib.asynccontextmanager
async def polling(app: Application, fake: ChildFake) -> AsyncIterator[Application]:
    """Start `app` long-polling the fake as `run_polling` would; stop it afterwards."""
    await fake.forget()
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
    seconds: float  # burst pushed -> last first reply
    waits_ms: list[float]  # per member: burst pushed -> their first reply
    replies: dict[int, list[str]]  # chat -> texts received during the burst
    too_many: int

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def p(self, share: float) -> float:
        return percentile(self.waits_ms, share)


@dataclass
class Rounds:
    """One bot's bursts, a round each (see ROUNDS): its figures are the medians."""

    bursts: list[Burst]

    @property
    def rate(self) -> float:
        return statistics.median(b.rate for b in self.bursts)

    @property
    def seconds(self) -> float:
        return statistics.median(b.seconds for b in self.bursts)

    @property
    def too_many(self) -> int:
        return sum(b.too_many for b in self.bursts)

    def p(self, share: float) -> float:
        return statistics.median(b.p(share) for b in self.bursts)


def percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


async def burst(fake: ChildFake, updates: list[dict[str, Any]]) -> Burst:
    """Push `updates` at once; wait until every chat got its reply; measure."""
    chats = {int(u["message"]["chat"]["id"]) for u in updates}
    if fake.limits is not None:
        # Each burst starts with the fake's window clear of earlier sends: another bot's,
        # which this bot's rate limiter cannot know of, drew 429s at the start.
        await asyncio.sleep(fake.limits.period + 0.1)
    seen = await fake.burst(updates)
    first_reply: dict[int, float] = {}
    replies: dict[int, list[str]] = {}
    for chat, arrived, text in seen.sent:
        if chat in chats:
            first_reply.setdefault(chat, arrived)
            replies.setdefault(chat, []).append(text)
    if len(first_reply) < len(chats):
        raise RuntimeError(f"only {len(first_reply)} of {len(chats)} replies within "
                           f"{BURST_TIMEOUT:.0f} s")
    waits = [(at - seen.pushed) * 1000 for at in first_reply.values()]
    return Burst(len(updates), max(first_reply.values()) - seen.pushed, waits, replies,
                 seen.too_many)


def warmup_users() -> list[TgUser]:
    return [TgUser(FIRST_USER_ID - 1000 + n, f"热身{n}", language_code="zh-hans")
            for n in range(WARMUP_USERS)]


async def warm_up(fake: ChildFake) -> None:
    """A few plain `/start`s first: connections opened, statements compiled."""
    await burst(fake, fake.scans(warmup_users(), "/start"))


# ------------------------------------------------------------------ one store


@dataclass
class Row:
    bot: str
    store: str
    burst: Rounds
    ratio: float = 1.0
    check: str = ""
    ok: bool = True


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


def reply_check(result: Burst, accepted: set[str]) -> tuple[int, str]:
    """(chats with exactly one accepted reply, what went wrong in words)."""
    once = sum(1 for texts in result.replies.values()
               if len(texts) == 1 and texts[0] in accepted)
    more = sum(1 for texts in result.replies.values() if len(texts) > 1)
    wrong = sum(1 for texts in result.replies.values() for t in texts if t not in accepted)
    problems = (f", {more} twice" if more else "") + (f", {wrong} unexpected" if wrong else "")
    return once, problems


async def bench_store(name: str, database: Database, fake: ChildFake, members: int,
                      limits: str, rounds: int) -> list[Row]:
    started = time.perf_counter()
    seeded = seed(database, members)
    print(f"[{name}] seeded {members} members in {time.perf_counter() - started:.1f} s",
          flush=True)
    core = Core(database, rules=Rules(secret=SECRET), clock=utc_now)
    if not database.is_sqlite:
        keep_replies(core, None)  # as the bot runs on PostgreSQL: answers outlive a crash
    scan = f"/start {qrcodes.make(SECRET, seeded.activity_id, 'i')}"
    # As the bot does before serving; for every bot here, so that none pays for full
    # collector passes over a heap a bare bot's own process would not hold.
    keep_out_of_collections()
    bots = Bots(fake, seeded, scan, limits)
    if limits == "off":
        await bots.bare_variants()
    for round_ in range(rounds):
        if round_:
            forget_sign_ins(database, seeded.activity_id)
        await bots.bare_round()
        await bots.our_round(core, database)
        print(f"[{name}] round {round_ + 1}: {bots.round_line()}", flush=True)
    return bots.rows(name, core, database, members)


def forget_sign_ins(database: Database, activity_id: int) -> None:
    """Undo a round's sign-ins, so that the next round signs the same members in anew."""
    with database.session() as session:
        session.execute(delete(PointsEntry).where(
            PointsEntry.source == f"activity:{activity_id}"))
        session.execute(delete(Attendance).where(Attendance.activity_id == activity_id))


class Bots:
    """The bots of one store, and what each of their bursts measured."""

    def __init__(self, fake: ChildFake, seeded: Seeded, scan: str, limits: str) -> None:
        self.fake, self.seeded, self.scan, self.limits = fake, seeded, scan, limits
        self.bare: list[Burst] = []
        self.variants: dict[str, Burst] = {}
        self.first: list[tuple[Burst, dt.datetime, dt.datetime, tuple[int, int, int]]] = []
        self.repeat: list[tuple[Burst, tuple[int, int, int]]] = []

    async def _echo(self, app: Application) -> Burst:
        async with polling(app, self.fake):
            await warm_up(self.fake)
            return await burst(self.fake, self.fake.scans(self.seeded.members, self.scan))

    async def bare_variants(self) -> None:
        """Once: the bare bot on our transport, and at its fastest setting."""
        self.variants["bare on aiohttp"] = await self._echo(
            bare_application(self.fake, self.limits, aiohttp=True))
        if CONCURRENCY[0] != BARE_FASTEST:
            self.variants[f"bare PTB at {BARE_FASTEST}"] = await self._echo(
                bare_application(self.fake, self.limits, concurrency=BARE_FASTEST))

    async def bare_round(self) -> None:
        self.bare.append(await self._echo(bare_application(self.fake, self.limits)))

    async def our_round(self, core: Core, database: Database) -> None:
        """Our bot: the burst of sign-ins, then the same scans again."""
        updates = self.fake.scans(self.seeded.members, self.scan)
        async with polling(our_application(self.fake, core, self.limits), self.fake) as ours:
            await warm_up(self.fake)
            first_at = utc_now()
            first = await burst(self.fake, updates)
            first_end = utc_now()
            after_first = stored(database, self.seeded.activity_id)
            repeat = await burst(self.fake, updates)
            after_repeat = stored(database, self.seeded.activity_id)
            await reply_settles(ours, core).flush()
        self.first.append((first, first_at, first_end, after_first))
        self.repeat.append((repeat, after_repeat))

    def round_line(self) -> str:
        bare, ours = self.bare[-1], self.first[-1][0]
        return (f"bare {bare.rate:.0f}/s, p99 {bare.p(.99):.0f} ms; ours {ours.rate:.0f}/s, "
                f"p99 {ours.p(.99):.0f} ms; ratio {ours.rate / bare.rate:.2f}")

    def rows(self, name: str, core: Core, database: Database, members: int) -> list[Row]:
        bare = Rounds(self.bare)
        checks = [(once == members, f"{once} echoed once{problems}")
                  for once, problems in (reply_check(b, {self.scan}) for b in self.bare)]
        rows = [Row("bare PTB echo", name, bare, check=self._said(checks),
                    ok=all(ok for ok, _ in checks))]
        for bot, variant in self.variants.items():
            once, problems = reply_check(variant, {self.scan})
            rows.append(Row(bot, name, Rounds([variant]), variant.rate / bare.rate,
                            f"{once} echoed once{problems}", once == members))
        return [*rows, self._first_row(name, core, bare, members),
                self._repeat_row(name, core, database, bare, members)]

    def _first_row(self, name: str, core: Core, bare: Rounds, members: int) -> Row:
        checks = []
        for result, start, end, after in self.first:
            signed = expected_texts(core, "scan.signed_in", start, end, title=TITLE,
                                    points=POINTS, count=POINTS)
            once, problems = reply_check(result, signed)
            checks.append((after == (members, members, members) and once == members,
                           f"{after[0]} rows/{after[1]} people/{after[2]} points;"
                           f" {once} answered once{problems}"))
        ours = Rounds([result for result, *_ in self.first])
        return Row("jinlin sign-in", name, ours, ours.rate / bare.rate,
                   self._said(checks), all(ok for ok, _ in checks))

    def _repeat_row(self, name: str, core: Core, database: Database, bare: Rounds,
                    members: int) -> Row:
        checks = []
        for (result, after), (_, start, end, after_first) in zip(self.repeat, self.first,
                                                                 strict=True):
            refused = expected_texts(core, "error.already_signed_in", start, end, title=TITLE)
            once, problems = reply_check(result, refused)
            unchanged = after == after_first
            checks.append((unchanged and once == members,
                           f"{'nothing new stored' if unchanged else 'STORED MORE'}; "
                           f"{once} 'already signed in'{problems}"))
        if not database.is_sqlite:
            left = kept_left(database)
            checks.append((left == 0, f"{left} kept answers left unsent"))
        ours = Rounds([result for result, _ in self.repeat])
        return Row("jinlin repeat", name, ours, ours.rate / bare.rate, self._said(checks),
                   all(ok for ok, _ in checks))

    def _said(self, checks: list[tuple[bool, str]]) -> str:
        """What the checks found: the first round that failed, or what every round showed."""
        failed = [said for ok, said in checks if not ok]
        if failed:
            return failed[0]
        rounds = " (every round)" if len(self.first) > 1 else ""
        return "; ".join(dict.fromkeys(said for _, said in checks)) + rounds


# ------------------------------------------------------------------ output


def print_table(rows: list[Row], members: int, limits: str) -> None:
    print()
    print(f"{members} sign-ins by scan in one burst; limits {limits}; concurrent updates "
          f"{CONCURRENCY[0]} (both bots, and {BARE_FASTEST} for 'bare PTB at'); fed through "
          "getUpdates polling; fake server in its own process")
    head = (f"{'bot':15} {'store':10} {'updates/s':>9} {'p50 wait':>9} {'p99 wait':>9} "
            f"{'vs bare':>7} {'429s':>5}  check")
    print(head)
    print("-" * len(head))
    for row in rows:
        print(f"{row.bot:15} {row.store:10} {row.burst.rate:9.0f} {row.burst.p(.5):6.0f} ms "
              f"{row.burst.p(.99):6.0f} ms {row.ratio:7.2f} {row.burst.too_many:5d}  "
              f"{row.check}{'' if row.ok else '  FAIL'}")
    print("\nwait = burst put into getUpdates -> that member's reply received by the fake "
          "server\n(what a member waits); updates/s = burst pushed -> last reply received.")
    if limits == "telegram":
        floor = members / Limits().overall
        for row in rows:
            print(f"limits on, {row.bot} on {row.store}: all {members} answered in "
                  f"{row.burst.seconds:.1f} s; floor {members}/30 = {floor:.1f} s; "
                  f"{row.burst.seconds / floor:.2f} x the floor "
                  f"(goal <= {GOAL_FLOOR_RATIO}); {row.burst.too_many} answered 429")


def summary_lines(rows: list[Row]) -> list[str]:
    """One line per store, PostgreSQL first: SQLite's (the issue's last line) ends the run."""
    lines = []
    for store in sorted({row.store for row in rows}, key=lambda s: s == "sqlite"):
        bare = next(r for r in rows if r.store == store and r.bot == "bare PTB echo")
        ours = next(r for r in rows if r.store == store and r.bot == "jinlin sign-in")
        met = (ours.ratio >= GOAL_RATIO[store]
               and ours.burst.p(.99) <= GOAL_P99_VS_BARE * bare.burst.p(.99) and ours.ok)
        print(f"goals on {store}: ratio >= {GOAL_RATIO[store]}, p99 wait <= "
              f"{GOAL_P99_VS_BARE} x bare, every scan stored once: "
              f"{'met' if met else 'NOT met'}")
        fastest = next((r for r in rows if r.store == store and r.bot.startswith("bare PTB at")),
                       None)
        if fastest is not None:
            print(f"  against the bare bot at its fastest ({fastest.bot}) on {store}: ratio "
                  f"{ours.burst.rate / fastest.burst.rate:.2f}; p99 wait "
                  f"{ours.burst.p(.99):.0f} ms vs {fastest.burst.p(.99):.0f} ms")
        lines.append(f"burst ratio {ours.ratio:.2f} of bare; p99 wait {ours.burst.p(.99):.0f} ms "
                     f"vs bare {bare.burst.p(.99):.0f} ms ({store})")
    return lines


# ------------------------------------------------------------------ main


@contextlib.contextmanager
def postgres_database(url: str) -> Iterator[Database | None]:
    """A fresh schema in the PostgreSQL database (dropped afterwards), or None if unreachable."""
    with contextlib.ExitStack() as stack:
        try:
            database = stack.enter_context(scratch_schema(url, "bench"))
        except Exception as error:  # no server: say so and go on without it
            print(f"postgresql skipped: {type(error).__name__}: {error}".splitlines()[0])
            yield None
            return
        yield database


async def run(args: argparse.Namespace) -> list[Row]:
    fake = ChildFake(Limits() if args.limits == "telegram" else None)
    rows: list[Row] = []
    try:
        if args.postgres:
            with postgres_database(args.postgres) as postgres:
                if postgres is not None:
                    rows += await bench_store("postgresql", postgres, fake, args.members,
                                              args.limits, args.rounds)
        with tempfile.TemporaryDirectory() as folder:
            sqlite = Database.from_url(f"sqlite:///{folder}/bench.sqlite3")
            try:
                upgrade(sqlite.engine)
                rows += await bench_store("sqlite", sqlite, fake, args.members, args.limits,
                                          args.rounds)
            finally:
                sqlite.dispose()
    finally:
        fake.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help=f"PostgreSQL URL to run on as well (default {DEFAULT_POSTGRES})")
    parser.add_argument("--no-postgres", dest="postgres", action="store_const", const="",
                        help="SQLite only")
    parser.add_argument("--limits", choices=("off", "telegram"), default="off",
                        help="flood limits at the fake server (and in the bots)")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY[0],
                        help="updates in flight for both bots (default: the bot's setting)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of the bare bot and ours, alternated; medians are shown "
                             f"(default {ROUNDS['off']} with limits off, "
                             f"{ROUNDS['telegram']} with limits on)")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or ROUNDS[args.limits]
    CONCURRENCY[0] = args.concurrency
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    rows = asyncio.run(run(args))
    print_table(rows, args.members, args.limits)
    lines = summary_lines(rows)
    print(f"total run {time.perf_counter() - started:.0f} s")
    print("\n".join(lines))
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
