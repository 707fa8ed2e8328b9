"""The Discord bot, built whole without connecting: commands from the core's table, the
persistent action buttons, the form handler, the outbox loop and the command sync. Tests and
hosts drive it through `create_bot(settings, core)`; `peercircle run` starts it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord.ext import commands

from adapters.discord import forms, sync
from adapters.discord.buttons import ActionButton
from adapters.discord.deliverer import MENTIONS, DiscordDeliverer
from adapters.discord.dm_channels import DmChannels
from adapters.discord.interactions import Interactions
from adapters.discord.outbox_loop import OutboxLoop
from adapters.discord.translator import CatalogueTranslator
from adapters.discord.tree import Slot, build
from bot.config import Settings
from bot.dispatcher import Core
from bot.outbox import OutboxSender

log = logging.getLogger(__name__)

# No privileged intents: every command is an interaction, and the bot reads no messages.
INTENTS = discord.Intents.none()
INTENTS.guilds = True
# discord.py waits out a long rate limit itself unless told otherwise; 30 s (its minimum) and
# the outbox takes over with the platform's retry time.
RATE_LIMIT_WAIT = 30.0


class PeercircleBot(commands.Bot):
    def __init__(self, settings: Settings, core: Core, *, serve: bool = True) -> None:
        # The prefix is the mention only: there are no text commands, and without the
        # message-content intent any other prefix makes discord.py warn at every start.
        super().__init__(command_prefix=commands.when_mentioned, intents=INTENTS,
                         help_command=None, allowed_mentions=MENTIONS,
                         max_ratelimit_timeout=RATE_LIMIT_WAIT)
        self.settings = settings
        self.core = core
        self.serve = serve  # False for `peercircle discord sync`: no outbox, no auto-sync
        self.dms = DmChannels(self, core.db)
        self.deliverer = DiscordDeliverer(self, core.db, self.dms)
        self.outbox = OutboxLoop(self, OutboxSender(core.db, core.clock, self.deliverer),
                                 core.db, core.clock)
        self.interactions = Interactions(self)
        self.slots: dict[str, Slot] = build(self.tree, core.table, self.interactions.slash,
                                            self.interactions.complete)
        self.tree.on_error = self.interactions.failed  # type: ignore[method-assign]
        self._outbox_task: asyncio.Task[None] | None = None
        core.on_commit(self.outbox.wake)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ActionButton)
        await self.tree.set_translator(CatalogueTranslator())
        if not self.serve:
            return
        await sync.sync_commands(self.tree, self.core.db, self.core.clock,
                                 guild_id=self.settings.discord.dev_guild_id)
        self._outbox_task = asyncio.create_task(self.outbox.run(), name="discord-outbox")

    async def action_pressed(self, interaction: discord.Interaction, action_id: str) -> None:
        """A persistent button (buttons.py) was pressed."""
        try:
            await self.interactions.action_pressed(interaction, action_id)
        except Exception as exc:
            await self.interactions.failed(interaction, exc)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Form submissions are handled here, by the form's fixed custom_id, so one submitted
        after a restart is understood too."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        path = forms.path_of(str(data.get("custom_id", "")))
        if path is None:
            return
        try:
            await self.interactions.form_submitted(interaction, path)
        except Exception as exc:
            await self.interactions.failed(interaction, exc)

    async def close(self) -> None:
        task, self._outbox_task = self._outbox_task, None
        await super().close()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def create_bot(settings: Settings, core: Core, *, serve: bool = True) -> PeercircleBot:
    """The whole bot, without connecting: needs no token (CI builds it)."""
    return PeercircleBot(settings, core, serve=serve)
