"""Lifeline requests and the pages sent for them."""

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

ACTIVE_SQL = "state IN ('PAGING', 'CLAIMED', 'CONNECTED', 'FALLBACK')"


class LifelineRequest(Base):
    """A "call someone" request. Its policy is snapshotted when it opens."""

    __tablename__ = "lifeline_requests"
    __table_args__ = (
        Index("ix_lifeline_requests_circle_opened", "circle_id", "opened_at"),
        Index("ix_lifeline_requests_requester", "requester_member_id", "state"),
        Index("ix_lifeline_requests_claimer", "claimed_by_member_id", "state"),
        # One active request per member, whatever races: the person lock serialises a
        # person's commands; this index is the database's own word on it.
        Index("uq_lifeline_requests_one_active", "requester_member_id", unique=True,
              postgresql_where=text(ACTIVE_SQL), sqlite_where=text(ACTIVE_SQL)),
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
        # A member is paged at most once per paging round; a lapsed claim starts a new round
        # in which those whose pages were covered may be asked again.
        UniqueConstraint("request_id", "member_id", "round",
                         name="uq_lifeline_pages_request_member_round"),
        Index("ix_lifeline_pages_member_paged", "member_id", "paged_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("lifeline_requests.id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    wave: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer, default=0)  # the request's lapses when paged
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16))  # open|claimed|declined|covered|closed|lapsed
    paged_at: Mapped[datetime]
    responded_at: Mapped[datetime | None] = mapped_column(default=None)
    outbox_key: Mapped[str] = mapped_column(String(255))
