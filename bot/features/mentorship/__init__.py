"""Mentorship and peer dyads: members offer to mentor; a newcomer (or anyone) asks, and the
best-placed candidates are asked by DM, anonymised, until one says yes; the two are
introduced (a DM each, and a private room where the platform has one). Pairs get a weekly
nudge; either side ends a pairing without fault. Opted-in members meet in peer dyads.

Parts: matching (who is asked, a pure function), grouping (dyads, a pure function), asking
(rounds, the first yes, the end), commands, timers, dyads, hooks; queries is what other
features read (the current mentor).
"""

from bot.features.mentorship import commands, dyads, hooks, timers  # noqa: F401  (register)
from bot.features.mentorship.feature import feature

__all__ = ["feature"]
