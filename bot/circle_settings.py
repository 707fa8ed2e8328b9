"""A circle's effective settings: the host's defaults, overlaid by what its stewards set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.config import CircleDefaults

# Setting names as stewards type them (`circle settings wave_size:3`) and where they live.
LIFELINE_KEYS = ("wave_size", "wave_minutes", "give_up_minutes", "connect_minutes",
                 "max_requests_per_day", "pages_per_15_minutes", "pages_per_night",
                 "emergency_wave")
PRIVACY_KEYS = ("retention_days", "lifeline_note_days")


@dataclass(frozen=True)
class CircleSettings:
    followups: bool
    crisis_resources: list[str]
    step_of_week: int | None
    retention_days: int
    lifeline_note_days: int
    wave_size: int
    wave_minutes: int
    give_up_minutes: int
    connect_minutes: int
    max_requests_per_day: int
    pages_per_15_minutes: int
    pages_per_night: int
    emergency_wave: bool
    mood_words: dict[str, int] = field(default_factory=dict)

    def lifeline_policy(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in LIFELINE_KEYS}


def effective(defaults: CircleDefaults, overrides: dict[str, Any]) -> CircleSettings:
    base: dict[str, Any] = {
        "followups": defaults.followups,
        "crisis_resources": [_resource_line(r.text, r.source) for r in defaults.crisis_resources],
        "step_of_week": None,
        "mood_words": {},
        **defaults.lifeline.model_dump(),
        **defaults.privacy.model_dump(),
    }
    for key, value in (overrides or {}).items():
        if key in base:
            base[key] = value
    return CircleSettings(**base)


def _resource_line(text: str, source: str) -> str:
    return f"{text} ({source})" if source else text
