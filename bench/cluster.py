"""Benchmark: a city's set-up — three webhook workers on one PostgreSQL and one Redis.

Starts a fake Bot API that enforces Telegram's limits (30 messages in any second, 20 a minute
per group, 429 with `retry_after` beyond), a fresh PostgreSQL schema, a Redis key of its own,
and three `python -m bot run` processes in webhook mode, to which the benchmark posts updates
in turn, as a reverse proxy alternates. Then:

(a) 50 people fill in the 亮身份 form at once, each update to the next worker in turn;
    a dialog is OK when the summary shows exactly what its person wrote;
(b) a notice to 1,400 groups, sent by the three workers' outbox senders under the one shared
    limit: the ratio is the wall time against the floor the limit allows (1,400 / 30 s);
(c) 200 people write /help, each update to the next worker; right after the 200th is
    acknowledged a worker (not the timer leader) is killed with SIGKILL: lost are the
    acknowledged updates whose answer never arrived at the fake Bot API (never handled, or
    handled and never sent); updates never handled and people answered twice are printed
    too;
(d) a notice is scheduled 20 s ahead and the timer leader is killed with SIGKILL: failover is
    the time until a survivor holds the timer lock (and the notice still arrives).

    .venv/bin/python -m bench.cluster [--postgres URL] [--redis URL] [--people 50]
        [--groups 1400] [--updates 200]

Goals (issue 15): 50/50 dialogs, under 1% of requests answered 429, ratio <= 1.15, 0 lost,
failover <= 30 s. The last line is
`cluster: dialogs OK/50, 429 P%, broadcast ratio R, lost L, failover S s`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from bench.broadcast import group_ids, group_title, seed_broadcast
from handlers.core import Core
from handlers.rules import Rules
from storage import notices, orgs, people, timers
from storage.db import Database
from storage.migrate import upgrade
from tests.city import Proxy, WorkerProcess, fresh_schema, seed_branch, until_ready
from tests.fake_telegram import FakeTelegram, Limits, TgUser, group_chat, private_chat

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
SECRET = "cluster-bench-secret"
SECRETARY = TgUser(5100000009, "李书记", language_code="zh-hans")
BRANCH = "阳光花园党支部"
SUBMITTED = "已提交给「阳光花园党支部」书记核实，核实后我会告诉你。"
REMINDER = "今晚七点在三号楼大堂开会，请准时参加。"
TIMER_LOCK = 0x4A4C  # bot/singleton.py ADVISORY_CLASS
FLOOR_PER_SECOND = 30


# ------------------------------------------------------------------ (a) dialogs


async def dialogs(proxy: Proxy, fake: FakeTelegram, branch_id: int, count: int) -> int:
    """`count` people fill in 亮身份 at once; returns how many forms read right."""
    persons = [TgUser(5400000000 + n, f"居民{n}", language_code="zh-hans")
               for n in range(count)]
    steps = ["/start iam_{branch}", "{name}", "{n}号楼1单元", "2", "1", "暂无", "1"]
    update_ids = iter(range(10_000_000, 20_000_000))

    async def fill_in(n: int, person: TgUser) -> None:
        fake.add_chat(private_chat(person))
        for step in steps:
            said = step.format(branch=branch_id, name=person.first_name, n=n + 1)
            update = {**fake.text_update(person, private_chat(person), said),
                      "update_id": next(update_ids)}
            assert await proxy.post(update)

    await asyncio.gather(*(fill_in(n, p) for n, p in enumerate(persons)))
    await until(lambda: all(SUBMITTED in fake.sent_texts(p.id) for p in persons), 120)
    ok = 0
    for n, person in enumerate(persons):
        summaries = [t for t in fake.sent_texts(person.id) if t.startswith("请核对")]
        wanted = (f"姓名：{person.first_name}\n楼栋/单元：{n + 1}号楼1单元\n党员类别：离退休\n"
                  f"组织关系：在册\n特长：无")
        ok += len(summaries) == 1 and wanted in summaries[0]
    return ok


async def until(check: object, seconds: float) -> bool:
    """Poll `check` until true or `seconds` passed; returns its last verdict."""
    assert callable(check)
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


# ------------------------------------------------------------------ (b) broadcast


async def broadcast(core: Core, fake: FakeTelegram, groups: int) -> tuple[float, float]:
    """A notice to `groups` groups; returns (its wall time / the floor, share of 429s)."""
    chats = group_ids(groups)
    for chat_id in chats:
        fake.add_chat(group_chat(chat_id, group_title(chat_id)))
    fake.add_chat({"id": 5100000002, "type": "private", "first_name": "王书记"})
    before_calls, before_limited = len(fake.calls), fake.limited
    await asyncio.to_thread(seed_broadcast, core, chats)
    started = time.monotonic()  # the run is queued, as the secretary's 立即发送 leaves it
    await until(lambda: len(set(fake.delivered()) & set(chats)) == len(chats), 600)
    sent = [c for c in fake.calls[before_calls:] if c.method == "sendMessage" and c.ok
            and c.chat_id in set(chats)]
    wall = max(c.at for c in sent) - started
    requests = [c for c in fake.calls[before_calls:]
                if c.method in ("sendMessage", "editMessageText")]
    floor = len(chats) / FLOOR_PER_SECOND
    return wall / floor, (fake.limited - before_limited) / max(len(requests), 1)


# ------------------------------------------------------------------ (c) killed worker


async def killed_worker(proxy: Proxy, fake: FakeTelegram, database: Database,
                        victim: WorkerProcess, count: int) -> tuple[int, int, int]:
    """`count` people write /help; `victim` is killed right after the last is acknowledged.
    Returns (updates never handled, people never answered, people answered twice)."""
    persons = [TgUser(5500000000 + n, f"访客{n}", language_code="zh-hans")
               for n in range(count)]
    ids = [30_000_000 + n for n in range(count)]
    for person, update_id in zip(persons, ids, strict=True):
        fake.add_chat(private_chat(person))
        update = {**fake.text_update(person, private_chat(person), "/help"),
                  "update_id": update_id}
        assert await proxy.post(update)
    victim.kill()
    await until(lambda: all(fake.sent_texts(p.id) for p in persons), 90)
    await asyncio.sleep(2)  # an answer sent twice would be on its way by now
    handled = await asyncio.to_thread(handled_updates, database, ids)
    answers = [len(fake.sent_texts(p.id)) for p in persons]
    return (count - handled, sum(1 for n in answers if n == 0),
            sum(1 for n in answers if n > 1))


def handled_updates(database: Database, ids: list[int]) -> int:
    """How many of these Telegram updates the bot recorded as handled."""
    with database.engine.connect() as connection:
        return int(connection.execute(
            text("SELECT count(*) FROM processed_updates WHERE platform = 'telegram' "
                 "AND key = ANY(:keys)"), {"keys": [str(i) for i in ids]}).scalar() or 0)


# ------------------------------------------------------------------ (d) failover


def timer_holder(database: Database) -> str | None:
    """The application name of the process holding the timer lock, if any."""
    query = text("""
        SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :key
           AND l.objsubid = 2
           AND l.objid = ((hashtext(current_schema())::bigint + 4294967296) % 4294967296)::oid
    """)
    with database.engine.connect() as connection:
        return connection.execute(query, {"key": TIMER_LOCK}).scalar()


def schedule_reminder(core: Core, branch_id: int, chat_id: int, seconds: float) -> None:
    """A notice to the branch's groups `seconds` from now (the `notice_due` timer)."""
    with core.db.session() as session:
        chat = orgs.ensure_chat(session, "telegram", str(chat_id), "group", "三号楼群")
        orgs.bind_chat(session, chat, branch_id)
        account = people.find_account(session, "telegram", str(SECRETARY.id))
        assert account is not None
        due = core.clock() + dt.timedelta(seconds=seconds)
        item = notices.create(
            session, branch_id=branch_id, created_by=account.person_id, text=REMINDER,
            target="branch", target_chat_id=None, rule="once", rule_time="", rule_day=0,
            created_at=core.clock(), rule_at=due)
        run = notices.plan_run(session, item.id, due)
        assert run is not None
        timers.schedule(session, "notice_due", str(run.id), due)


