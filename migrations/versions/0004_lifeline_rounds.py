"""lifeline: pages per paging round (a lapse may ask covered members again); one active
request per member as a partial unique index

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "state IN ('PAGING', 'CLAIMED', 'CONNECTED', 'FALLBACK')"
# SQLite reflects the old unnamed unique constraint without a name: this names it so batch
# mode can drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s"}


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    old = ("uq_lifeline_pages_request_id_member_id" if sqlite
           else "lifeline_pages_request_id_member_id_key")
    with op.batch_alter_table('lifeline_pages', naming_convention=NAMING) as batch:
        batch.add_column(sa.Column('round', sa.Integer(), nullable=False,
                                   server_default=sa.text('0')))
        batch.drop_constraint(old, type_='unique')
        batch.create_unique_constraint('uq_lifeline_pages_request_member_round',
                                       ['request_id', 'member_id', 'round'])
    op.create_index('uq_lifeline_requests_one_active', 'lifeline_requests',
                    ['requester_member_id'], unique=True,
                    postgresql_where=sa.text(ACTIVE), sqlite_where=sa.text(ACTIVE))


def downgrade() -> None:
    op.drop_index('uq_lifeline_requests_one_active', table_name='lifeline_requests')
    with op.batch_alter_table('lifeline_pages', naming_convention=NAMING) as batch:
        batch.drop_constraint('uq_lifeline_pages_request_member_round', type_='unique')
        batch.create_unique_constraint('lifeline_pages_request_id_member_id_key',
                                       ['request_id', 'member_id'])
        batch.drop_column('round')
