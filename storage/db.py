"""The database: engine set-up for SQLite and PostgreSQL, and sessions."""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000
# An execution option marking connections that only read (no write lock is taken for them).
READ_ONLY = "jinlin_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with SQLite tuned for concurrent use (WAL, busy timeout, foreign keys)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **kwargs)
    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling starts transactions lazily, which lets concurrent
    # "read then write" sequences interleave; we begin IMMEDIATE ourselves instead.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        reading = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


class Database:
    """Owns the engine and hands out sessions that commit on success."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # SQLite admits one writer at a time; queueing threads here is fairer and faster than
        # SQLite's busy handler, which sleeps and retries. Other processes still wait on it.
        self._write_turn: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext())

    @classmethod
    def from_url(cls, url: str, **engine_options: Any) -> Database:
        return cls(make_engine(url, **engine_options))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on any error."""
        with self._write_turn, self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A look at the data that writes nothing and waits for no writer; rolled back."""
        with self._sessions(bind=self.engine.execution_options(**{READ_ONLY: True})) as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()


def insert_if_absent(session: Session, model: type[Any], values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; True when a row was added.

    One statement instead of look-up, savepoint, insert: the unique key decides who was first.
    """
    statement = _insert_statement(session.get_bind().dialect.name, model.__table__)
    # rowcount is not reliable here across drivers; a returned key is.
    return session.execute(statement, values).first() is not None


@functools.cache
def _insert_statement(dialect: str, table: Any) -> Any:
    """Built once per table: this runs on every update (processed-update mark, attendance,
    points), and building and keying the statement anew cost more than executing it."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


@contextmanager
def scratch_schema(url: str, prefix: str, **engine_options: Any) -> Iterator[Database]:
    """A migrated database in a new PostgreSQL schema, dropped afterwards (tests, benchmarks).

    Raises whatever connecting raises, before anything is created, when the server is away.
    """
    from sqlalchemy import text

    from storage.migrate import upgrade

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url, connect_args={"connect_timeout": 5})
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        options = {"connect_args": {"options": f"-csearch_path={schema}"}, **engine_options}
        database = Database.from_url(url, **options)
        try:
            upgrade(database.engine)
            yield database
        finally:
            database.dispose()
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
