"""The nudges feature object; its modules declare their commands, timers and hooks on it."""

from __future__ import annotations

from pydantic import Field

from bot.feature import Feature
from bot.section import SettingsSection


class NudgeSettings(SettingsSection):
    section = "nudges"

    after_days: int = Field(7, ge=1, le=60)  # days without a check-in before one kind DM


feature = Feature("nudges", settings=NudgeSettings, group_defaults={"nudges": "show"},
                  forgets=("nudge_prefs",))
