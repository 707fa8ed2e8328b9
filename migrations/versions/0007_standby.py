"""standby: the leader row (epoch, holder, heartbeat) for an active bot and a hot standby

Revision ID: standby1
Revises: rotation1
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = 'standby1'
down_revision: str | None = 'rotation1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, storage.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # One row, id 1: the epoch grows by one with every new leader; every write of the leader
    # checks it (storage/leadership.py), so a leader that woke from a freeze cannot write.
    leader = op.create_table('leader',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=True),
    _instant('since', nullable=True),
    _instant('heartbeat_at', nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(leader, [{'id': 1, 'epoch': 0}])


def downgrade() -> None:
    op.drop_table('leader')
