"""`available ...`: a member's consent to be paged, with windows in their own timezone."""

from bot.features.availability.commands import feature

__all__ = ["feature"]
