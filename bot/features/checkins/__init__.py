"""Check-ins and what each member may see of them."""

from bot.features.checkins.commands import feature

__all__ = ["feature"]
