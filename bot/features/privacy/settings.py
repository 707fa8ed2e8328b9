"""How long a circle keeps what members wrote."""

from __future__ import annotations

from pydantic import Field

from bot.section import SettingsSection


class PrivacySettings(SettingsSection):
    section = "privacy"

    retention_days: int = Field(90, ge=1, le=3650)  # check-in notes are deleted after this
    lifeline_note_days: int = Field(7, ge=0, le=90)  # lifeline notes, counted from the close
