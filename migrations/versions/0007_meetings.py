"""meetings: schedules, reminder DMs, nudge choices and quiet hours, pulse surveys

Revision ID: meetings1
Revises: rotation1
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = 'meetings1'
down_revision: str | None = 'rotation1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _instant(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, storage.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table('meetings',
    sa.Column('id', BigId, nullable=False),
    sa.Column('circle_id', BigId, nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('rule', sa.String(length=60), nullable=False),
    sa.Column('anchor', sa.String(length=10), nullable=True),
    _instant('next_at'),
    _instant('created_at'),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('circle_id', 'name')
    )
    op.create_table('meeting_dms',
    sa.Column('member_id', BigId, nullable=False),
    _instant('created_at'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id')
    )
    op.create_table('nudge_prefs',
    sa.Column('member_id', BigId, nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('quiet', sa.String(length=11), nullable=False),
    _instant('since'),
    _instant('nudged_at', nullable=True),
    _instant('next_check_at', nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id')
    )
    op.create_table('pulse_surveys',
    sa.Column('id', BigId, nullable=False),
    sa.Column('circle_id', BigId, nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('share_text', sa.Boolean(), nullable=False),
    _instant('opened_at'),
    _instant('closes_at'),
    _instant('closed_at', nullable=True),
    sa.Column('respondents', sa.Integer(), nullable=False),
    sa.Column('posted', sa.Boolean(), nullable=False),
    sa.Column('words', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_pulse_surveys_circle_state', 'pulse_surveys', ['circle_id', 'state'])
    # Counters, not one row per answer: nothing may line an answer up with who gave it.
    op.create_table('pulse_tallies',
    sa.Column('survey_id', BigId, nullable=False),
    sa.Column('question', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['pulse_surveys.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('survey_id', 'question', 'value')
    )
    op.create_table('pulse_answered',
    sa.Column('survey_id', BigId, nullable=False),
    sa.Column('member_id', BigId, nullable=False),
    sa.Column('question', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['pulse_surveys.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('survey_id', 'member_id', 'question')
    )


def downgrade() -> None:
    op.drop_table('pulse_answered')
    op.drop_table('pulse_tallies')
    op.drop_index('ix_pulse_surveys_circle_state', table_name='pulse_surveys')
    op.drop_table('pulse_surveys')
    op.drop_table('nudge_prefs')
    op.drop_table('meeting_dms')
    op.drop_table('meetings')
