"""Whether a circle sends the day-3 and day-7 follow-ups."""

from __future__ import annotations

from bot.section import SettingsSection


class OnboardingSettings(SettingsSection):
    section = "onboarding"

    followups: bool = True
