"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable), a fixed clock, and
the console world that most conversation tests talk through."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from bot.console import ConsoleWorld
from bot.web import Server
from handlers import i18n
from handlers.core import Core
from handlers.rules import Rules
from storage.db import Database, scratch_schema
from storage.migrate import upgrade

# Every test runs with strict texts: a missing catalog key, an unfilled {placeholder} or an
# internal code shown raw fails it (subprocesses inherit the setting).
os.environ[i18n.STRICT_ENV] = "1"

# The services tests run in this process must not take SIGTERM for themselves: `timeout`'s
# SIGTERM would only stop the server of the test under way, and the run would go on past it.
Server.take_signals = False

POSTGRES_URL = os.environ.get("JINLIN_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Clock:
    """A clock tests move by hand; starts on a Monday morning in Shanghai."""

    now: dt.datetime = dt.datetime(2026, 11, 23, 8, 30, tzinfo=SHANGHAI)

    def __call__(self) -> dt.datetime:
        return self.now.astimezone(dt.UTC)

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)

    def set(self, *args: int) -> None:
        self.now = dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def _postgres_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means: skip, and say why
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(error).__name__}: {error}"
    return None


_PG_REASON: list[str | None] = []


def postgres_skip_reason() -> str | None:
    if not _PG_REASON:
        _PG_REASON.append(_postgres_reason())
    return _PG_REASON[0]


def _postgres_database() -> Iterator[Database]:
    """A fresh schema inside the test database, dropped afterwards."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    with scratch_schema(POSTGRES_URL, "t", pool_size=20) as database:
        yield database


def _sqlite_database(tmp_path: object) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path}/jinlin.sqlite3")
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test that produced a broken text, even one its code caught and logged."""
    i18n.take_broken()
    result = yield
    broken = i18n.take_broken()
    if broken:
        raise i18n.BrokenText("broken text reached a person:\n" + "\n".join(broken))
    return result


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path: object) -> Iterator[Database]:
    """The embedded SQLite database, migrated."""
    yield from _sqlite_database(tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Database]:
    """Each storage test runs on SQLite and on PostgreSQL (skipped, with the reason, if absent)."""
    if request.param == "sqlite":
        yield from _sqlite_database(tmp_path)
    else:
        yield from _postgres_database()


TEST_RULES = Rules(secret=b"test-secret-for-qr-codes")


@pytest.fixture
def core(db: Database, clock: Clock) -> Core:
    return Core(db, rules=TEST_RULES, clock=clock)


@pytest.fixture
def world(core: Core) -> ConsoleWorld:
    return ConsoleWorld(core)
