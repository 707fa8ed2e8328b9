"""Service roles, the seats of each term (the service history), pauses and swap offers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId

# A seat's life. `planned`: drawn ahead for the next term; `serving`: this term; `served`: a
# finished term; `passed`: given back (skip, pause, leave), which earns no credit. A planned or
# serving seat with no member is open: no one was eligible.
PLANNED, SERVING, SERVED, PASSED = "planned", "serving", "served", "passed"
ACTIVE = (PLANNED, SERVING)
CREDITED = (PLANNED, SERVING, SERVED)  # what counts as service given or promised


class RotationRole(Base):
    """A circle's service role and where its terms stand."""

    __tablename__ = "rotation_roles"
    __table_args__ = (UniqueConstraint("circle_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    # One of the default roles (steward, timekeeper, greeter, care_lead, repair_team): its
    # label and handbook come from the catalogue, in each reader's language.
    builtin: Mapped[str | None] = mapped_column(String(16), default=None)
    seats: Mapped[int] = mapped_column(Integer, default=1)
    period_weeks: Mapped[int | None] = mapped_column(Integer, default=None)  # None: the circle's
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)
    term: Mapped[int] = mapped_column(Integer, default=0)  # the current term; 0 before the first
    term_start: Mapped[datetime | None] = mapped_column(default=None)
    term_end: Mapped[datetime]  # when the next term starts
    # When a seat of this role first got a holder; for the steward role this ends the
    # founder's stewardship.
    first_filled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]


class RotationSeat(Base):
    """One seat of one term of a role: who holds it (or held it), from when to when."""

    __tablename__ = "rotation_seats"
    __table_args__ = (
        Index("ix_rotation_seats_circle_state", "circle_id", "state"),
        Index("ix_rotation_seats_member", "member_id"),
        Index("ix_rotation_seats_role_term", "role_id", "term"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    # History outlives a removed role; it keeps the role's name.
    role_id: Mapped[int | None] = mapped_column(
        ForeignKey("rotation_roles.id", ondelete="SET NULL"), default=None)
    role_name: Mapped[str] = mapped_column(String(40))
    term: Mapped[int] = mapped_column(Integer)
    seat: Mapped[int] = mapped_column(Integer, default=0)
    # Leaving or being forgotten unlinks the history; the counts stay, anonymous.
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None)
    state: Mapped[str] = mapped_column(String(16))
    # Someone was drawn for it (an open seat was not); stays true when the history is unlinked,
    # so the circle's counts of service given stay right.
    filled: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]


class RotationPause(Base):
    """A member's vacation: no service roles, no lifeline pages, no nudges."""

    __tablename__ = "rotation_pauses"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    since: Mapped[datetime]
    until: Mapped[datetime | None] = mapped_column(default=None)  # None: until `unpause`


class RotationSwap(Base):
    """An offer to swap two seats; the other member accepts within a day, or it lapses."""

    __tablename__ = "rotation_swaps"
    __table_args__ = (Index("ix_rotation_swaps_to", "to_member_id", "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    from_member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    to_member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    from_seat_id: Mapped[int] = mapped_column(
        ForeignKey("rotation_seats.id", ondelete="CASCADE"))
    to_seat_id: Mapped[int] = mapped_column(ForeignKey("rotation_seats.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))  # pending|accepted|declined|lapsed|cancelled
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
