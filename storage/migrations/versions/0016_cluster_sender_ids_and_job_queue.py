"""cluster: outbox rows name the sender that claimed them; the job queue (PostgreSQL)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 21:00:00.000000

On PostgreSQL this also creates procrastinate's tables (the durable update intake,
bot/intake.py) from the schema of the installed procrastinate, which pyproject.toml pins to
one minor version; a newer procrastinate comes with a migration applying its own migrations.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_OBJECTS = """
SELECT p.oid::regprocedure::text FROM pg_proc p
 WHERE p.proname LIKE 'procrastinate%' AND p.pronamespace = current_schema()::regnamespace
"""


def upgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('claimed_by', sa.Integer(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        # The driver's own execute: the schema is many statements, with % and $$ in them.
        driver = bind.connection.driver_connection
        assert driver is not None
        driver.execute(SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        functions = [row[0] for row in bind.execute(sa.text(_OBJECTS))]
        op.execute('DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, '
                   'procrastinate_jobs, procrastinate_workers CASCADE')
        for function in functions:
            op.execute(f'DROP FUNCTION IF EXISTS {function} CASCADE')
        op.execute('DROP TYPE IF EXISTS procrastinate_job_status, '
                   'procrastinate_job_event_type CASCADE')
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_column('claimed_by')