async def failover(database: Database, core: Core, fake: FakeTelegram, workers: list[WorkerProcess],
                   branch_id: int) -> tuple[float, float | None]:
    """Kill the timer leader with a notice due in 20 s; returns (seconds until a survivor
    holds the timer lock, seconds the notice arrived after it was due, or None)."""
    chat_id = -1008800000001
    fake.add_chat(group_chat(chat_id, "三号楼群"))
    leader_name = await asyncio.to_thread(timer_holder, database)
    leader = next(w for w in workers if w.name == leader_name)
    await asyncio.to_thread(schedule_reminder, core, branch_id, chat_id, 20)
    due = time.monotonic() + 20
    leader.kill()
    killed = time.monotonic()

    def taken_over() -> bool:
        holder = timer_holder(database)
        return holder is not None and holder != leader_name

    await until(taken_over, 60)
    took = time.monotonic() - killed
    arrived = await until(lambda: any(REMINDER in t for t in fake.sent_texts(chat_id)), 60)
    late = time.monotonic() - due if arrived else None
    return took, late


# ------------------------------------------------------------------ the run


async def run(args: argparse.Namespace) -> str:
    fake = FakeTelegram(limits=Limits())
    fake.start()
    token = f"{uuid.uuid4().int % 10**9}:cluster-bench"
    workers: list[WorkerProcess] = []
    try:
        with fresh_schema(args.postgres, "cluster") as url, \
                tempfile.TemporaryDirectory(prefix="jinlin-cluster-") as folder:
            database = Database.from_url(url)
            upgrade(database.engine)
            core = Core(database, rules=Rules(secret=b"c" * 32))
            branch_id = seed_branch(core, SECRETARY, BRANCH)
            workers = [WorkerProcess(n, url, fake, token, SECRET, Path(folder),
                                     redis_url=args.redis) for n in range(args.workers)]
            await until_ready(workers)
            proxy = Proxy(workers, SECRET)
            ok = await dialogs(proxy, fake, branch_id, args.people)
            print(f"(a) dialogs: {ok}/{args.people} forms read as written")
            ratio, share = await broadcast(core, fake, args.groups)
            print(f"(b) broadcast to {args.groups} groups: ratio {ratio:.2f} against "
                  f"{args.groups}/{FLOOR_PER_SECOND} s, 429 on {share:.2%} of requests")
            leader = await asyncio.to_thread(timer_holder, database)
            victim = next(w for w in workers if w.name != leader)
            unhandled, lost, twice = await killed_worker(proxy, fake, database, victim,
                                                         args.updates)
            print(f"(c) {victim.name} killed after {args.updates} acknowledged updates: "
                  f"{lost} people without an answer ({unhandled} updates never handled), "
                  f"{twice} answered twice")
            took, late = await failover(database, core, fake, workers, branch_id)
            said = f"{late:.1f} s after it was due" if late is not None else "never"
            print(f"(d) timer leader killed: a survivor held the timer lock after "
                  f"{took:.1f} s; the notice due 20 s after arrived {said}")
            await proxy.aclose()
            for worker in workers:
                worker.stop()
            database.dispose()
    finally:
        for worker in workers:
            worker.stop()
        fake.stop()
    return (f"cluster: dialogs {ok}/{args.people}, 429 {share * 100:.1f}%, "
            f"broadcast ratio {ratio:.2f}, lost {lost}, failover {took:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--groups", type=int, default=1400)
    parser.add_argument("--updates", type=int, default=200)
    print(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
