"""The survey feature object."""

from __future__ import annotations

from bot.feature import Feature

# pulse_tallies: counters only. pulse_surveys: its `words` list holds written answers, never
# linked to anyone and emptied at close.
feature = Feature("survey", group_defaults={"survey": "show"},
                  forgets=("pulse_answered",), aggregate_only=("pulse_tallies", "pulse_surveys"))
