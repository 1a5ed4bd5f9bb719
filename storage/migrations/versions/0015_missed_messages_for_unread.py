"""missed messages: what could not reach a follower, for 未读

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 21:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'missed_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('chat_external_id', sa.String(length=100), nullable=False),
        sa.Column('text', sa.String(length=4000), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_missed_messages')))
    op.create_index('ix_missed_messages_platform_chat', 'missed_messages',
                    ['platform', 'chat_external_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_missed_messages_platform_chat', table_name='missed_messages')
    op.drop_table('missed_messages')
