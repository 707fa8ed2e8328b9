"""A member's nudge choice and quiet hours."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base

DEFAULT_QUIET = "22:00-08:00"


class NudgePref(Base):
    """Off by default; quiet hours are read in the member's own timezone (from `available`,
    else the circle's) and also keep other personal DMs (meeting reminders, the survey) out."""

    __tablename__ = "nudge_prefs"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    quiet: Mapped[str] = mapped_column(String(11), default=DEFAULT_QUIET)
    since: Mapped[datetime]  # turned on at: counts as a check-in for the first nudge
    nudged_at: Mapped[datetime | None] = mapped_column(default=None)
    # The one pending check; a timer carrying another instant is stale and does nothing.
    next_check_at: Mapped[datetime | None] = mapped_column(default=None)
