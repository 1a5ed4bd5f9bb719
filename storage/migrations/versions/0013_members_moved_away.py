"""member_profiles: the status `moved` (党员迁出)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 18:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _states(*states: str) -> None:
    values = ", ".join(f"'{state}'" for state in states)
    with op.batch_alter_table('member_profiles', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_member_profiles_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_member_profiles_status'),
                                         f"status IN ({values})")


def upgrade() -> None:
    _states('pending', 'verified', 'rejected', 'moved')


def downgrade() -> None:
    op.execute("UPDATE member_profiles SET status = 'verified' WHERE status = 'moved'")
    _states('pending', 'verified', 'rejected')
