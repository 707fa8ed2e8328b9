"""The meetings timers' payloads (their handlers are in timers.py). Each carries the instant
of the occurrence it belongs to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MeetingStart:
    meeting_id: int
    at: str  # the occurrence's start (ISO, UTC)


@dataclass(frozen=True)
class MeetingReminder:
    meeting_id: int
    at: str
    minutes: int  # how long before the start


@dataclass(frozen=True)
class MeetingDmLater:
    """A member's reminder DM held back until their quiet hours ended."""

    meeting_id: int
    at: str
    minutes: int
    member_id: int
