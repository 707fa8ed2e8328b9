"""The Discord bot on simcord (real discord.py code against an offline Discord), on a test
database, with the core's clock being simcord's virtual clock: `env.advance_time(n)` moves the
outbox's retries, the lifeline's waves and Discord's timestamps together."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
import pytest
import pytest_asyncio
from simcord import Env
from simcord.builders import ChannelHandle, GuildHandle, UserHandle

from adapters.discord import PeercircleBot, create_bot
from bot.app import open_core
from bot.clock import as_utc
from bot.config import Settings
from bot.dispatcher import Core
from bot.feature import Features
from bot.features import build_features
from tests.conftest import DbSpec

SIMCORD_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class EnvClock:
    """simcord's virtual clock as the core's clock (before the env exists: its epoch)."""

    def __init__(self) -> None:
        self.env: Env | None = None

    def now(self) -> datetime:
        if self.env is None:
            return SIMCORD_EPOCH  # what env.now() says before any time has passed
        return as_utc(self.env.now())


@dataclass
class World:
    env: Env
    spec: DbSpec
    settings: Settings
    clock: EnvClock
    core: Core
    features_factory: Any = None
    old_cores: list[Core] = field(default_factory=list)
    guild: GuildHandle | None = None
    channel: ChannelHandle | None = None

    @property
    def bot(self) -> PeercircleBot:
        bot = self.env.bot
        assert isinstance(bot, PeercircleBot)
        return bot

    async def restart(self) -> None:
        """A new process on the same database: a new core and a new bot object."""
        self.old_cores.append(self.core)
        self.core = await open_core(self.settings, self.clock, db=self.spec.make(),
                                    features=self._features())
        await self.env.restart_bot(create_bot(self.settings, self.core))

    def _features(self) -> Features | None:
        return self.features_factory() if self.features_factory else None

    async def fire_due(self) -> int:
        """What the runtime's due loop does, then let the bot finish what it started."""
        fired = await self.core.fire_due()
        await self.env.settle()
        return fired

    async def advance(self, seconds: float) -> None:
        await self.env.advance_time(seconds)
        await self.fire_due()

    def circle_channel(self) -> ChannelHandle:
        if self.channel is None:
            self.guild = self.env.create_guild("Riverbend")
            self.channel = self.guild.create_text_channel("circle")
        return self.channel

    def member(self, name: str, **kw: Any) -> Any:
        self.circle_channel()
        assert self.guild is not None
        return self.guild.add_member(self.env.create_user(name), **kw)


async def start_world(spec: DbSpec, options: dict[str, Any],
                      features_factory: Any = None,
                      settings: Settings | None = None) -> World:
    settings = settings or Settings()
    clock = EnvClock()
    core = await open_core(settings, clock, db=spec.make(),  # type: ignore[arg-type]
                           features=features_factory() if features_factory else None)
    bot = create_bot(settings, core)
    env = Env(bot, **options)
    clock.env = env
    try:
        await env.start()
    except BaseException:
        await core.db.dispose()
        raise
    return World(env, spec, settings, clock, core, features_factory)


async def stop_world(world: World) -> None:
    try:
        await world.env.shutdown()
    finally:
        for core in [*world.old_cores, world.core]:
            await core.db.dispose()
    world.env._raise_errors_since(world.env._errors_acknowledged)


@pytest_asyncio.fixture
async def world(db_spec: DbSpec, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    """`@pytest.mark.parametrize("world", [[feature, ...]], indirect=True)` adds features the
    adapter has never heard of."""
    marker = request.node.get_closest_marker("simcord")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    extra = getattr(request, "param", None)
    made = await start_world(db_spec, options, build_with(extra) if extra else None)
    try:
        yield made
    finally:
        await stop_world(made)


@pytest.fixture(autouse=True)
def world_env(request: pytest.FixtureRequest) -> Env | None:
    """The world's env as a test argument of its own: simcord's pytest plugin then runs the
    test body with Discord's clock helpers pointed at the virtual clock."""
    if "world" not in request.fixturenames:
        return None
    found: World = request.getfixturevalue("world")
    return found.env


def text_of(messages: list[discord.Message]) -> str:
    return "\n".join(m.content for m in messages)


def dm_history(user: Any) -> list[discord.Message]:
    handle = user.user if hasattr(user, "user") else user
    assert isinstance(handle, UserHandle)
    return handle.dm_channel.history()


def custom_ids(message: discord.Message) -> list[str]:
    found: list[str] = []
    for row in message.components:
        for child in getattr(row, "children", [row]):
            cid = getattr(child, "custom_id", None)
            if cid:
                found.append(cid)
    return found


def callback_types(env: Env, interaction_id: int | None = None) -> list[int]:
    """The interaction callback types the bot sent (5: deferred, 9: a form, 4: a message)."""
    types = []
    for entry in env.http_requests:
        path = getattr(entry, "path", "")
        if getattr(entry, "method", "") == "POST" and re.fullmatch(
                r"/interactions/\d+/[^/]+/callback", path):
            if interaction_id is not None and f"/interactions/{interaction_id}/" not in path:
                continue
            body = getattr(entry, "json", None) or getattr(entry, "body", None) or {}
            types.append(int(body.get("type", 0)))
    return types


def build_with(extra: list[Any]) -> Any:
    return lambda: build_features(extra)
