"""Circles and membership: setup, info, settings, join, leave, pact."""

from bot.features.circles.commands import feature, pact_text

__all__ = ["feature", "pact_text"]
