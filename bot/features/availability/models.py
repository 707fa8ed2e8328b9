"""A member's consent to be paged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class Availability(Base):
    """A member's consent to be paged: weekly windows in their own timezone."""

    __tablename__ = "availability"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    windows: Mapped[str] = mapped_column(Text, default="")  # as typed, normalised
    timezone: Mapped[str] = mapped_column(String(64))
    accept_emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    snoozed_until: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime]
