"""Alembic migrations, run programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config that runs against this engine's database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


# Tables in our schema that are not our models: the job queue's (procrastinate, migration 0016).
FOREIGN_PREFIX = "procrastinate_"


def ours(object_: object, name: str | None, type_: str, _reflected: bool,
         _compare_to: object) -> bool:
    """Alembic's include_object: compare only our own tables (and what is on them)."""
    table = object_ if type_ == "table" else getattr(object_, "table", None)
    table_name = getattr(table, "name", None) or name or ""
    return not table_name.startswith(FOREIGN_PREFIX)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (the newest by default). On PostgreSQL under an
    advisory lock (migrations/env.py): any number of processes may start together."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision among the migrations."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()

