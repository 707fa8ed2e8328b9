"""The Discord adapter (discord.py 2.7 application commands): slash commands, forms and
persistent buttons generated from the core's command table, delivery through the outbox."""

from adapters.discord.adapter import DiscordAdapter, DiscordStartError
from adapters.discord.client import PeercircleBot, create_bot

__all__ = ["DiscordAdapter", "DiscordStartError", "PeercircleBot", "create_bot"]
