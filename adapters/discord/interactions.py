"""Interactions to invocations, answers to replies. No rule lives here: who may run what, and
what is private, is the core's to say.

Every interaction is acknowledged first (Discord allows three seconds): a command whose answer
may hold private words is deferred ephemerally in a server; in the bot's DM everything is
private already and stays in the conversation. The one exception is a form command given no
options, which opens its form at once (a form cannot follow a deferral)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice
from sqlalchemy import select

from adapters.discord import forms
from adapters.discord.deliverer import split_text, to_file
from adapters.discord.texts import PLATFORM, lang_of, say, shorten
from adapters.discord.tree import Option, offers_circle, options
from bot.answer import Answer
from bot.commands import CIRCLE_ARG, Command, Kind
from bot.logs import log_failure
from bot.parser import ParseError, split_command
from bot.refs import Invocation, Place, RoomRef, UserRef
from bot.suggestions import suggest
from bot.texts import Texts
from storage.models import Person

if TYPE_CHECKING:
    from adapters.discord.client import PeercircleBot

log = logging.getLogger(__name__)

CHOICE_LIMIT = 100  # characters of an autocomplete choice's name


def actor_of(interaction: discord.Interaction) -> UserRef:
    user = interaction.user
    return UserRef(PLATFORM, str(user.id), user.display_name)


def place_of(interaction: discord.Interaction) -> Place:
    if interaction.guild is None or interaction.channel_id is None:
        return Place.direct()
    perms = interaction.permissions
    # A server admin (Manage Server on the channel) counts as the room's admin.
    return Place(RoomRef(PLATFORM, str(interaction.channel_id)),
                 actor_is_room_admin=perms.manage_guild or perms.administrator)


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, discord.abc.User):
        return f"@{value.id}"  # a member named by their platform id, as every adapter does
    return str(value)


def private_first(interaction: discord.Interaction, command: Command) -> bool:
    """Defer ephemerally when the answer may hold private words (a first reply cannot change
    who sees it). In the bot's DM, the answer stays in the conversation instead."""
    return interaction.guild is not None and (command.private or command.private_errors)


