"""The mentorship feature object; its modules declare their commands, timers and hooks on it."""

from __future__ import annotations

from bot.feature import Feature
from bot.features.mentorship.settings import MentorshipSettings

feature = Feature("mentorship", settings=MentorshipSettings,
                  forgets=("mentor_offers", "mentor_requests", "mentor_asks",
                           "mentor_pairings", "dyad_members", "dyad_assignments"))
