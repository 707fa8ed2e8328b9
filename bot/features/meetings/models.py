"""A circle's meetings, and the members who want meeting reminders by DM too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId


class Meeting(Base):
    """One schedule: its rule as the steward wrote it (normalised) and its next occurrence.
    The timers of an occurrence carry its instant; one that no longer matches `next_at` (the
    meeting was cancelled, cleared or moved on) does nothing."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("circle_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(60))  # `weekly wed 19:00`
    # For `every n weeks`: the local date of the first occurrence, which fixes the parity.
    anchor: Mapped[str | None] = mapped_column(String(10), default=None)
    next_at: Mapped[datetime]
    created_at: Mapped[datetime]


class MeetingDm(Base):
    """A member who asked for meeting reminders by DM as well as in the room."""

    __tablename__ = "meeting_dms"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime]
