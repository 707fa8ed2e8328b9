"""The mentorship section of a circle's settings (host defaults under
`circle_defaults.mentorship`). Setting names are one namespace across every feature, so the
dyad settings carry their prefix."""

from __future__ import annotations

from pydantic import Field

from bot.section import SettingsSection


class MentorshipSettings(SettingsSection):
    section = "mentorship"

    ask_at_once: int = Field(3, ge=1, le=10)  # candidates asked together for one request
    ask_hours: int = Field(24, ge=1, le=168)  # with no yes by then, the next ones are asked
    dyads_every_days: int = Field(14, ge=7, le=90)  # how often opted-in members are paired
    dyads_avoid_repeat_rounds: int = Field(4, ge=0, le=26)  # no pair again within this many
