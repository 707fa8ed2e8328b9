"""The rotation timers' payloads (their handlers are in timers.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tick:
    """A circle's next term boundary (or the moment its first holders are drawn)."""

    circle_id: int


@dataclass(frozen=True)
class Remind:
    """A reminder to the member drawn for a seat, a week or a day before its term."""

    seat_id: int
    member_id: int
    days: int


@dataclass(frozen=True)
class SwapLapse:
    swap_id: int
