"""Benchmark: the web desk's heaviest pages for the biggest branch of a city-scale data set.

The data set is bench.ledger_generate's (generated here at --scale when --db does not exist
yet; 0.25 keeps the whole run to a few minutes, 1.0 is a city). The desk is served by uvicorn
on loopback exactly as the bot serves it, and an HTTP client signed in as the branch's
secretary asks for: the whole roster, the roster filtered, the participants of the branch's
biggest activity, the month's charts (November, December), the activity list, the notices
(and the latest one with who has not acknowledged), the needs list, the open help requests and
problem reports, the points ranking (this month, this year) and her own points. Latency is
the time from sending the request to having the whole page, as a person waits for it. Goal:
p95 under 150 ms on SQLite; peak resident memory under 200 MB.

    .venv/bin/python -m bench.desk [--db bench/data/desk.sqlite3] [--scale 0.25] [--repeat 5]

The last line is `desk p95 X ms over N pages`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import func, select

from bench.ledger_generate import DATA_DIR
from bench.ledger_scale import biggest_branch
from bot.delivery import Registry
from bot.desk import Desk
from bot.desk.app import COOKIE
from bot.web import Server, create_web_app
from handlers import desk
from handlers.core import Core
from handlers.rules import Rules
from storage import notices
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Activity, Signup
from tests.loopback import free_port

DEFAULT_DB = DATA_DIR / "desk.sqlite3"
NOW = dt.datetime(2025, 12, 20, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
SECRET = b"bench-desk-secret-for-loopback"
GOAL_MS, GOAL_MB = 150, 200


def biggest_activity(database: Database, branch_id: int) -> int:
    """The branch's activity with the most sign-ups."""
    with database.session() as session:
        found = session.execute(
            select(Activity.id).join(Signup, Signup.activity_id == Activity.id)
            .where(Activity.branch_id == branch_id).group_by(Activity.id)
            .order_by(func.count().desc()).limit(1)).scalar()
    assert found is not None, "the biggest branch has no activity with sign-ups"
    return int(found)


def latest_sending(database: Database, branch_id: int) -> int | None:
    """The branch's latest notice sending, if it has one."""
    with database.session() as session:
        found = notices.sent_runs(session, branch_id, 1)
        return found[0][1].id if found else None


async def run(database: Database, repeat: int) -> list[float]:
    branch_id, members, secretary = biggest_branch(database)
    activity_id = biggest_activity(database, branch_id)
    print(f"biggest branch #{branch_id}: {members} members; its biggest activity #{activity_id}")
    core = Core(database, rules=Rules(secret=SECRET), clock=lambda: NOW.astimezone(dt.UTC))
    app = create_web_app(Desk(core, None, Registry().deliver).routes())
    port = free_port()
    server = Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await asyncio.wait_for(server.listening.wait(), 10)
    # Account ids are person ids in the generated data set.
    cookie = desk.session_token(SECRET, secretary, core.clock())
    pages = {"roster": "/desk/roster", "roster 3号楼 verified":
             "/desk/roster?building=3%E5%8F%B7%E6%A5%BC&status=verified",
             "participants": f"/desk/activity/{activity_id}",
             "month 2025-11": "/desk/month?m=2025-11", "month 2025-12": "/desk/month?m=2025-12",
             "activities": "/desk/manage", "notices": "/desk/notices",
             "needs list": "/desk/items", "help requests": "/desk/help",
             "problem reports": "/desk/reports", "ranking, month": "/desk/rank",
             "ranking, year": "/desk/rank?p=year", "my points": "/desk/points"}
    sending = latest_sending(database, branch_id)
    if sending is not None:
        pages["notice, who has not acknowledged"] = f"/desk/notices/{sending}"
    times: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     cookies={COOKIE: cookie}, timeout=60) as http:
            for label, path in pages.items():
                taken = []
                for _ in range(repeat + 1):
                    started = time.perf_counter()
                    answer = await http.get(path)
                    taken.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code)
                cold, warm = taken[0], taken[1:]
                times += taken
                print(f"  {label:24} cold {cold:7.1f} ms  warm median "
                      f"{statistics.median(warm):7.1f} ms  {len(answer.content) / 1024:6.0f} KiB")
    finally:
        server.should_exit = True
        await task
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--scale", type=float, default=0.25,
                        help="size of the data set generated when --db does not exist")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not args.db.exists():
        # In a process of its own, so that its memory is not counted as the desk's.
        args.db.parent.mkdir(parents=True, exist_ok=True)
        generate = [sys.executable, "-m", "bench.ledger_generate", "--scale", str(args.scale),
                    "--db", str(args.db)]
        subprocess.run(generate, check=True)  # noqa: S603 - our own module and arguments
    database = Database.from_url(f"sqlite:///{args.db}")
    upgrade(database.engine)
    times = asyncio.run(run(database, args.repeat))
    database.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p95 = statistics.quantiles(times, n=20)[-1]
    verdict = "ok" if p95 < GOAL_MS and peak_mb < GOAL_MB else "OVER GOAL"
    print(f"peak resident memory {peak_mb:.0f} MB (goal < {GOAL_MB}); "
          f"p95 goal < {GOAL_MS} ms: {verdict}")
    print(f"desk p95 {p95:.0f} ms over {len(times)} pages")


if __name__ == "__main__":
    main()
