"""Check-in nudges: a member who opted in (`nudges on`) and has not checked in for
`after_days` gets one kind DM, never in their quiet hours (22:00-08:00 in their own timezone
by default), not while paused, and not again until they check in.

Other features ask `waking_at` before a personal DM (meeting reminders, the pulse survey)."""

from bot.features.nudges import commands, hooks, timers  # noqa: F401  (register)
from bot.features.nudges.feature import feature
from bot.features.nudges.quiet import waking_at

__all__ = ["feature", "waking_at"]
