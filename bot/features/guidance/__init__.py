"""Help, the steps, and the THINK card."""

from bot.features.guidance.commands import feature

__all__ = ["feature"]
