"""The rotation feature object; its modules declare their commands, timers and hooks on it."""

from __future__ import annotations

from bot.feature import Feature
from bot.features.rotation.settings import RotationSettings

feature = Feature("rotation", settings=RotationSettings, group_defaults={"roles": "show"},
                  forgets=("rotation_seats", "rotation_pauses", "rotation_swaps"))
