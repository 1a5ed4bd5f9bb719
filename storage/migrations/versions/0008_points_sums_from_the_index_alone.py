"""points: sums by branch and period read from the index alone (covering index)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 07:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The new index starts with the old one's columns, so it serves every query the old one did.
    op.create_index('ix_points_entries_branch_id_at_person_id_points', 'points_entries',
                    ['branch_id', 'at', 'person_id', 'points'], unique=False)
    op.drop_index('ix_points_entries_branch_id_at', table_name='points_entries')


def downgrade() -> None:
    op.create_index('ix_points_entries_branch_id_at', 'points_entries', ['branch_id', 'at'],
                    unique=False)
    op.drop_index('ix_points_entries_branch_id_at_person_id_points', table_name='points_entries')
