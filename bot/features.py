"""Every feature's handlers and commands, put together once."""

from __future__ import annotations

from bot.commands import CommandTable
from bot.context import Registry


def build_registry() -> Registry:
    from bot import (
        availability,
        checkins,
        circles,
        guidance,
        lifeline,
        lifeline_report,
        onboarding,
        privacy,
    )

    registry = Registry()
    for module in (circles, checkins, guidance, onboarding, privacy, availability, lifeline,
                   lifeline_report):
        registry.merge(module.handlers)
    return registry


def build_table() -> CommandTable:
    return CommandTable()
