"""rotation: service roles, the seats of each term, pauses, swap offers

Revision ID: rotation1
Revises: mentor1
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = 'rotation1'
down_revision: str | None = 'mentor1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _instant(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, storage.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table('rotation_roles',
    sa.Column('id', BigId, nullable=False),
    sa.Column('circle_id', BigId, nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('builtin', sa.String(length=16), nullable=True),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('period_weeks', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('term', sa.Integer(), nullable=False),
    _instant('term_start', nullable=True),
    _instant('term_end'),
    _instant('first_filled_at', nullable=True),
    _instant('created_at'),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('circle_id', 'name')
    )
    op.create_table('rotation_seats',
    sa.Column('id', BigId, nullable=False),
    sa.Column('circle_id', BigId, nullable=False),
    sa.Column('role_id', BigId, nullable=True),
    sa.Column('role_name', sa.String(length=40), nullable=False),
    sa.Column('term', sa.Integer(), nullable=False),
    sa.Column('seat', sa.Integer(), nullable=False),
    sa.Column('member_id', BigId, nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('filled', sa.Boolean(), nullable=False),
    _instant('starts_at'),
    _instant('ends_at'),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['rotation_roles.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_rotation_seats_circle_state', 'rotation_seats', ['circle_id', 'state'])
    op.create_index('ix_rotation_seats_member', 'rotation_seats', ['member_id'])
    op.create_index('ix_rotation_seats_role_term', 'rotation_seats', ['role_id', 'term'])
    op.create_table('rotation_pauses',
    sa.Column('member_id', BigId, nullable=False),
    _instant('since'),
    _instant('until', nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id')
    )
    op.create_table('rotation_swaps',
    sa.Column('id', BigId, nullable=False),
    sa.Column('circle_id', BigId, nullable=False),
    sa.Column('from_member_id', BigId, nullable=False),
    sa.Column('to_member_id', BigId, nullable=False),
    sa.Column('from_seat_id', BigId, nullable=False),
    sa.Column('to_seat_id', BigId, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    _instant('created_at'),
    _instant('expires_at'),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_member_id'], ['members.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_member_id'], ['members.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_seat_id'], ['rotation_seats.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_seat_id'], ['rotation_seats.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_rotation_swaps_to', 'rotation_swaps', ['to_member_id', 'state'])


def downgrade() -> None:
    op.drop_index('ix_rotation_swaps_to', table_name='rotation_swaps')
    op.drop_table('rotation_swaps')
    op.drop_table('rotation_pauses')
    op.drop_index('ix_rotation_seats_role_term', table_name='rotation_seats')
    op.drop_index('ix_rotation_seats_member', table_name='rotation_seats')
    op.drop_index('ix_rotation_seats_circle_state', table_name='rotation_seats')
    op.drop_table('rotation_seats')
    op.drop_table('rotation_roles')
