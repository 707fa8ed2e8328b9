"""mentorship and peer dyads: offers, requests and the asks sent for them, pairings (one
current mentor per mentee, one open request per member, as partial unique indexes), dyad
members, rounds and assignments

Revision ID: mentor1
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = 'mentor1'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dyad_rounds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('circle_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('held_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('circle_id', 'number', name='uq_dyad_rounds_number')
    )
    op.create_table('dyad_assignments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('group_no', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['dyad_rounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'member_id', name='uq_dyad_assignments_round_member')
    )
    op.create_table('dyad_members',
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('joined_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id')
    )
    op.create_table('mentor_offers',
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id')
    )
    op.create_table('mentor_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('circle_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requester_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('named_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('mentor_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('waiting', sa.Boolean(), nullable=False),
    sa.Column('opened_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mentor_member_id'], ['members.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['named_member_id'], ['members.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requester_member_id'], ['members.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('mentor_requests', schema=None) as batch_op:
        batch_op.create_index('ix_mentor_requests_circle_state', ['circle_id', 'state'], unique=False)
        batch_op.create_index('uq_mentor_requests_one_open', ['requester_member_id'], unique=True, postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'"))

    op.create_table('mentor_asks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('asked_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('responded_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outbox_key', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['mentor_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'member_id', name='uq_mentor_asks_request_member')
    )
    with op.batch_alter_table('mentor_asks', schema=None) as batch_op:
        batch_op.create_index('ix_mentor_asks_member_state', ['member_id', 'state'], unique=False)

    op.create_table('mentor_pairings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('circle_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('mentor_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('mentee_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('started_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('nudge_mentor', sa.Boolean(), nullable=False),
    sa.Column('nudge_mentee', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mentee_member_id'], ['members.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mentor_member_id'], ['members.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['mentor_requests.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('mentor_pairings', schema=None) as batch_op:
        batch_op.create_index('ix_mentor_pairings_mentor', ['mentor_member_id', 'ended_at'], unique=False)
        batch_op.create_index('uq_mentor_pairings_one_current', ['mentee_member_id'], unique=True, postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('mentor_pairings', schema=None) as batch_op:
        batch_op.drop_index('uq_mentor_pairings_one_current', postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index('ix_mentor_pairings_mentor')

    op.drop_table('mentor_pairings')
    with op.batch_alter_table('mentor_asks', schema=None) as batch_op:
        batch_op.drop_index('ix_mentor_asks_member_state')

    op.drop_table('mentor_asks')
    with op.batch_alter_table('mentor_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_mentor_requests_one_open', postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'"))
        batch_op.drop_index('ix_mentor_requests_circle_state')

    op.drop_table('mentor_requests')
    op.drop_table('mentor_offers')
    op.drop_table('dyad_members')
    op.drop_table('dyad_assignments')
    op.drop_table('dyad_rounds')
