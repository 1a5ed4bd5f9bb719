"""robots: a robot may mention everyone (@all) with each notice

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('wecom_robots') as batch:
        batch.add_column(sa.Column('mention_all', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('wecom_robots') as batch:
        batch.drop_column('mention_all')
