"""The circle's health at a glance: a picture of weekly counts, never a name."""

from bot.features.health.commands import feature

__all__ = ["feature"]
