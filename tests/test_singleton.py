"""Only one process runs the timers against a database; the second is told no."""

from __future__ import annotations

from bot.singleton import SchedulerLock
from storage.db import Database


def test_a_second_scheduler_on_the_same_database_is_refused(any_db: Database) -> None:
    first, second = SchedulerLock(any_db), SchedulerLock(any_db)
    assert first.acquire()
    try:
        assert not second.acquire()
    finally:
        first.release()
    # Once the first process is gone, another may take over.
    assert second.acquire()
    second.release()
