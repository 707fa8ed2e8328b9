"""The survey feature object."""

from __future__ import annotations

from bot.feature import Feature

feature = Feature("survey", group_defaults={"survey": "show"},
                  forgets=("pulse_answered",), aggregate_only=("pulse_answers",))
