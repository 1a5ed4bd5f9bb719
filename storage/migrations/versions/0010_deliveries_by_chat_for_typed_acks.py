"""deliveries: found by chat, newest first, for a typed 收到

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:20:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_deliveries_platform_chat_external_id_sent_at', 'deliveries',
                    ['platform', 'chat_external_id', 'sent_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_deliveries_platform_chat_external_id_sent_at', table_name='deliveries')
