"""The repair feature object; its modules declare their commands and hooks on it."""

from __future__ import annotations

from bot.feature import Feature

# No group default: `repair confrim` must be "did you mean repair confirm?", never a request
# whose note ("confrim") replaces the words waiting to be confirmed.
feature = Feature("repair", forgets=("repair_requests", "repair_team"))
