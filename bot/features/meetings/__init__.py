"""Meetings on a schedule: rules in the circle's timezone (weekly, every n weeks, monthly on a
weekday, once), the reminders before each, the start post with the round prompt, today's
facilitator and the THINK card, `meeting cancel next`, and reminders by DM for members who
ask for them (never in their quiet hours, never while paused). A reminder or start post that
the bot missed while it was down goes out once, marked late, while still useful; otherwise it
is dropped with a log line."""

from bot.features.meetings import commands, hooks, timers  # noqa: F401  (register)
from bot.features.meetings.feature import feature

__all__ = ["feature"]
