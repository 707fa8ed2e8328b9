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


class OutboxMessage(Base):
    """What must be sent, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "platform", "sent_at", "failed_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)  # idempotency key
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # post | dm | edit | room
    room_id: Mapped[str | None] = mapped_column(String(255), default=None)
    user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    edit_of: Mapped[str | None] = mapped_column(String(255), default=None)  # key of the original
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # adapter hints
    actions: Mapped[list[Any]] = mapped_column(JSON, default=list)  # bot.answer.Action as JSON
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(Integer, default=5)  # lower is sooner; lifeline is 0
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    # A time-bound message (a page, a reminder) is dropped, never delivered, after this.
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
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
    __table_args__ = (Index("ix_timers_due", "fired_at", "priority", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)  # idempotency key
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime]
    priority: Mapped[int] = mapped_column(Integer, default=5)  # 0: claimed before the rest
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
    user_id: Mapped[str | None] = mapped_column(String(255), default=None)  # who sent it
    reply_private: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_actions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class AdapterState(Base):
    """Small per-adapter values that must survive restarts (Matrix sync token, command hashes)."""

    __tablename__ = "adapter_state"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Leader(Base):
    """The one leader row (id 1) of an active bot and its standbys (storage/leadership.py).
    `epoch` grows by one with each new leader; the leader's writes are refused once it moved."""

    __tablename__ = "leader"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger)
    holder: Mapped[str | None] = mapped_column(String(200))
    since: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]


# The Matrix end-to-end store in the database (adapters/matrix/db_store.py), on PostgreSQL
# only: the active bot and its standby share it, so a takeover keeps every key. `owner` is
# "<user_id>|<device_id>". Pickles are encrypted with matrix.pickle_key, as in nio's file store.
# What it holds is the platform's encryption state (members' public device keys, the bot's
# own sessions), not anything a member told the bot: the file store held the same outside the
# database. The privacy coverage test (tests/test_feature_shape.py) takes these as declared.
E2E_STORE_TABLES = ("matrix_e2e_accounts", "matrix_e2e_olm_sessions",
                    "matrix_e2e_group_sessions", "matrix_e2e_devices",
                    "matrix_e2e_key_requests", "matrix_e2e_rooms")


class MatrixE2EAccount(Base):
    __tablename__ = "matrix_e2e_accounts"

    owner: Mapped[str] = mapped_column(String(300), primary_key=True)
    pickle: Mapped[str] = mapped_column(Text)
    shared: Mapped[bool] = mapped_column(Boolean)


class MatrixE2EOlmSession(Base):
    __tablename__ = "matrix_e2e_olm_sessions"

    owner: Mapped[str] = mapped_column(String(300), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    sender_key: Mapped[str] = mapped_column(String(128), index=True)
    pickle: Mapped[str] = mapped_column(Text)
    creation_time: Mapped[str] = mapped_column(String(40))  # nio's naive datetimes, ISO
    last_usage: Mapped[str] = mapped_column(String(40))


class MatrixE2EGroupSession(Base):
    __tablename__ = "matrix_e2e_group_sessions"

    owner: Mapped[str] = mapped_column(String(300), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    sender_key: Mapped[str] = mapped_column(String(128))
    fp_key: Mapped[str] = mapped_column(String(128))
    room_id: Mapped[str] = mapped_column(String(255))
    pickle: Mapped[str] = mapped_column(Text)
    forwarded_chains: Mapped[list[str]] = mapped_column(JSON)


class MatrixE2EDevice(Base):
    __tablename__ = "matrix_e2e_devices"

    owner: Mapped[str] = mapped_column(String(300), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(Boolean)
    keys: Mapped[dict[str, Any]] = mapped_column(JSON)
    trust: Mapped[int] = mapped_column(Integer)  # nio's TrustState value


class MatrixE2EKeyRequest(Base):
    __tablename__ = "matrix_e2e_key_requests"

    owner: Mapped[str] = mapped_column(String(300), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(128))
    room_id: Mapped[str] = mapped_column(String(255))
    algorithm: Mapped[str] = mapped_column(String(64))


class MatrixE2ERoom(Base):
    __tablename__ = "matrix_e2e_rooms"

    owner: Mapped[str] = mapped_column(String(300), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
