"""Alembic environment: uses the engine handed over in the config's attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from storage.migrate import ours
from storage.models import Base

config = context.config
target_metadata = Base.metadata
# Held for the migration's transaction: processes started together migrate one after another,
# and each finds the schema as the one before left it. The second key keeps schemas apart.
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(19021, hashtext(current_schema()))"


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(MIGRATION_LOCK))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_object=ours,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
