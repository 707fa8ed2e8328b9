"""Repair and accountability: when harm happens, a member asks the repair team (or, with no
one holding that role, the stewards) to hear them privately. They are told who will hear it
before anything is sent; the member it is about is left out and never told. The note lives
only while the request is open."""

from bot.features.repair import commands, hooks  # noqa: F401  (register)
from bot.features.repair.feature import feature

__all__ = ["feature"]
