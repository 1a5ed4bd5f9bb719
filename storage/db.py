"""The database: engine set-up for SQLite and PostgreSQL, and sessions."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000
# An execution option marking connections that only read (no write lock is taken for them).
READ_ONLY = "jinlin_read_only"


# Seconds a pooled connection may sit unused and still be trusted without a ping.
PING_AFTER = 5.0
RETURNED_AT = "jinlin_returned_at"
# Where a connection counts the INSERT, UPDATE and DELETE statements it ran (see `writes`).
WRITES = "jinlin_writes"
# An execution option: the caller counts this statement's write itself, if it wrote.
COUNTED_BY_CALLER = "jinlin_counted_by_caller"
# Where a connection counts, per table, the INSERT, UPDATE and DELETE statements it ran
# (see `writes_to`).
TABLE_WRITES = "jinlin_table_writes"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with SQLite tuned for concurrent use (WAL, busy timeout, foreign keys)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _ping_when_idle(engine)
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        _tune_sqlite(engine)
    event.listen(engine, "before_cursor_execute", _count_write)
    event.listen(engine, "after_cursor_execute", _count_change)
    event.listen(engine, "handle_error", _count_failure)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle for PING_AFTER seconds
    (a server restart meanwhile is then noticed). `pool_pre_ping` pings at every checkout:
    a round trip on every update, an eighth of a sign-in's on PostgreSQL."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(RETURNED_AT, float("inf")) < PING_AFTER:
            return
        try:
            dbapi_connection.cursor().execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as error:  # gone: the pool drops it and connects anew
            raise DisconnectionError from error


def _count(connection: Any) -> None:
    connection.info[WRITES] = connection.info.get(WRITES, 0) + 1


def _count_write(connection: Any, _cursor: Any, _statement: str, _parameters: Any,
                 context: Any, _executemany: bool) -> None:
    """Before a write statement: note its table, and count it if it is an INSERT (an UPDATE
    or DELETE counts once it changed a row: `_count_change`)."""
    if context is None or not (context.isinsert or context.isupdate or context.isdelete):
        return
    _count_table(connection, context)
    if context.isinsert and not context.execution_options.get(COUNTED_BY_CALLER):
        _count(connection)


def _count_table(connection: Any, context: Any) -> None:
    """Note the table a write statement is about to touch (whether it then changes a row
    or not: the tally may say "written" where nothing was, never the other way)."""
    table = getattr(getattr(context.compiled, "statement", None), "table", None)
    name = getattr(table, "name", None)
    tally = connection.info.setdefault(TABLE_WRITES, {})
    tally[name] = tally.get(name, 0) + 1


def _count_change(connection: Any, cursor: Any, _statement: str, _parameters: Any,
                  context: Any, _executemany: bool) -> None:
    # An UPDATE or DELETE whose conditions matched no row wrote nothing ("take it if still
    # open" lost the race): a refusal after it needs no undoing.
    if context is not None and (context.isupdate or context.isdelete) and cursor.rowcount != 0:
        _count(connection)


def _count_failure(error: Any) -> None:
    # A failed statement spoils a PostgreSQL transaction: undoing needs a savepoint too.
    if error.connection is not None:
        _count(error.connection)


def writes(session: Session) -> int:
    """How many INSERT, UPDATE and DELETE statements the session's connection has run (a
    flush counts its own): two readings that agree mean nothing was written between them."""
    count: int = session.connection().info.get(WRITES, 0)
    return count


def writes_to(session: Session, *tables: str) -> int:
    """How many write statements the session's connection has run on these tables (a flush
    counts its own): two readings that agree mean none of them was written between them.
    Statements that write through a WITH inside a SELECT are not counted."""
    tally: dict[str | None, int] = session.connection().info.get(TABLE_WRITES, {})
    return sum(tally.get(table, 0) for table in tables)


def discard_pending(session: Session) -> None:
    """Forget changes made to objects and not yet flushed (nothing was written)."""
    for instance in list(session.new) + list(session.deleted):
        session.expunge(instance)
    for instance in list(session.dirty):
        session.expire(instance)


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
    statement = insert_once(session.get_bind().dialect.name, model.__table__)
    # rowcount is not reliable here across drivers; a returned key is.
    if execute_core(session, statement, values).first() is None:
        return False  # the row was there: nothing was written
    counted_write(session)
    return True


def execute_core(session: Session, statement: Executable,
                 values: dict[str, Any] | list[dict[str, Any]]) -> CursorResult[Any]:
    """A prebuilt Core statement (no ORM entities) run on the session's connection: as
    `session.execute` (pending changes flushed first), without the ORM's execution layer,
    which costs more than the driver's round trip on the hot path."""
    session.flush()
    return session.connection().execute(statement, values)


def counted_write(session: Session) -> None:
    """Count a write of a statement marked COUNTED_BY_CALLER, or one the events do not see
    (an INSERT inside a SELECT's WITH)."""
    info = session.connection().info
    info[WRITES] = info.get(WRITES, 0) + 1


@functools.cache
def insert_once(dialect: str, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the key, its write counted by the caller
    (`counted_write`): VALUES as it is, or add `.from_select(…)`. Built once per table: this
    runs on every update (processed-update mark, attendance, points), and building and keying
    the statement anew cost more than executing it."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
            .execution_options(**{COUNTED_BY_CALLER: True}))


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
