"""`peercircle run` with `discord.enabled`: connect with the token until asked to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord

from adapters.discord.client import PeercircleBot, create_bot
from bot.config import Settings
from bot.dispatcher import Core

log = logging.getLogger(__name__)


class DiscordStartError(Exception):
    """The bot cannot run as configured (a wrong token); the message says what to do."""


class DiscordAdapter:
    platform = "discord"

    def __init__(self, settings: Settings, core: Core) -> None:
        self.settings = settings
        self.bot: PeercircleBot = create_bot(settings, core)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop`; a refused token stops the whole bot with a clear message. The
        bot drains its own outbox (outbox_loop.py), so no sender is added to the runtime."""
        client = asyncio.create_task(self.bot.start(self.settings.discord.token),
                                     name="discord-client")
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([client, stopper], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            await self.bot.close()
            if not client.done():
                client.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(client, return_exceptions=True)
        error = client.exception() if client.done() and not client.cancelled() else None
        if isinstance(error, discord.LoginFailure):
            stop.set()
            raise DiscordStartError(
                "Discord refused the token (discord.token / PEERCIRCLE_DISCORD__TOKEN); copy "
                "it again from the Developer Portal's Bot page.")
        if error is not None:
            stop.set()
            raise error
