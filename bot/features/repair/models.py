"""Repair requests and who each one convenes. Content is minimal: the note lives only while
the request is not closed; the people convened are kept only while it is not closed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId

UNCLOSED_SQL = "state <> 'closed'"
SUMMARY_LIMIT = 200


class RepairRequest(Base):
    __tablename__ = "repair_requests"
    __table_args__ = (
        # One request at a time per member: asking again while one is open replaces it.
        Index("uq_repair_requests_one_unclosed", "requester_member_id", unique=True,
              postgresql_where=text(UNCLOSED_SQL), sqlite_where=text(UNCLOSED_SQL)),
        Index("ix_repair_requests_circle", "circle_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    # Unlinked when the requester is forgotten; the date and history stay, anonymous.
    requester_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None)
    # Who the request is about, left out of the convening; cleared at the close.
    subject_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None)
    state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, default=None)  # deleted at the close
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{state, at}]
    summary: Mapped[str | None] = mapped_column(String(SUMMARY_LIMIT), default=None)
    # A summary the team wrote stays only once the requester agrees (else it goes in a week).
    summary_agreed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class RepairTeamSeat(Base):
    """One person a request convenes (or will, on confirm): exactly those the requester was
    told about. Deleted at the close."""

    __tablename__ = "repair_team"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("repair_requests.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True)
