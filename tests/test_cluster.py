"""Several processes on one PostgreSQL (a city): they start together, keep each chat's order,
share one Telegram rate limit and take over each other's timers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from storage.db import make_engine
from storage.migrate import current_revision, head_revision
from tests.conftest import POSTGRES_URL, postgres_skip_reason


@pytest.fixture
def empty_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search path is a new, empty schema (dropped afterwards)."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    schema = f"c_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_three_workers_started_together_on_an_empty_database_all_come_up(
        empty_schema: str) -> None:
    """Each start migrates; under the lock one does the work and the others find it done."""
    env = {**os.environ, "DATABASE_URL": empty_schema, "JINLIN_LOG_LEVEL": "WARNING"}
    starts = [subprocess.Popen([sys.executable, "-m", "bot", "db", "upgrade"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(3)]
    said = [start.communicate(timeout=120) for start in starts]
    assert [(start.returncode, out) for start, (out, _) in zip(starts, said, strict=True)] == [
        (0, "database is up to date\n")] * 3, [err for _, err in said]
    engine = make_engine(empty_schema)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
