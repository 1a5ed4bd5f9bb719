"""Benchmark: 签到 throughput and latency through the core, on SQLite and PostgreSQL.

N verified members check in once each (sequentially, then from several threads at once),
followed by the same N sending a second 签到 (the refusal path). Prints updates/s and
p50/p99 latency per phase; verifies every check-in was stored exactly once.

    .venv/bin/python -m bench.core_checkin [--members 500] [--threads 8] [--postgres URL]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from bot.cli import grant
from handlers.core import Core
from handlers.messages import ChatKind, Incoming, Sender
from storage import orgs, people
from storage.db import Database, scratch_schema
from storage.migrate import upgrade
from storage.models import CheckIn

PLATFORM = "bench"


def seed(database: Database, members: int) -> list[Sender]:
    """One branch with a bound group and `members` verified members, written directly."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    senders = [Sender(PLATFORM, f"m{n}", f"党员{n}", None, "zh-CN") for n in range(members)]
    with database.session() as session:
        branch = orgs.create_branch(session, orgs.create_community(session, "社区").id, "支部")
        chat = orgs.ensure_chat(session, PLATFORM, "group", "group", "群")
        orgs.bind_chat(session, chat, branch.id)
        for sender in senders:
            account, _ = people.ensure_account(session, people.SenderInfo(
                PLATFORM, sender.external_id, sender.display_name, None, "zh-CN"), now)
            profile, _ = people.save_profile(session, account.person_id, branch.id, {
                "name": sender.display_name, "building": "1号楼", "kind": "retired",
                "registered_here": True, "skills": ""}, now)
            profile.status = "verified"
    grant(database, f"{PLATFORM}:admin", "community_admin")
    return senders


def run_phase(core: Core, senders: list[Sender], threads: int,
              tag: str) -> tuple[float, list[float]]:
    """Each sender writes 签到 once; returns (updates/s, latencies in ms)."""
    def one(sender: Sender) -> float:
        started = time.perf_counter()
        replies = core.handle(Incoming(PLATFORM, "group", ChatKind.GROUP, sender, text="签到",
                                       update_key=f"{tag}-{sender.external_id}"))
        assert "签到" in replies[0].text, replies
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    if threads == 1:
        latencies = [one(s) for s in senders]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            latencies = list(pool.map(one, senders))
    return len(senders) / (time.perf_counter() - started), latencies


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def bench_database(name: str, database: Database, members: int, threads: int) -> None:
    upgrade(database.engine)
    senders = seed(database, members)
    core = Core(database)
    half = members // 2
    phases = [("first check-in, 1 thread", senders[:half], 1),
              (f"first check-in, {threads} threads", senders[half:], threads),
              (f"repeat (refused), {threads} threads", senders, threads)]
    for label, group, workers in phases:
        rate, latencies = run_phase(core, group, workers, label)
        p50, p99 = percentile(latencies, .5), percentile(latencies, .99)
        print(f"{name:10} {label:32} {rate:8.0f} updates/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    with database.session() as session:
        stored = session.scalar(select(func.count()).select_from(CheckIn))
    print(f"{name:10} check-ins stored: {stored} of {members} members "
          f"({'exactly once' if stored == members else 'MISMATCH'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sqlite = Database.from_url(f"sqlite:///{folder}/bench.sqlite3")
        bench_database("sqlite", sqlite, args.members, args.threads)
        sqlite.dispose()
    with contextlib.ExitStack() as stack:
        try:
            postgres = stack.enter_context(
                scratch_schema(args.postgres, "bench", pool_size=args.threads))
        except Exception as error:  # no server: say so and stop
            print(f"postgresql skipped: {error}")
            return
        bench_database("postgresql", postgres, args.members, args.threads)


if __name__ == "__main__":
    main()
