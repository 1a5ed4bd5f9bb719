"""Generate a city-scale database for the ledger benchmark, and say how fast it was written.

At --scale 1.0: 400 communities, 1,400 branches (sizes skewed: a few large compounds, many
small ones), 65,000 verified members, 20,000 other residents, and one year (2025) of their
life: about 5 million check-ins (each with its points entry), 33,600 activities with sign-ups,
attendance and no-shows, 60,000 claims, 100,000 help requests, 30,000 problem reports and a
monthly notice per branch with its 收到 acknowledgements. Rows go in by bulk: SQLite
executemany in large transactions with synchronous=OFF; PostgreSQL COPY (psycopg). The schema
comes from the project's migrations, so the data set is what the bot itself reads.

    .venv/bin/python -m bench.ledger_generate [--scale 1.0] [--db bench/data/ledger.sqlite3]
    .venv/bin/python -m bench.ledger_generate --postgres URL [--schema ledger_bench]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from storage.db import Database
from storage.migrate import upgrade

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_DB = DATA_DIR / "ledger.sqlite3"
YEAR = 2025
DAYS = 365
SHANGHAI = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai has no daylight saving
BATCH = 50_000
CHECKINS_PER_MEMBER_DAY = 5_000_000 / (65_000 * DAYS)
PLATFORM = "bench"
# The biggest branch: a large compound, the worst case for one branch's ranking and export.
BIGGEST_SHARE = 0.006

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Sizes:
    communities: int
    branches: int
    members: int
    residents: int
    help_requests: int
    problems: int
    claims: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        def n(full: int, least: int = 1) -> int:
            return max(least, round(full * scale))

        return cls(n(400), n(1400, 2), n(65_000, 20), n(20_000, 10), n(100_000),
                   n(30_000), n(60_000))


def utc_text(moment: dt.datetime) -> str:
    """A moment as the UTC text both databases read back (SQLAlchemy's SQLite format)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def local_day(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """`hour`:`minute` in Shanghai on day `day` (0-based) of the year."""
    return dt.datetime(YEAR, 1, 1, hour, minute, tzinfo=SHANGHAI) + dt.timedelta(days=day)


@dataclass
class World:
    """Ids handed out while generating, and who belongs where."""

    sizes: Sizes
    rng: random.Random
    members_of: list[list[int]] = field(default_factory=list)   # branch index -> person ids
    residents_of: list[list[int]] = field(default_factory=list)
    secretary_of: list[int] = field(default_factory=list)
    next_person: int = 1


# ---------------------------------------------------------------- the tables


def communities(w: World) -> Iterator[Row]:
    for c in range(1, w.sizes.communities + 1):
        yield c, f"社区{c:04d}"


def branch_sizes(w: World, total: int) -> list[int]:
    """Skewed sizes that add up to `total`; branch 1 is the biggest."""
    weights = sorted((w.rng.paretovariate(1.6) for _ in range(w.sizes.branches)), reverse=True)
    weights[0] = max(weights[0], sum(weights) * BIGGEST_SHARE)
    scale = total / sum(weights)
    sizes = [max(1, int(x * scale)) for x in weights]
    sizes[-1] += total - sum(sizes)
    while sizes[-1] < 1:  # rounding took too much from the last: give it back from the first
        sizes[0] -= 1
        sizes[-1] += 1
    return sizes


def branches(w: World) -> Iterator[Row]:
    for b in range(1, w.sizes.branches + 1):
        yield b, (b - 1) % w.sizes.communities + 1, f"支部{b:04d}"


def chats(w: World) -> Iterator[Row]:
    for b in range(1, w.sizes.branches + 1):
        yield b, PLATFORM, f"g{b}", "group", f"小区群{b:04d}", b


def people(w: World) -> Iterator[tuple[str, Row]]:
    """Persons, accounts, member profiles and role grants, tagged with their table."""
    created = utc_text(local_day(0, 9) - dt.timedelta(days=30))
    member_sizes = branch_sizes(w, w.sizes.members)
    resident_sizes = [max(1, round(s * w.sizes.residents / w.sizes.members))
                      for s in member_sizes]
    profile_id = 0
    for b, (n_members, n_residents) in enumerate(zip(member_sizes, resident_sizes,
                                                     strict=True), start=1):
        members: list[int] = []
        residents: list[int] = []
        for kind, count, bucket in (("member", n_members, members),
                                    ("resident", n_residents, residents),
                                    ("secretary", 1, None)):
            for _ in range(count):
                pid = w.next_person
                w.next_person += 1
                yield "persons", (pid, "zh_CN", created, None, w.rng.random() > 0.05)
                yield "accounts", (pid, pid, PLATFORM, f"p{pid}", f"居民{pid}", None, "zh-CN")
                if bucket is not None:
                    bucket.append(pid)
                if kind == "member":
                    profile_id += 1
                    yield "member_profiles", (
                        profile_id, pid, b, f"党员{pid}", f"{w.rng.randint(1, 30)}号楼",
                        w.rng.choice(("employed", "retired", "mobile", "other")),
                        w.rng.random() > 0.3, "", "verified", created, created, None)
                elif kind == "secretary":
                    w.secretary_of.append(pid)
                    yield "role_grants", (b, pid, "secretary", b, None, None, created)
        w.members_of.append(members)
        w.residents_of.append(residents)


def checkins(w: World) -> Iterator[tuple[str, Row]]:
    """Each member checks in on some days of the year (keen ones nearly daily); each check-in
    earns its points entry, as the bot does."""
    days_text = [(dt.date(YEAR, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(DAYS)]
    # Check-ins fall between 08:00 and 21:59 local time: 00:00-13:59 UTC of the same day.
    times = [f" {h:02d}:{m:02d}:00.000000" for h in range(14) for m in range(60)]
    cid = 0
    rnd = w.rng.random
    for b, members in enumerate(w.members_of, start=1):
        for pid in members:
            rate = min(1.0, w.rng.expovariate(1 / CHECKINS_PER_MEMBER_DAY))
            for day in sorted(w.rng.sample(range(DAYS), round(rate * DAYS))):
                cid += 1
                at = days_text[day] + times[int(rnd() * len(times))]
                yield "checkins", (cid, pid, b, days_text[day], at, b)
                yield "points_entries", (pid, b, 1, "checkin", f"checkin:{cid}", at, "")


def activities(w: World) -> Iterator[tuple[str, Row]]:
    """Two activities a month per branch, with sign-ups, attendance, hours and no-shows."""
    aid = signup_id = attendance_id = no_show_id = 0
    for b, members in enumerate(w.members_of, start=1):
        for month in range(12):
            for half in (3, 17):
                aid += 1
                day = (dt.date(YEAR, month + 1, half) - dt.date(YEAR, 1, 1)).days
                start, end = local_day(day, 9), local_day(day, 11)
                secretary = w.secretary_of[b - 1]
                yield "activities", (aid, b, f"志愿服务{aid}", utc_text(start), utc_text(end),
                                     f"{b}号小区", 10, 5, "", secretary,
                                     utc_text(start - dt.timedelta(days=7)), None)
                for pid in w.rng.sample(members, min(len(members), w.rng.randint(3, 10))):
                    signup_id += 1
                    yield "signups", (signup_id, aid, pid, "confirmed",
                                      utc_text(start - dt.timedelta(days=3)), None, False)
                    if w.rng.random() < 0.85:
                        attendance_id += 1
                        came = start - dt.timedelta(minutes=w.rng.randint(0, 20))
                        left = end + dt.timedelta(minutes=w.rng.randint(-30, 20))
                        yield "attendances", (attendance_id, aid, pid, utc_text(came),
                                              utc_text(left), False)
                        yield "points_entries", (pid, b, 5, "activity", f"activity:{aid}",
                                                 utc_text(came), "")
                        yield "points_entries", (pid, b, 2, "hours", f"hours:{aid}",
                                                 utc_text(left), "")
                    else:
                        no_show_id += 1
                        yield "no_shows", (no_show_id, aid, pid, "absent", utc_text(end),
                                           None, None)
                        yield "points_entries", (pid, b, -2, "no_show", f"noshow:{aid}",
                                                 utc_text(end), "")


def needs(w: World) -> Iterator[tuple[str, Row]]:
    """Ten items per branch; claims promised, fulfilled and rated through the year."""
    item_ids: list[list[int]] = []
    item_id = 0
    created = utc_text(local_day(0, 9))
    for b in range(1, w.sizes.branches + 1):
        ids = []
        for n in range(10):
            item_id += 1
            ids.append(item_id)
            yield "need_items", (item_id, b, f"事项{n + 1}", "小区", "", 2, "weekly",
                                 w.secretary_of[b - 1], created, None)
        item_ids.append(ids)
    for claim_id in range(1, w.sizes.claims + 1):
        b = _weighted_branch(w)
        pid = w.rng.choice(w.members_of[b - 1])
        day = w.rng.randrange(DAYS - 20)
        claimed, done = local_day(day, 10), local_day(day + w.rng.randint(1, 14), 18)
        rating = w.rng.randint(3, 5)
        yield "claims", (claim_id, w.rng.choice(item_ids[b - 1]), pid, b, "rated", "每周一次",
                         utc_text(claimed), None, utc_text(done), "做好了", rating, "",
                         w.secretary_of[b - 1], utc_text(done), utc_text(done))
        yield "points_entries", (pid, b, rating * 2, "claim", f"claim:{claim_id}",
                                 utc_text(done), "")


def help_requests(w: World) -> Iterator[tuple[str, Row]]:
    for request_id in range(1, w.sizes.help_requests + 1):
        b = _weighted_branch(w)
        requester = w.rng.choice(w.residents_of[b - 1])
        helper = w.rng.choice(w.members_of[b - 1])
        day = w.rng.randrange(DAYS - 2)
        asked = local_day(day, w.rng.randint(7, 20))
        taken, done = asked + dt.timedelta(minutes=40), asked + dt.timedelta(hours=5)
        stars = w.rng.randint(3, 5)
        yield "help_requests", (request_id, b, requester,
                                w.rng.choice(("buy", "errand", "escort", "repair", "care")),
                                "帮忙买菜", "3号楼", "电话13800000000", "closed", helper,
                                utc_text(asked), utc_text(taken), utc_text(done), utc_text(done),
                                stars, 0)
        yield "points_entries", (helper, b, 5 + stars, "help", f"help:{request_id}",
                                 utc_text(done), "")


def problem_reports(w: World) -> Iterator[tuple[str, Row]]:
    for report_id in range(1, w.sizes.problems + 1):
        b = _weighted_branch(w)
        reporter = w.rng.choice(w.residents_of[b - 1])
        assignee = w.rng.choice(w.members_of[b - 1])
        day = w.rng.randrange(DAYS - 5)
        reported, resolved = local_day(day, 10), local_day(day + 3, 16)
        yield "problem_reports", (report_id, b, reporter, "路灯坏了", "resolved", assignee,
                                  "已修好", utc_text(reported), utc_text(resolved),
                                  utc_text(resolved), None)
        yield "points_entries", (assignee, b, 5, "problem", f"problem:{report_id}",
                                 utc_text(resolved), "")


def notices(w: World) -> Iterator[tuple[str, Row]]:
    """A monthly notice per branch, sent to its group, acknowledged by most members."""
    ack_id = 0
    for b, members in enumerate(w.members_of, start=1):
        notice_id = b
        secretary = w.secretary_of[b - 1]
        yield "notices", (notice_id, b, secretary, "主题党日", "branch", None,
                          "monthly_first_workday", "09:00", 0, None, "active",
                          utc_text(local_day(0, 8)), None)
        for month in range(12):
            run_id = (notice_id - 1) * 12 + month + 1
            sent = dt.datetime(YEAR, month + 1, 2, 9, 0, tzinfo=SHANGHAI)
            yield "notice_runs", (run_id, notice_id, utc_text(sent), "done", "主题党日",
                                  utc_text(sent), utc_text(sent), False)
            yield "deliveries", (run_id, run_id, PLATFORM, f"g{b}", "sent", str(run_id), "", 1,
                                 None, utc_text(sent), utc_text(sent))
            for pid in members:
                if w.rng.random() < 0.6:
                    ack_id += 1
                    yield "acks", (ack_id, run_id, pid, b,
                                   utc_text(sent + dt.timedelta(minutes=w.rng.randint(1, 600))))


_BRANCH_WEIGHTS: list[list[int]] = []


def _weighted_branch(w: World) -> int:
    """A branch chosen in proportion to its members (1-based)."""
    if not _BRANCH_WEIGHTS:
        _BRANCH_WEIGHTS.append([len(m) for m in w.members_of])
    return w.rng.choices(range(1, w.sizes.branches + 1), weights=_BRANCH_WEIGHTS[0])[0]


COLUMNS: dict[str, Sequence[str]] = {
    "communities": ("id", "name"),
    "branches": ("id", "community_id", "name"),
    "chats": ("id", "platform", "external_id", "kind", "title", "branch_id"),
    "persons": ("id", "lang", "created_at", "erased_at", "ranked_publicly"),
    "accounts": ("id", "person_id", "platform", "external_id", "display_name", "username",
                 "language_code"),
    "member_profiles": ("id", "person_id", "branch_id", "name", "building", "kind",
                        "registered_here", "skills", "status", "submitted_at", "decided_at",
                        "decided_by"),
    "role_grants": ("id", "person_id", "role", "branch_id", "community_id", "granted_by",
                    "granted_at"),
    "checkins": ("id", "person_id", "branch_id", "day", "at", "chat_id"),
    "activities": ("id", "branch_id", "title", "starts_at", "ends_at", "place", "capacity",
                   "points", "note", "created_by", "created_at", "cancelled_at"),
    "signups": ("id", "activity_id", "person_id", "status", "queued_at", "cancelled_at",
                "walk_in"),
    "attendances": ("id", "activity_id", "person_id", "signed_in_at", "signed_out_at",
                    "walk_in"),
    "no_shows": ("id", "activity_id", "person_id", "reason", "recorded_at", "excused_at",
                 "excused_by"),
    "need_items": ("id", "branch_id", "name", "place", "description", "holders", "recurrence",
                   "created_by", "created_at", "archived_at"),
    "claims": ("id", "item_id", "person_id", "branch_id", "status", "pledge", "claimed_at",
               "reminded_at", "done_at", "done_note", "rating", "rating_comment",
               "rated_by", "rated_at", "closed_at"),
    "help_requests": ("id", "branch_id", "requester_id", "category", "text", "building",
                      "contact", "status", "helper_id", "created_at", "taken_at", "done_at",
                      "closed_at", "rating", "escalation"),
    "problem_reports": ("id", "branch_id", "reporter_id", "text", "status", "assignee_id",
                        "note", "created_at", "updated_at", "resolved_at", "followed_up_at"),
    "notices": ("id", "branch_id", "created_by", "text", "target", "target_chat_id", "rule",
                "rule_time", "rule_day", "rule_at", "state", "created_at", "cancelled_at"),
    "notice_runs": ("id", "notice_id", "planned_at", "state", "text", "started_at",
                    "finished_at", "fallback"),
    "deliveries": ("id", "run_id", "platform", "chat_external_id", "state", "message_id",
                   "error", "attempts", "not_before", "claimed_at", "sent_at"),
    "acks": ("id", "run_id", "person_id", "chat_id", "at"),
    # Points entries get their ids from the database (every generator adds some).
    "points_entries": ("person_id", "branch_id", "points", "reason", "source", "at", "note"),
}


def tagged(table: str, rows: Iterable[Row]) -> Iterator[tuple[str, Row]]:
    return ((table, row) for row in rows)


def everything(w: World) -> Iterator[tuple[str, Row]]:
    """Every row of the data set, tagged with its table, in an order foreign keys accept."""
    yield from tagged("communities", communities(w))
    yield from tagged("branches", branches(w))
    yield from tagged("chats", chats(w))
    for part in (people, checkins, activities, needs, help_requests, problem_reports, notices):
        yield from part(w)


# ---------------------------------------------------------------- writing


class Writer:
    """Buffers rows per table and writes them in bulk."""

    def __init__(self) -> None:
        self.buffers: dict[str, list[Row]] = {}
        self.counts: dict[str, int] = {}

    def add(self, table: str, row: Row) -> None:
        buffer = self.buffers.setdefault(table, [])
        buffer.append(row)
        if len(buffer) >= BATCH:
            self.flush(table)

    def flush(self, table: str) -> None:
        rows = self.buffers.pop(table, [])
        if rows:
            self.write(table, rows)
            self.counts[table] = self.counts.get(table, 0) + len(rows)

    def flush_all(self) -> None:
        for table in list(self.buffers):
            self.flush(table)

    def write(self, table: str, rows: list[Row]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Write what is left and make the data set ready to query."""
        self.flush_all()


class SQLiteWriter(Writer):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("PRAGMA cache_size=-400000")
        self.connection.execute("PRAGMA foreign_keys=OFF")
        # Plain indexes are built once at the end, faster than kept up row by row.
        self.indexes = [sql for (sql,) in self.connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('checkins', 'points_entries', 'acks')")]
        for (name,) in self.connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN ('checkins', 'points_entries', 'acks')").fetchall():
            self.connection.execute(f"DROP INDEX {name}")
        self.connection.execute("BEGIN")

    def write(self, table: str, rows: list[Row]) -> None:
        columns = COLUMNS[table]
        marks = ", ".join("?" * len(columns))
        # Table and column names come from COLUMNS above, never from input.
        self.connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608

    def finish(self) -> None:
        self.flush_all()
        for sql in self.indexes:
            self.connection.execute(sql)
        self.connection.execute("COMMIT")
        self.connection.execute("ANALYZE")
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.connection.close()


class PostgresWriter(Writer):
    def __init__(self, url: str, schema: str) -> None:
        import psycopg

        super().__init__()
        self.schema = schema
        self.connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                                          options=f"-csearch_path={schema}")
        # The generated texts are UTC wall-clock times.
        self.connection.execute("SET TIME ZONE 'UTC'")
        self.connection.execute("SET session_replication_role = replica")  # no FK triggers

    def write(self, table: str, rows: list[Row]) -> None:
        lines = "".join("\t".join(_copy_value(v) for v in row) + "\n" for row in rows)
        with self.connection.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
            copy.write(lines)

    def finish(self) -> None:
        self.flush_all()
        for table, columns in COLUMNS.items():
            if "id" in columns:
                self.connection.execute(  # table names from COLUMNS, never from input
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
        self.connection.execute("SET session_replication_role = origin")
        self.connection.commit()
        self.connection.autocommit = True
        # VACUUM sets the visibility map, without which sums cannot come from the index alone.
        for table in COLUMNS:
            self.connection.execute(f"VACUUM ANALYZE {table}")
        self.connection.close()


def _copy_value(value: Any) -> str:
    """COPY's text format; the generated texts hold no tab, newline or backslash."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


# ---------------------------------------------------------------- running


def fresh_sqlite(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        old.unlink(missing_ok=True)
    database = Database.from_url(f"sqlite:///{path}")
    upgrade(database.engine)
    database.dispose()


def fresh_postgres(url: str, schema: str) -> None:
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    database = Database.from_url(url, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(database.engine)
    database.dispose()


def generate(writer: Writer, scale: float, seed: int) -> None:
    """Write the whole data set, then print rows per table and the rate."""
    _BRANCH_WEIGHTS.clear()
    world = World(Sizes.at(scale), random.Random(seed))
    started = time.perf_counter()
    for table, row in everything(world):
        writer.add(table, row)
    writer.flush_all()
    written = time.perf_counter() - started
    writer.finish()
    total = sum(writer.counts.values())
    elapsed = time.perf_counter() - started
    for table, count in sorted(writer.counts.items(), key=lambda item: -item[1]):
        print(f"  {table:18} {count:>10,}")
    print(f"  {'total':18} {total:>10,} rows in {written:.1f} s ({total / written:,.0f} rows/s); "
          f"with commit, ANALYZE and checkpoint {elapsed:.1f} s ({total / elapsed:,.0f} rows/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = a city (default)")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite file to (re)create")
    parser.add_argument("--postgres", help="PostgreSQL URL: generate into --schema there instead")
    parser.add_argument("--schema", default="ledger_bench")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.postgres:
        print(f"PostgreSQL schema {args.schema}, scale {args.scale}:")
        fresh_postgres(args.postgres, args.schema)
        generate(PostgresWriter(args.postgres, args.schema), args.scale, args.seed)
    else:
        print(f"SQLite {args.db}, scale {args.scale}:")
        fresh_sqlite(args.db)
        generate(SQLiteWriter(args.db), args.scale, args.seed)


if __name__ == "__main__":
    main()
