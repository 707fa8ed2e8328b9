"""`peercircle discord sync [--guild ID]`: send the generated commands to Discord now, whether
or not they changed (the bot itself syncs only when they did)."""

from __future__ import annotations

import argparse
import sys

import discord

from bot.config import Settings

NO_TOKEN = "discord.token is empty; set PEERCIRCLE_DISCORD__TOKEN (the Developer Portal's Bot page)"


def add_sync_parser(discord_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sp = discord_sub.add_parser("sync", help="sync the slash commands with Discord now")
    sp.add_argument("--config", help="config file (default ./config.yaml or $PEERCIRCLE_CONFIG)")
    sp.add_argument("--guild", type=int, metavar="ID",
                    help="sync to this server only (appears at once); default: "
                         "discord.dev_guild_id, else globally")


async def run_sync(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.discord.client import create_bot
    from adapters.discord.sync import sync_commands
    from bot.app import open_core
    from bot.clock import SystemClock

    if not settings.discord.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    guild_id = args.guild or settings.discord.dev_guild_id
    core = await open_core(settings, SystemClock())
    bot = create_bot(settings, core, serve=False)
    try:
        try:
            await bot.login(settings.discord.token)
        except discord.LoginFailure:
            print("Discord refused the token (discord.token / PEERCIRCLE_DISCORD__TOKEN); copy it "
                  "again from the Developer Portal's Bot page.", file=sys.stderr)
            return 2
        await sync_commands(bot.tree, core.db, core.clock, guild_id=guild_id, force=True)
    finally:
        await bot.close()
        await core.db.dispose()
    count = len(bot.tree.get_commands(guild=discord.Object(guild_id) if guild_id else None))
    where = f"to server {guild_id}" if guild_id else "globally (may take up to an hour to show)"
    print(f"synced {count} commands {where}")
    return 0
