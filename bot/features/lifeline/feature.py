"""The lifeline feature object; its modules declare their commands, timers and hooks on it."""

from __future__ import annotations

from bot.feature import Feature
from bot.features.lifeline.settings import LifelineSettings

feature = Feature("lifeline", settings=LifelineSettings,
                  group_defaults={"call": "open", "lifeline": "report"},
                  forgets=("lifeline_requests", "lifeline_pages"))
