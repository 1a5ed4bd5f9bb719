"""reply outbox: an update's answers kept until sent (PostgreSQL workers)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('chat_external_id', sa.String(length=100), nullable=False),
        sa.Column('message', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'sending')", name=op.f('ck_replies_state')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_replies')))
    op.create_index('ix_replies_state_id', 'replies', ['state', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_replies_state_id', table_name='replies')
    op.drop_table('replies')
