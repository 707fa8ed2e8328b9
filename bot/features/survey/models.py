"""Pulse surveys, their anonymous answers, and the short-lived "has answered" marks.

The answers are stored so that nothing in the database can be matched to the member who gave
them: not an id, not a row's order, not a time. The outbox (a DM per answered question,
addressed to the member) and the marks say who answered and when; so no answer may have a row
of its own, whose id or place would line up with them. The 1-5 answers are counters, made for
every value when the survey opens and raised in place; the written answers are one list on the
survey's row, kept sorted by their words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId


class PulseSurvey(Base):
    __tablename__ = "pulse_surveys"
    __table_args__ = (Index("ix_pulse_surveys_circle_state", "circle_id", "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(8))  # open | closed
    share_text: Mapped[bool] = mapped_column(Boolean, default=False)  # the circle's choice
    opened_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    respondents: Mapped[int] = mapped_column(Integer, default=0)  # counted at close
    posted: Mapped[bool] = mapped_column(Boolean, default=False)  # the result reached the room
    # The written answers, sorted by their words (never in the order they came), emptied at
    # close once the result is posted (or withheld).
    words: Mapped[list[Any]] = mapped_column(JSON, default=list)


class PulseTally(Base):
    """How many gave `value` to `question`. Every (question, value) row is made when the survey
    opens and an answer raises the counts in place, so there is no insert order; an answer
    rewrites all of the survey's rows (its own by one, the rest by nothing), so on PostgreSQL
    the rows' transaction ids and places do not point at the one that changed either."""

    __tablename__ = "pulse_tallies"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey("pulse_surveys.id", ondelete="CASCADE"), primary_key=True)
    question: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-5
    n: Mapped[int] = mapped_column(Integer, default=0)


class PulseAnswered(Base):
    """That a member answered a question of an open survey (not what): stops a second answer;
    every mark is deleted when the survey closes."""

    __tablename__ = "pulse_answered"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey("pulse_surveys.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    question: Mapped[int] = mapped_column(Integer, primary_key=True)
