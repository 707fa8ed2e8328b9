"""repair: repair requests and who each one convenes

Revision ID: repair1
Revises: standby1
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = 'repair1'
down_revision: str | None = 'standby1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
UNCLOSED = "state <> 'closed'"


def _instant(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, storage.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table('repair_requests',
    sa.Column('id', BigId, nullable=False),
    sa.Column('circle_id', BigId, nullable=False),
    sa.Column('requester_member_id', BigId, nullable=True),
    sa.Column('subject_member_id', BigId, nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('summary', sa.String(length=200), nullable=True),
    sa.Column('summary_agreed', sa.Boolean(), nullable=False),
    _instant('created_at'),
    _instant('closed_at', nullable=True),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requester_member_id'], ['members.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subject_member_id'], ['members.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_repair_requests_circle', 'repair_requests', ['circle_id'])
    op.create_index('uq_repair_requests_one_unclosed', 'repair_requests',
                    ['requester_member_id'], unique=True,
                    postgresql_where=sa.text(UNCLOSED), sqlite_where=sa.text(UNCLOSED))
    op.create_table('repair_team',
    sa.Column('request_id', BigId, nullable=False),
    sa.Column('member_id', BigId, nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['repair_requests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', 'member_id')
    )
    op.create_index('ix_repair_team_member_id', 'repair_team', ['member_id'])


def downgrade() -> None:
    op.drop_index('ix_repair_team_member_id', table_name='repair_team')
    op.drop_table('repair_team')
    op.drop_index('uq_repair_requests_one_unclosed', table_name='repair_requests',
                  postgresql_where=sa.text(UNCLOSED), sqlite_where=sa.text(UNCLOSED))
    op.drop_index('ix_repair_requests_circle', table_name='repair_requests')
    op.drop_table('repair_requests')
