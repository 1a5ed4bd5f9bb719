"""secretary's controls: cancel reasons, hand-added people, pending profile changes,
notice audiences

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'hand_added_people',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('building', sa.String(length=100), nullable=False),
        sa.Column('phone', sa.String(length=30), nullable=False),
        sa.Column('added_by', sa.Integer(), nullable=True),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['added_by'], ['persons.id'],
                                name=op.f('fk_hand_added_people_added_by_persons')),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id'],
                                name=op.f('fk_hand_added_people_branch_id_branches')),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id'],
                                name=op.f('fk_hand_added_people_person_id_persons')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hand_added_people')),
        sa.UniqueConstraint('person_id', name=op.f('uq_hand_added_people_person_id')),
    )
    with op.batch_alter_table('hand_added_people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hand_added_people_branch_id'), ['branch_id'],
                              unique=False)
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=200),
                                      server_default='', nullable=False))
    with op.batch_alter_table('member_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_change', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.String(length=200),
                                      server_default='', nullable=False))
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=20), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('audience_detail', sa.String(length=500),
                                      server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('audience_detail')
        batch_op.drop_column('audience')
    with op.batch_alter_table('member_profiles', schema=None) as batch_op:
        batch_op.drop_column('decision_note')
        batch_op.drop_column('pending_change')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('cancel_reason')
    with op.batch_alter_table('hand_added_people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hand_added_people_branch_id'))
    op.drop_table('hand_added_people')
