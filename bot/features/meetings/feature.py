"""The meetings feature object; its modules declare their commands, timers and hooks on it."""

from __future__ import annotations

from bot.feature import Feature
from bot.features.meetings.settings import MeetingSettings

feature = Feature("meetings", settings=MeetingSettings, group_defaults={"meeting": "next"},
                  forgets=("meeting_dms",))
