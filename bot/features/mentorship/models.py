"""Mentor offers, requests, the asks sent for them, pairings, and peer dyads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId

OPEN_SQL = "state = 'open'"
CURRENT_SQL = "ended_at IS NULL"


class MentorOffer(Base):
    """A member's offer to mentor in one circle: how many mentees at once, and tags."""

    __tablename__ = "mentor_offers"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class MentorRequest(Base):
    """Someone asking for a mentor. Open until someone accepts or the requester withdraws."""

    __tablename__ = "mentor_requests"
    __table_args__ = (
        Index("ix_mentor_requests_circle_state", "circle_id", "state"),
        # One open request per member, whatever races: the database's own word on it.
        Index("uq_mentor_requests_one_open", "requester_member_id", unique=True,
              postgresql_where=text(OPEN_SQL), sqlite_where=text(OPEN_SQL)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    requester_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None)
    # `mentor request @name`: the one member asked first.
    named_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None)
    mentor_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    state: Mapped[str] = mapped_column(String(16))  # open | matched | cancelled
    round: Mapped[int] = mapped_column(Integer, default=0)  # ask rounds so far
    waiting: Mapped[bool] = mapped_column(Boolean, default=False)  # no one left to ask
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class MentorAsk(Base):
    """One candidate asked about one request (once each); its DM's key lets it be edited."""

    __tablename__ = "mentor_asks"
    __table_args__ = (
        UniqueConstraint("request_id", "member_id", name="uq_mentor_asks_request_member"),
        Index("ix_mentor_asks_member_state", "member_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("mentor_requests.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # open|accepted|passed|taken|closed
    asked_at: Mapped[datetime]
    responded_at: Mapped[datetime | None] = mapped_column(default=None)
    outbox_key: Mapped[str] = mapped_column(String(255))


class MentorPairing(Base):
    """A mentor and a mentee; current while ended_at is empty."""

    __tablename__ = "mentor_pairings"
    __table_args__ = (
        Index("ix_mentor_pairings_mentor", "mentor_member_id", "ended_at"),
        # One current mentor per mentee.
        Index("uq_mentor_pairings_one_current", "mentee_member_id", unique=True,
              postgresql_where=text(CURRENT_SQL), sqlite_where=text(CURRENT_SQL)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentor_requests.id", ondelete="SET NULL"), default=None)
    mentor_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None)
    mentee_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    # The weekly "have you two talked?", each side's own to turn off.
    nudge_mentor: Mapped[bool] = mapped_column(Boolean, default=True)
    nudge_mentee: Mapped[bool] = mapped_column(Boolean, default=True)


class DyadMember(Base):
    """A member who opted in to peer dyads, with their working-group tags."""

    __tablename__ = "dyad_members"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    joined_at: Mapped[datetime]


class DyadRound(Base):
    """One pairing round of a circle; the next one exists (held_at empty) while anyone is in."""

    __tablename__ = "dyad_rounds"
    __table_args__ = (UniqueConstraint("circle_id", "number", name="uq_dyad_rounds_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    held_at: Mapped[datetime | None] = mapped_column(default=None)


class DyadAssignment(Base):
    """Who was in which group (a pair or a trio) in a round."""

    __tablename__ = "dyad_assignments"
    __table_args__ = (
        UniqueConstraint("round_id", "member_id", name="uq_dyad_assignments_round_member"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("dyad_rounds.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    group_no: Mapped[int] = mapped_column(Integer)
