"""Locks that say which process does what on one database.

The timer lock: only one process runs the timers (and the WeCom robot sender, whose window
is in memory). PostgreSQL: a session-level advisory lock, held on a connection of its own.
Every process keeps trying it (bot/background.py), and the holder checks its connection each
time: when the connection is lost, so is the lock, and the holder stops at once; a survivor
takes it on its next try. SQLite: an exclusive lock (flock) on a file beside the database;
SQLite serves one machine, and a second process on it would also fight over Telegram's
getUpdates.

The sender lock: on PostgreSQL every process holds one advisory lock of its own, keyed by a
random id that it writes on the outbox rows it claims. A row whose sender's lock is free was
claimed by a process that is gone, and goes back to the outbox at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import secrets
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text

from storage.db import Database

log = logging.getLogger(__name__)

# Advisory locks are per database; the second key (the schema's hash) keeps deployments that
# share one database in different schemas apart.
ADVISORY_CLASS = 0x4A4C  # "JL"
_TRY = "SELECT pg_try_advisory_lock(:key, hashtext(current_schema()))"
_UNLOCK = "SELECT pg_advisory_unlock(:key, hashtext(current_schema()))"
# The sender locks: (the schema's sender class, the sender's id).
SENDER_CLASS = "hashtext('jinlin-sender:' || current_schema())"
_TRY_SENDER = f"SELECT pg_try_advisory_lock({SENDER_CLASS}, :id)"


class _Held:
    """A PostgreSQL connection kept open to hold a session-level lock."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._connection: Any = None

    @property
    def held(self) -> bool:
        return self._connection is not None

    def take(self, statement: str, **params: object) -> bool:
        """Try `statement` (a pg_try_advisory_lock) on a new connection; keep it if granted."""
        connection = self.database.engine.connect()
        try:
            got = bool(connection.execute(text(statement), params).scalar())
            connection.commit()
        except Exception:
            connection.close()
            raise
        if got:
            self._connection = connection
        else:
            connection.close()
        return got

    def alive(self) -> bool:
        """Whether the holding connection still answers; forgets it when not."""
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except Exception:
            log.warning("lost the database connection holding a lock")
            self.drop()
            return False
        return True

    def drop(self, statement: str | None = None, **params: object) -> None:
        if self._connection is None:
            return
        with contextlib.suppress(Exception):
            if statement is not None:
                self._connection.execute(text(statement), params)
                self._connection.commit()
        with contextlib.suppress(Exception):
            self._connection.invalidate()
            self._connection.close()
        self._connection = None


class SchedulerLock:
    """Held by the one process that runs the timers."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._pg = _Held(database)
        self._file: IO[str] | None = None
        self._sqlite_held = False

    @property
    def held(self) -> bool:
        return self._pg.held or self._sqlite_held

    def acquire(self) -> bool:
        """Try once; True when this process now runs the timers."""
        if self.database.is_sqlite:
            self._sqlite_held = self._sqlite_held or self._lock_file()
            return self._sqlite_held
        return self._pg.held or self._pg.take(_TRY, key=ADVISORY_CLASS)

    def still_held(self) -> bool:
        """Whether the lock is still ours (False once its connection is lost)."""
        if self.database.is_sqlite:
            return self._sqlite_held
        return self._pg.alive()

    def _lock_file(self) -> bool:
        database = self.database.engine.url.database or ""
        path = Path(f"{database}.scheduler.lock") if database not in ("", ":memory:") \
            else None
        if path is None:
            return True
        handle = path.open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        self._pg.drop(_UNLOCK, key=ADVISORY_CLASS)
        self._sqlite_held = False
        if self._file is not None:
            self._file.close()
            self._file = None


class SenderLock:
    """This process's own lock, whose id marks the outbox rows it claims (PostgreSQL)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._pg = _Held(database)
        self.id: int | None = None

    def acquire(self) -> int | None:
        """Hold a lock under a fresh id; that id, or None on SQLite (one process)."""
        if self.database.is_sqlite:
            return None
        while self.id is None:
            wanted = secrets.randbelow(2**31 - 1) + 1
            if self._pg.take(_TRY_SENDER, id=wanted):
                self.id = wanted
        return self.id

    def still_held(self) -> bool:
        """False (and the id forgotten) once the lock's connection is lost."""
        if self.database.is_sqlite:
            return True
        if not self._pg.alive():
            self.id = None
            return False
        return True

    def release(self) -> None:
        self._pg.drop()
        self.id = None
