"""Benchmark: does the bot stay quiet in a group unless spoken to?

Drives the console adapter with a corpus of ordinary group lines that are *not* for the bot
(tests/fixtures/addressing_chatter.txt) and one of command phrasings that are
(tests/fixtures/addressing_commands.tsv: typed, mentioned, replied, private). A chatter line
is a false trigger when the bot answers it in any way or writes any row; a command phrasing is
recalled when the intended command runs and the person gets an answer. Prints the lines that
failed, then, last, exactly `false triggers F/N; recall R/M` (goal: F = 0, R/M ≥ 0.97).

    .venv/bin/python -m bench.addressing
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select

from bot.console import PLATFORM, ConsoleWorld
from handlers.core import Core
from handlers.messages import ChatKind, Incoming
from handlers.router import Route
from handlers.rules import Rules
from storage import activities, needs, orgs, people
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base, Dialog

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
CHATTER = FIXTURES / "addressing_chatter.txt"
COMMANDS = FIXTURES / "addressing_commands.tsv"
GOAL_RECALL = 0.97
GROUP = "阳光小区群"
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
ACTIVITIES = ("清扫楼道", "义务理发")
ITEMS = ("3号楼楼道保洁", "看望独居老人王奶奶", "A段绿化养护", "B段绿化养护")


@dataclass(frozen=True)
class Phrasing:
    """One command phrasing: how it reaches the bot, who writes it, and what it must run."""

    how: str  # plain | mention | reply | private
    who: str
    text: str
    command: str


def chatter_lines() -> list[str]:
    lines = CHATTER.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def phrasings() -> list[Phrasing]:
    with COMMANDS.open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Phrasing(r["how"], r["who"], r["text"], r["command"]) for r in rows]


class RecordingCore(Core):
    """A core that remembers where the router sent the last update."""

    last_route: Route | None = None

    def _run(self, ctx, route, careful):  # type: ignore[no-untyped-def]
        self.last_route = route
        super()._run(ctx, route, careful)


def seed(world: ConsoleWorld) -> None:
    """The branch of 阳光小区: a bound group, a secretary, two verified members, a resident,
    two upcoming activities and four needs-list items, written directly."""
    now = NOW.astimezone(dt.UTC)
    with world.core.db.session() as session:
        branch = orgs.create_branch(session, orgs.create_community(session, "鹭江社区").id,
                                    "阳光小区党支部")
        chat = orgs.ensure_chat(session, PLATFORM, world.group(GROUP), "group", GROUP)
        orgs.bind_chat(session, chat, branch.id)
        persons = {}
        for name, lang in (("张三", "zh-CN"), ("王书记", "zh-CN"), ("路人", "zh-CN"),
                           ("Alice", "en")):
            sender = world.user(name, lang=lang)
            account, _ = people.ensure_account(session, people.SenderInfo(
                PLATFORM, sender.external_id, name, sender.username, lang), now)
            persons[name] = account.person_id
        for name in ("张三", "王书记", "Alice"):
            profile, _ = people.save_profile(session, persons[name], branch.id, {
                "name": name, "building": "3号楼", "kind": "retired",
                "registered_here": True, "skills": ""}, now)
            profile.status = "verified"
        people.grant(session, persons["王书记"], "secretary", branch_id=branch.id, now=now)
        for days, title in enumerate(ACTIVITIES, start=1):
            start = now + dt.timedelta(days=days)
            activities.create(session, branch_id=branch.id, title=title, starts_at=start,
                              ends_at=start + dt.timedelta(hours=2), place="3号楼大堂",
                              capacity=20, points=5, note="", created_by=persons["王书记"],
                              created_at=now)
        for name in ITEMS:
            needs.create_item(session, branch_id=branch.id, name=name, created_at=now)


def row_count(database: Database) -> int:
    """Rows in every table: a chatter line must not change it."""
    with database.session() as session:
        return sum(session.scalar(select(func.count()).select_from(table)) or 0
                   for table in Base.metadata.sorted_tables)


def deliver(world: ConsoleWorld, how: str, who: str, text: str) -> list:
    """`who` writes `text`: in the group, with a mention, as a reply to the bot, or privately."""
    sender = world.user(who)
    if how == "private":
        return world.say(who, "private", text)
    return world.deliver(Incoming(PLATFORM, world.group(GROUP), ChatKind.GROUP, sender,
                                  text=text, chat_title=GROUP, mentioned=how == "mention",
                                  reply_to_bot=how == "reply"))


@contextmanager
def fresh_world() -> Iterator[ConsoleWorld]:
    with tempfile.TemporaryDirectory() as folder:
        database = Database.from_url(f"sqlite:///{folder}/bench.sqlite3")
        upgrade(database.engine)
        core = RecordingCore(database, rules=Rules(secret=b"bench-secret-for-qr-codes"),
                             clock=lambda: NOW.astimezone(dt.UTC))
        world = ConsoleWorld(core)
        seed(world)
        try:
            yield world
        finally:
            database.dispose()


def false_triggers(world: ConsoleWorld, lines: list[str]) -> list[str]:
    """The chatter lines that got an answer or wrote a row, written by anyone of three."""
    failed = []
    before = row_count(world.core.db)
    for line in lines:
        answers = []
        for who in ("张三", "路人", "王书记"):
            answers += [s.text[:40] for s in deliver(world, "plain", who, line)]
        after = row_count(world.core.db)
        if answers or after != before:
            failed.append(f"{line}  ->  {answers}{' (+rows)' if after != before else ''}")
        before = after
    return failed


def missed(world: ConsoleWorld, cases: list[Phrasing]) -> list[str]:
    """The command phrasings that did not run their command, or got no answer."""
    core = world.core
    assert isinstance(core, RecordingCore)
    failed = []
    for case in cases:
        core.last_route = None
        shown = deliver(world, case.how, case.who, case.text)
        route = core.last_route
        ran = route is not None and route.kind == "command" and route.target == case.command
        if not (ran and shown):
            failed.append(f"{case.how} {case.who}: {case.text}  ->  "
                          f"{route.target if route else None} {[s.text[:40] for s in shown]}")
        with core.db.session() as session:
            # A phrasing that opened a form must not swallow the next one.
            session.execute(delete(Dialog))
    return failed


def main() -> None:
    lines, cases = chatter_lines(), phrasings()
    with fresh_world() as world:
        noisy = false_triggers(world, lines)
    with fresh_world() as world:
        lost = missed(world, cases)
    for line in noisy:
        print("false trigger:", line)
    for line in lost:
        print("missed:", line)
    recalled = len(cases) - len(lost)
    print(f"{len(lines)} chatter lines, each written by a member, a resident and the "
          f"secretary; {len(cases)} command phrasings; goal: no false trigger, recall "
          f"at least {GOAL_RECALL:.2f} (here {recalled / max(len(cases), 1):.3f})")
    print(f"false triggers {len(noisy)}/{len(lines)}; recall {recalled}/{len(cases)}")


if __name__ == "__main__":
    main()
