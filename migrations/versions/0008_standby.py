"""standby: the leader row (epoch, heartbeat) and the Matrix end-to-end store in the database

Revision ID: standby1
Revises: meetings1
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = 'standby1'
down_revision: str | None = 'meetings1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, storage.types.UTCDateTime(timezone=True), nullable=nullable)


def _owner() -> sa.Column:
    return sa.Column('owner', sa.String(length=300), nullable=False)


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
    # The Matrix end-to-end store (adapters/matrix/db_store.py), used on PostgreSQL.
    op.create_table('matrix_e2e_accounts',
    _owner(),
    sa.Column('pickle', sa.Text(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('owner')
    )
    op.create_table('matrix_e2e_olm_sessions',
    _owner(),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('sender_key', sa.String(length=128), nullable=False),
    sa.Column('pickle', sa.Text(), nullable=False),
    sa.Column('creation_time', sa.String(length=40), nullable=False),
    sa.Column('last_usage', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('owner', 'session_id')
    )
    op.create_index(op.f('ix_matrix_e2e_olm_sessions_sender_key'), 'matrix_e2e_olm_sessions',
                    ['sender_key'], unique=False)
    op.create_table('matrix_e2e_group_sessions',
    _owner(),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('sender_key', sa.String(length=128), nullable=False),
    sa.Column('fp_key', sa.String(length=128), nullable=False),
    sa.Column('room_id', sa.String(length=255), nullable=False),
    sa.Column('pickle', sa.Text(), nullable=False),
    sa.Column('forwarded_chains', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('owner', 'session_id')
    )
    op.create_table('matrix_e2e_devices',
    _owner(),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('device_id', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('keys', sa.JSON(), nullable=False),
    sa.Column('trust', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('owner', 'user_id', 'device_id')
    )
    op.create_table('matrix_e2e_key_requests',
    _owner(),
    sa.Column('request_id', sa.String(length=255), nullable=False),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('room_id', sa.String(length=255), nullable=False),
    sa.Column('algorithm', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('owner', 'request_id')
    )
    op.create_table('matrix_e2e_rooms',
    _owner(),
    sa.Column('room_id', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('owner', 'room_id')
    )


def downgrade() -> None:
    for table in ('matrix_e2e_rooms', 'matrix_e2e_key_requests', 'matrix_e2e_devices',
                  'matrix_e2e_group_sessions', 'matrix_e2e_olm_sessions',
                  'matrix_e2e_accounts', 'leader'):
        op.drop_table(table)
