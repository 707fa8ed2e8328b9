"""Pulse surveys, their anonymous answers, and the short-lived "has answered" marks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
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


class PulseAnswer(Base):
    """One answer to one question: no member, no time, nothing that says whose it is. Free
    text is deleted at close, once the result is posted (or withheld)."""

    __tablename__ = "pulse_answers"
    __table_args__ = (Index("ix_pulse_answers_survey", "survey_id", "question"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("pulse_surveys.id", ondelete="CASCADE"))
    question: Mapped[int] = mapped_column(Integer)
    value: Mapped[int | None] = mapped_column(Integer, default=None)  # 1-5
    text: Mapped[str | None] = mapped_column(Text, default=None)


class PulseAnswered(Base):
    """That a member answered a question of an open survey (not what): stops a second answer;
    every mark is deleted when the survey closes."""

    __tablename__ = "pulse_answered"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey("pulse_surveys.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    question: Mapped[int] = mapped_column(Integer, primary_key=True)
