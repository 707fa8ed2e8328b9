"""Service roles that rotate fairly, so no one becomes a guru: roles and their terms, the fair
rule that draws each term's holders (selection), term boundaries on the wall clock (terms),
swaps, skips and pauses, and the steward provider: the steward is whoever holds the steward
role this term (the founder only until rotation first fills it).

Other features ask `is_paused` / `pauses_until` / `paused_until` (a paused member gets no pages
and no nudges) and `role_holders` (who serves a default role now: repair convenes the repair
team).
"""

from bot.features.rotation import commands, hooks, spread, timers  # noqa: F401  (register)
from bot.features.rotation.feature import feature
from bot.features.rotation.pauses import is_paused, paused_until, pauses_until
from bot.features.rotation.service import role_holders, steward_assigned

__all__ = ["feature", "is_paused", "paused_until", "pauses_until", "role_holders",
           "steward_assigned"]
