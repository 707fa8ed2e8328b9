"""Onboarding: a welcome DM on join, gentle follow-ups on day 3 and day 7."""

from bot.features.onboarding.commands import feature

__all__ = ["feature"]
