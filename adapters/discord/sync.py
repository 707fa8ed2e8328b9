"""Syncing the generated commands with Discord only when they changed: the tree's payload
(translations included) is hashed, and the hash of the last sync is kept in the database, so
a restart with the same commands makes no call (Discord rate-limits command syncs hard).
`peercircle discord sync` forces it."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord.texts import PLATFORM
from adapters.discord.translator import CatalogueTranslator
from bot.clock import Clock
from storage.db import Database
from storage.models import AdapterState

log = logging.getLogger(__name__)


def scope_key(guild_id: int | None) -> str:
    return f"commands:guild:{guild_id}" if guild_id else "commands:global"


async def payload(tree: app_commands.CommandTree[Any],
                  guild: discord.abc.Snowflake | None = None) -> list[dict[str, Any]]:
    """What a sync sends: every command with its options, contexts and translations."""
    translator = tree.translator or CatalogueTranslator()
    return [await c.get_translated_payload(tree, translator)
            for c in tree.get_commands(guild=guild)]


def digest(found: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(found, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest()


async def stored_hash(db: Database, guild_id: int | None) -> str | None:
    async with db.transaction() as s:
        row = await s.get(AdapterState, (PLATFORM, scope_key(guild_id)))
        return row.value if row is not None else None


async def sync_commands(tree: app_commands.CommandTree[Any], db: Database, clock: Clock, *,
                        guild_id: int | None = None, force: bool = False) -> bool:
    """Sync globally, or to one guild (`discord.dev_guild_id`: the commands are copied there
    and appear at once). Returns whether Discord was asked."""
    guild = discord.Object(guild_id) if guild_id else None
    if guild is not None:
        tree.copy_global_to(guild=guild)
    current = digest(await payload(tree, guild))
    if not force and await stored_hash(db, guild_id) == current:
        log.info("discord: commands unchanged since the last sync; not syncing")
        return False
    synced = await tree.sync(guild=guild)
    async with db.transaction() as s:
        await s.merge(AdapterState(platform=PLATFORM, key=scope_key(guild_id), value=current,
                                   updated_at=clock.now()))
    log.info("discord: synced %d commands %s", len(synced),
             f"to guild {guild_id}" if guild_id else "globally")
    return True
