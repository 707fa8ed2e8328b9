"""The schema. Every change here has an Alembic revision under migrations/versions/."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(),
                                                     dict[str, Any]: JSON()}


class Person(Base):
    """One platform account the bot knows; members of circles point here."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    dm_room_id: Mapped[str | None] = mapped_column(String(255), default=None)
    dm_closed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]


class Circle(Base):
    __tablename__ = "circles"
    __table_args__ = (UniqueConstraint("platform", "room_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    founder_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None
    )
    pact: Mapped[str | None] = mapped_column(Text, default=None)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("circle_id", "person_id"),
        Index("ix_members_person", "person_id"),  # a person's circles, on every DM command
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime]
    pact_accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    followups: Mapped[bool] = mapped_column(Boolean, default=True)


class Checkin(Base):
    """A check-in. On leave or forget the author link and note go; mood and day stay."""

    __tablename__ = "checkins"
    __table_args__ = (Index("ix_checkins_circle_created", "circle_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime]
    mood: Mapped[int | None] = mapped_column(Integer, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    visibility: Mapped[str] = mapped_column(String(16), default="circle")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)


class OutboxMessage(Base):
    """What must be sent, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "platform", "sent_at", "failed_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)  # idempotency key
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # post | dm | edit
    room_id: Mapped[str | None] = mapped_column(String(255), default=None)
    user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    edit_of: Mapped[str | None] = mapped_column(String(255), default=None)  # key of the original
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # actions, request ids
    priority: Mapped[int] = mapped_column(Integer, default=5)  # lower is sooner; lifeline is 0
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
    platform_message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    last_error: Mapped[str | None] = mapped_column(String(255), default=None)


class Timer(Base):
    """Something that must happen later. The due loop claims rows atomically."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "fired_at", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)  # idempotency key
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    fired_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(255), default=None)


class ProcessedEvent(Base):
    """A platform event the core has handled, written in the handler's own transaction, with
    the reply it gave: a redelivered event (after a crash) gets the same reply, not a rerun."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    reply_text: Mapped[str] = mapped_column(Text)
    reply_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class AdapterState(Base):
    """Small per-adapter values that must survive restarts (Matrix sync token, command hashes)."""

    __tablename__ = "adapter_state"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


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


class LifelineRequest(Base):
    """A "call someone" request. Its policy is snapshotted when it opens."""

    __tablename__ = "lifeline_requests"
    __table_args__ = (
        Index("ix_lifeline_requests_circle_opened", "circle_id", "opened_at"),
        Index("ix_lifeline_requests_requester", "requester_member_id", "state"),
        Index("ix_lifeline_requests_claimer", "claimed_by_member_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    requester_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    wave: Mapped[int] = mapped_column(Integer, default=0)
    emergency_wave_done: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime]
    first_page_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    first_claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    connected_at: Mapped[datetime | None] = mapped_column(default=None)
    fallback_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    lapses: Mapped[int] = mapped_column(Integer, default=0)
    followup: Mapped[bool] = mapped_column(Boolean, default=True)


class LifelinePage(Base):
    """One member paged for one request; its outbox key lets the page be edited later."""

    __tablename__ = "lifeline_pages"
    __table_args__ = (
        UniqueConstraint("request_id", "member_id"),
        Index("ix_lifeline_pages_member_paged", "member_id", "paged_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("lifeline_requests.id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    wave: Mapped[int] = mapped_column(Integer)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16))  # open|claimed|declined|covered|closed|lapsed
    paged_at: Mapped[datetime]
    responded_at: Mapped[datetime | None] = mapped_column(default=None)
    outbox_key: Mapped[str] = mapped_column(String(255))
