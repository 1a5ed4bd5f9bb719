"""follower messages: one-to-one messages past WeChat's 48-hour window, sent as templates

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'follower_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('chat_external_id', sa.String(length=100), nullable=False),
        sa.Column('text', sa.String(length=4000), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('error', sa.String(length=200), nullable=False),
        sa.Column('message_id', sa.String(length=100), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed')",
                           name=op.f('ck_follower_messages_state')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follower_messages')))
    op.create_index('ix_follower_messages_state_platform', 'follower_messages',
                    ['state', 'platform'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_follower_messages_state_platform', table_name='follower_messages')
    op.drop_table('follower_messages')
