"""PostgreSQL connections the server dropped while idle are replaced before an update uses them."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from storage import db as storage_db
from storage.db import scratch_schema
from tests.conftest import POSTGRES_URL, postgres_skip_reason


def test_a_connection_the_server_dropped_while_idle_is_replaced(
        monkeypatch: pytest.MonkeyPatch) -> None:
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    monkeypatch.setattr(storage_db, "PING_AFTER", 0.0)  # every returned connection is "idle"
    with scratch_schema(POSTGRES_URL, "t", pool_size=1) as database:
        with database.session() as session:
            dropped = session.scalar(text("select pg_backend_pid()"))
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as connection:  # as a server restart would
            connection.execute(text("select pg_terminate_backend(:pid)"), {"pid": dropped})
        admin.dispose()
        with database.session() as session:
            assert session.scalar(text("select pg_backend_pid()")) != dropped
