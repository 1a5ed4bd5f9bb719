"""states: CHECK constraints for every state column; claims lose the never-written done_photo

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# The states each column may hold when this migration was written (storage/models.py).
STATES = {
    ('member_profiles', 'status'): ('pending', 'verified', 'rejected'),
    ('signups', 'status'): ('confirmed', 'waitlisted', 'cancelled'),
    ('timers', 'state'): ('pending', 'done'),
    ('claims', 'status'): ('open', 'done', 'rated', 'released', 'expired'),
    ('help_requests', 'status'): ('open', 'taken', 'done', 'closed', 'cancelled'),
    ('problem_reports', 'status'): ('new', 'accepted', 'assigned', 'resolved', 'rejected',
                                    'closed', 'reopened'),
    ('notices', 'state'): ('active', 'done', 'cancelled'),
    ('notice_runs', 'state'): ('planned', 'sending', 'done', 'missed', 'cancelled'),
    ('deliveries', 'state'): ('pending', 'sending', 'sent', 'failed'),
}


def upgrade() -> None:
    for (table, column), states in STATES.items():
        values = ", ".join(f"'{state}'" for state in states)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(f'ck_{table}_{column}'),
                                             f"{column} IN ({values})")
            if table == 'claims':
                batch_op.drop_column('done_photo')


def downgrade() -> None:
    for table, column in STATES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
            if table == 'claims':
                batch_op.add_column(sa.Column('done_photo', sa.String(length=200),
                                              nullable=True))
