"""Retention and housekeeping: what is kept, and for how long."""

from bot.features.privacy.housekeeping import feature

__all__ = ["feature"]
