"""Only one process may run the timers against one database.

PostgreSQL: a session-level advisory lock, held on a connection kept open for the life of the
process. SQLite: an exclusive lock (flock) on a file beside the database; SQLite serves one
machine, and a second process on it would also fight over Telegram's getUpdates. A process
that does not get the lock still answers updates but fires no timers (and, on SQLite, sends
no queued notices), so nothing is sent twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
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


class SchedulerLock:
    """Held by the one process that runs the timers."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._connection: Any = None
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        """Try once; True when this process now runs the timers."""
        if self.database.is_sqlite:
            return self._lock_file()
        connection = self.database.engine.connect()
        got = connection.execute(text(_TRY), {"key": ADVISORY_CLASS}).scalar()
        connection.commit()
        if got:
            self._connection = connection
        else:
            connection.close()
        return bool(got)

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
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.execute(text(_UNLOCK), {"key": ADVISORY_CLASS})
                self._connection.close()
            self._connection = None
        if self._file is not None:
            self._file.close()
            self._file = None
