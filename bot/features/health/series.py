"""One line of the health picture: a figure per week, from one feature."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime

FEWER_THAN = 3  # a week with fewer than this many shows "fewer than 3", not the number


@dataclass(frozen=True)
class Series:
    label: str  # a text key
    values: list[float | None]  # one per week, oldest first; None: nothing to show
    kind: str = "count"  # count | seconds | score
    small: list[bool] | None = None  # weeks shown as "fewer than 3" instead of the number


def weekly_counts(instants: list[datetime], weeks: list[datetime]) -> list[int]:
    """How many instants fall in each week (weeks[i] <= t < weeks[i + 1]); the last week
    runs to now."""
    counts = [0] * len(weeks)
    for t in instants:
        i = bisect_right(weeks, t) - 1
        if i >= 0:
            counts[i] += 1
    return counts


def counted(label: str, counts: list[int]) -> Series:
    small = [0 < c < FEWER_THAN for c in counts]
    return Series(label, [None if s else float(c) for c, s in zip(counts, small, strict=True)],
                  "count", small)
