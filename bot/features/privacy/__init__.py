"""Retention and housekeeping: what is kept, and for how long."""

from bot.features.privacy import me  # noqa: F401  (registers the `me` commands)
from bot.features.privacy.housekeeping import feature

__all__ = ["feature"]
