"""feature shape: actions, attachments and expiry on outbox rows; urgent timers; private replies

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('actions', sa.JSON(), nullable=False,
                                   server_default=sa.text("'[]'")))
        batch.add_column(sa.Column('attachments', sa.JSON(), nullable=False,
                                   server_default=sa.text("'[]'")))
        batch.add_column(sa.Column('expires_at', storage.types.UTCDateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table('timers') as batch:
        batch.add_column(sa.Column('priority', sa.Integer(), nullable=False,
                                   server_default=sa.text('5')))
        batch.drop_index('ix_timers_due')
        batch.create_index('ix_timers_due', ['fired_at', 'priority', 'due_at'])
    with op.batch_alter_table('processed_events') as batch:
        batch.alter_column('reply_sensitive', new_column_name='reply_private')
        batch.add_column(sa.Column('user_id', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('reply_actions', sa.JSON(), nullable=False,
                                   server_default=sa.text("'[]'")))
    # Pages already in the outbox keep working as actions after the upgrade.
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, meta FROM outbox WHERE CAST(meta AS TEXT) LIKE '%lifeline_request%'")).fetchall()
    import json

    for row_id, meta in rows:
        data = meta if isinstance(meta, dict) else json.loads(meta or "{}")
        request = data.get("lifeline_request")
        if request is None or not data.get("actions"):
            continue
        actions = [{"id": a, "label": f"action.{a}", "command": a, "args": [str(request)],
                    "emoji": "✅" if a == "ack" else "❌"} for a in data["actions"]]
        conn.execute(sa.text("UPDATE outbox SET actions = :a WHERE id = :i"),
                     {"a": json.dumps(actions), "i": row_id})


def downgrade() -> None:
    with op.batch_alter_table('processed_events') as batch:
        batch.drop_column('reply_actions')
        batch.drop_column('user_id')
        batch.alter_column('reply_private', new_column_name='reply_sensitive')
    with op.batch_alter_table('timers') as batch:
        batch.drop_index('ix_timers_due')
        batch.create_index('ix_timers_due', ['fired_at', 'due_at'])
        batch.drop_column('priority')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('expires_at')
        batch.drop_column('attachments')
        batch.drop_column('actions')
