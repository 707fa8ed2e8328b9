"""Durations as people type them: 90s, 5m, 1h30m, 2d."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta | None:
    value = text.strip().lower().replace(" ", "")
    if not value or not re.fullmatch(r"(\d+(d|h|m|s))+", value):
        return None
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _PART.findall(value)))
