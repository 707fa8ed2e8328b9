"""The lifeline: a member asks for a peer (`call`), the bot pages reachable peers by DM in
waves until one says "I'll take it". Peers refer, they do not assess; crisis resources are
shown at once and never withheld.

Parts: states (the one transition table), selection (who is paged, a pure function),
requests (waves, pages, fallback, closing), commands, timers, report, hooks.
"""

from bot.features.lifeline import commands, hooks, report, timers  # noqa: F401  (register)
from bot.features.lifeline.feature import feature

__all__ = ["feature"]
