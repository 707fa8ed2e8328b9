"""The outbox's view of Discord: one Outgoing row in, one message (or a DeliveryError) out.

Retrying is the outbox's job, not discord.py's: a 5xx or a 429 comes back as a DeliveryError
with the platform's retry time, and the row is tried again later; a closed DM (50007, or a DM
Discord will not open) marks the member unreachable by DM and is never retried blindly."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging

import discord
from sqlalchemy import select, update

from adapters.discord.buttons import action_view
from adapters.discord.dm_channels import DmChannels
from adapters.discord.texts import PLATFORM
from bot.answer import Attachment
from bot.outbox import DeliveryError, Outgoing
from storage.db import Database
from storage.models import Circle, Person

log = logging.getLogger(__name__)

CANNOT_DM = 50007  # "Cannot send messages to this user"
MESSAGE_LIMIT = 2000
RATE_LIMITED_DEFAULT = 5.0  # seconds, when a 429 names no retry time
MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Discord's 2000-character messages: cut at line breaks where possible, never losing a
    character."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    chunks.append(rest)
    return chunks


def to_file(attachment: Attachment) -> discord.File:
    return discord.File(io.BytesIO(attachment.data), filename=attachment.filename,
                        description=attachment.alt or None)


def nonce(key: str, part: int) -> str:
    """Discord drops a second message with the same nonce sent within minutes: a row retried
    after a crash between sending and recording is not posted twice."""
    return hashlib.sha256(f"{key}#{part}".encode()).hexdigest()[:25]


class DiscordDeliverer:
    platform = PLATFORM

    def __init__(self, client: discord.Client, db: Database, dms: DmChannels) -> None:
        self.client = client
        self.db = db
        self.dms = dms

    async def deliver(self, message: Outgoing) -> str | None:
        try:
            if message.kind == "post":
                if not message.room_id:
                    raise DeliveryError("a room post without a room", permanent=True)
                return await self._send(int(message.room_id), message)
            if message.kind == "dm":
                if not message.user_id:
                    raise DeliveryError("a direct message without a user", permanent=True)
                try:
                    channel_id = await self.dms.channel_id(message.user_id)
                except discord.HTTPException as exc:
                    # Discord refuses to open a DM with someone it will not let us reach.
                    if exc.status == 400 or exc.code == CANNOT_DM:
                        raise DeliveryError("cannot open a DM", dm_closed=True) from None
                    raise
                sent = await self._send(channel_id, message)
                await self._reachable(message.user_id)
                return sent
            if message.kind == "room":
                return await self._room_as_dms(message)
            if message.kind == "edit":
                return await self._edit(message)
            raise DeliveryError(f"unknown outbox kind {message.kind}", permanent=True)
        except discord.HTTPException as exc:
            raise _delivery_error(exc, message) from None
        except discord.RateLimited as exc:
            raise DeliveryError("rate limited", retry_after=exc.retry_after) from None

    async def _room_as_dms(self, message: Outgoing) -> str:
        """A post to a private room of a few members goes to each of them by DM, named by the
        room, so each reads it in the conversation they already have with the bot. (A private
        thread needs a channel the member shares with the bot, which a DM-only pair lacks.)"""
        first: str | None = None
        for user_id in message.room_members:
            try:
                channel_id = await self.dms.channel_id(user_id)
            except discord.HTTPException as exc:
                if exc.status == 400 or exc.code == CANNOT_DM:
                    continue  # one closed DM must not keep the other from the message
                raise
            named = dataclasses.replace(message, text=f"[{message.room_name}] {message.text}",
                                        key=f"{message.key}:{user_id}")
            sent = await self._send(channel_id, named)
            first = first or sent
        if first is None:
            raise DeliveryError("no member of the room can get DMs", permanent=True)
        return first

    async def _send(self, channel_id: int, message: Outgoing) -> str:
        channel = self.client.get_partial_messageable(channel_id)
        view = action_view(message.actions, await self._language(message)) \
            if message.actions else None
        chunks = split_text(message.text)
        files = [to_file(a) for a in message.attachments]
        sent: discord.Message | None = None
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            kwargs: dict[str, object] = {}
            if last and view is not None:
                kwargs["view"] = view
            if last and files:
                kwargs["files"] = files
            sent = await channel.send(chunk, nonce=nonce(message.key, i),
                                      allowed_mentions=MENTIONS, **kwargs)  # type: ignore[arg-type]
        assert sent is not None
        # The message carrying the buttons is the one later edits replace.
        return str(sent.id)

    async def _edit(self, message: Outgoing) -> str:
        target = message.edit_target
        if target is None or not target.platform_message_id:
            raise DeliveryError("the edited message was never sent", permanent=True)
        if target.kind == "dm":
            assert target.user_id is not None
            channel_id = await self.dms.channel_id(target.user_id)
        else:
            assert target.room_id is not None
            channel_id = int(target.room_id)
        partial = self.client.get_partial_messageable(channel_id)\
            .get_partial_message(int(target.platform_message_id))
        # An edit without actions takes the buttons away (a page someone else took).
        view = action_view(message.actions, await self._language(target)) \
            if message.actions else None
        await partial.edit(content=split_text(message.text)[0], view=view,
                           allowed_mentions=MENTIONS)
        return target.platform_message_id

    async def _language(self, message: Outgoing) -> str | None:
        """The language of whoever reads the buttons: the member's own, else the circle's."""
        async with self.db.transaction() as s:
            if message.user_id:
                return (await s.execute(
                    select(Person.language).where(Person.platform == PLATFORM,
                                                  Person.platform_user_id == message.user_id)
                )).scalar_one_or_none()
            if message.room_id:
                return (await s.execute(
                    select(Circle.language).where(Circle.platform == PLATFORM,
                                                  Circle.room_id == message.room_id)
                )).scalar_one_or_none()
        return None

    async def _reachable(self, user_id: str) -> None:
        """A DM went through: a member once marked unreachable has opened their DMs again."""
        async with self.db.transaction() as s:
            await s.execute(update(Person)
                            .where(Person.platform == PLATFORM,
                                   Person.platform_user_id == user_id,
                                   Person.dm_closed_at.is_not(None))
                            .values(dm_closed_at=None))


def _delivery_error(exc: discord.HTTPException, message: Outgoing) -> DeliveryError:
    status = exc.status
    if status == 429:
        return DeliveryError("rate limited (429)", retry_after=_retry_after(exc))
    if status >= 500:
        return DeliveryError(f"discord answered {status}")
    if exc.code == CANNOT_DM and message.kind == "dm":
        return DeliveryError("the member's DMs are closed (50007)", dm_closed=True)
    # Any other 4xx (a deleted channel or message, missing access) will not fix itself.
    return DeliveryError(f"discord refused ({status}, code {exc.code})", permanent=True)


def _retry_after(exc: discord.HTTPException) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    for name in ("Retry-After", "retry-after", "X-RateLimit-Reset-After"):
        value = headers.get(name)
        if value is not None:
            try:
                return max(float(value), 0.0)
            except ValueError:
                continue
    return RATE_LIMITED_DEFAULT
