"""privacy: nonces of signed callbacks (replays refused), handled-update keys pruned by age

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'callback_nonces',
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('timestamp', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('platform', 'timestamp', 'nonce',
                                name=op.f('pk_callback_nonces')))
    op.create_index(op.f('ix_callback_nonces_seen_at'), 'callback_nonces', ['seen_at'],
                    unique=False)
    op.create_index(op.f('ix_processed_updates_at'), 'processed_updates', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_processed_updates_at'), table_name='processed_updates')
    op.drop_index(op.f('ix_callback_nonces_seen_at'), table_name='callback_nonces')
    op.drop_table('callback_nonces')
