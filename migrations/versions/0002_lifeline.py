"""lifeline

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 21:49:55.193589
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('availability',
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('windows', sa.Text(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('accept_emergency', sa.Boolean(), nullable=False),
    sa.Column('snoozed_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id')
    )
    op.create_table('lifeline_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('circle_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requester_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('wave', sa.Integer(), nullable=False),
    sa.Column('emergency_wave_done', sa.Boolean(), nullable=False),
    sa.Column('opened_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_page_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by_member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('claimed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_claimed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('connected_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('fallback_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lapses', sa.Integer(), nullable=False),
    sa.Column('followup', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['claimed_by_member_id'], ['members.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requester_member_id'], ['members.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lifeline_requests', schema=None) as batch_op:
        batch_op.create_index('ix_lifeline_requests_circle_opened', ['circle_id', 'opened_at'], unique=False)
        batch_op.create_index('ix_lifeline_requests_claimer', ['claimed_by_member_id', 'state'], unique=False)
        batch_op.create_index('ix_lifeline_requests_requester', ['requester_member_id', 'state'], unique=False)

    op.create_table('lifeline_pages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('wave', sa.Integer(), nullable=False),
    sa.Column('emergency', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('paged_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('responded_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outbox_key', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['lifeline_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'member_id')
    )
    with op.batch_alter_table('lifeline_pages', schema=None) as batch_op:
        batch_op.create_index('ix_lifeline_pages_member_paged', ['member_id', 'paged_at'], unique=False)

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index('ix_members_person', ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_person')

    with op.batch_alter_table('lifeline_pages', schema=None) as batch_op:
        batch_op.drop_index('ix_lifeline_pages_member_paged')

    op.drop_table('lifeline_pages')
    with op.batch_alter_table('lifeline_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_lifeline_requests_requester')
        batch_op.drop_index('ix_lifeline_requests_claimer')
        batch_op.drop_index('ix_lifeline_requests_circle_opened')

    op.drop_table('lifeline_requests')
    op.drop_table('availability')
