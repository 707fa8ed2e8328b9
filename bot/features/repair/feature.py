"""The repair feature object; its modules declare their commands and hooks on it."""

from __future__ import annotations

from bot.feature import Feature

feature = Feature("repair", group_defaults={"repair": "request"},
                  forgets=("repair_requests", "repair_team"))