class Interactions:
    def __init__(self, bot: PeercircleBot) -> None:
        self.bot = bot
        self.core = bot.core

    # -- slash commands --------------------------------------------------------------------
    async def slash(self, interaction: discord.Interaction, command: Command,
                    values: dict[str, Any]) -> None:
        named: dict[str, str] = {}
        by_name = {o.name: o for o in options(command)}
        for name, value in values.items():
            option = by_name.get(name)
            if value is not None and option is not None:
                named[option.arg.name] = as_text(value)
        if command.path in forms.FORM_COMMANDS and set(named) <= {CIRCLE_ARG.name}:
            await interaction.response.send_modal(forms.Form(
                command, interaction.locale, circle=named.get(CIRCLE_ARG.name),
                ask_circle=interaction.guild is None and offers_circle(command)))
            return
        ephemeral = private_first(interaction, command)
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        positional: tuple[str, ...] = ()
        more = named.pop("more", None)
        if more:
            try:
                parsed = split_command(self.core.table, f"{command.path} {more}",
                                       Texts(lang_of(interaction.locale)))
            except ParseError as exc:
                await self.reply(interaction, Answer(str(exc), private=True, ok=False),
                                 ephemeral)
                return
            positional = parsed.positional
            named = {**parsed.named, **named}
        await self.run(interaction, Invocation(
            command.path, actor_of(interaction), place_of(interaction), positional, named,
            event_id=str(interaction.id), sent_at=interaction.created_at), ephemeral)

    async def form_submitted(self, interaction: discord.Interaction, path: str) -> None:
        command = self.core.table.get(path)
        if command is None:  # a form of a command that no longer exists
            await interaction.response.send_message(
                await self._say(interaction, "discord.out_of_date"), ephemeral=True)
            return
        ephemeral = private_first(interaction, command)
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        named = forms.submitted_values(command, interaction.data or {})  # type: ignore[arg-type]
        await self.run(interaction, Invocation(
            command.path, actor_of(interaction), place_of(interaction), named=named,
            event_id=str(interaction.id), sent_at=interaction.created_at), ephemeral)

    async def action_pressed(self, interaction: discord.Interaction, action_id: str) -> None:
        ephemeral = interaction.guild is not None
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        message_id = str(interaction.message.id) if interaction.message is not None else ""
        # The core checks the presser is the one the message was sent to.
        inv = await self.core.action_invocation(PLATFORM, message_id, action_id,
                                                actor_of(interaction),
                                                event_id=str(interaction.id),
                                                sent_at=interaction.created_at)
        if inv is None:
            await self.reply(interaction, Answer(await self._say(interaction, "discord.not_yours"),
                                                 private=True, ok=False), ephemeral)
            return
        await self.run(interaction, inv, ephemeral)

    async def run(self, interaction: discord.Interaction, inv: Invocation,
                  ephemeral: bool) -> None:
        answer = await self.core.invoke(inv)
        await self.reply(interaction, answer, ephemeral)
        user_id = str(interaction.user.id)
        if interaction.guild is None and interaction.channel_id is not None:
            await self.bot.dms.remember(user_id, str(interaction.channel_id))
        elif await self._dm_closed(user_id):
            # Pages and private answers cannot reach them: say so where they are now.
            await interaction.followup.send(await self._say(interaction, "discord.dm_closed"),
                                            ephemeral=True)

    async def _say(self, interaction: discord.Interaction, key: str) -> str:
        """What the adapter says itself: in the member's language, else their circle's, else
        their Discord client's (also when the database cannot be read)."""
        try:
            lang = await self.core.language_for(actor_of(interaction), place_of(interaction))
        except Exception as exc:
            log.info("discord: language unknown (%s); the client's is used", type(exc).__name__)
            lang = None
        return say(key, lang or interaction.locale)

    async def _dm_closed(self, user_id: str) -> bool:
        async with self.core.db.transaction() as s:
            closed = (await s.execute(
                select(Person.dm_closed_at).where(Person.platform == PLATFORM,
                                                  Person.platform_user_id == user_id)
            )).scalar_one_or_none()
        return closed is not None

    # -- answers -------------------------------------------------------------------------
    async def reply(self, interaction: discord.Interaction, answer: Answer,
                    ephemeral: bool) -> None:
        """The deferred reply. A private answer, or a refusal (it is for the one who asked),
        to a public deferral goes to the member alone: the public "thinking" placeholder is
        settled with a neutral line (the first follow-up would otherwise inherit its
        visibility), the answer follows ephemerally, and the placeholder is removed."""
        chunks = split_text(answer.text or "…")
        files = [to_file(a) for a in answer.attachments]
        in_server = interaction.guild is not None
        if (answer.private or not answer.ok) and in_server and not ephemeral:
            await interaction.edit_original_response(
                content=await self._say(interaction, "discord.answered_privately"))
            await self._followups(interaction, chunks, files, ephemeral=True)
            try:
                await interaction.delete_original_response()
            except discord.HTTPException as exc:  # the neutral line stays; nothing leaks
                log.info("discord: could not remove a placeholder (%s)", exc.status)
            return
        if len(chunks) == 1 and files:
            await interaction.edit_original_response(content=chunks[0], attachments=files)
            return
        await interaction.edit_original_response(content=chunks[0])
        await self._followups(interaction, chunks[1:], files, ephemeral=ephemeral)

    @staticmethod
    async def _followups(interaction: discord.Interaction, chunks: list[str],
                         files: list[discord.File], *, ephemeral: bool) -> None:
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            if last and files:
                await interaction.followup.send(chunk, ephemeral=ephemeral, files=files)
            else:
                await interaction.followup.send(chunk, ephemeral=ephemeral)
        if not chunks and files:
            await interaction.followup.send(files=files, ephemeral=ephemeral)

    # -- autocomplete --------------------------------------------------------------------
    async def complete(self, interaction: discord.Interaction, command: Command,
                       option: Option, current: str) -> list[Choice[Any]]:
        """Offers from the core; whatever the member sends is validated again."""
        try:
            found = await suggest(self.core, actor_of(interaction), command.path,
                                  option.arg.name, str(current or ""))
        except Exception as exc:
            log_failure(log, "discord: autocomplete for %s failed", command.path, exc=exc)
            return []
        choices: list[Choice[Any]] = []
        for s in found:
            if option.arg.kind is Kind.INT:
                if not s.value.lstrip("-").isdigit():
                    continue
                choices.append(Choice(name=shorten(s.label, CHOICE_LIMIT), value=int(s.value)))
            else:
                choices.append(Choice(name=shorten(s.label, CHOICE_LIMIT), value=s.value))
        return choices

    # -- failures ------------------------------------------------------------------------
    async def failed(self, interaction: discord.Interaction,
                     error: app_commands.AppCommandError | Exception) -> None:
        """Every failure ends in one clear sentence to the member alone, never in Discord's
        "This interaction failed"."""
        if isinstance(error, app_commands.CommandSignatureMismatch | app_commands.CommandNotFound):
            key = "discord.out_of_date"
        elif isinstance(error, app_commands.TransformerError):
            key = "discord.bad_value"
        else:
            key = "discord.failed"
            original = getattr(error, "original", error)
            log_failure(log, "discord: an interaction failed", exc=original)
        text = await self._say(interaction, key)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException as exc:
            log.warning("discord: could not tell the member about a failure (%s)", exc.status)
