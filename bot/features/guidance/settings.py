"""The guidance section of a circle's settings."""

from __future__ import annotations

from pydantic import Field

from bot.section import SettingsSection


class GuidanceSettings(SettingsSection):
    section = "guidance"

    # The step meeting rounds use as their prompt; 0 means none is set.
    step_of_week: int = Field(0, ge=0, le=12)
