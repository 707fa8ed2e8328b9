"""Helpers for the Matrix adapter tests: members as real nio clients (with end-to-end
encryption), and the bot (core + runtime + adapter) run against the test Synapse."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    InviteMemberEvent,
    MatrixRoom,
    RoomCreateResponse,
    RoomPreset,
    RoomSendResponse,
)
from nio.event_builders import EnableEncryptionBuilder
from sqlalchemy import func, select

from adapters.matrix import MatrixAdapter
from bot.app import open_core
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.dispatcher import Core
from bot.runtime import Runtime
from storage.models import OutboxMessage
from tests.synapse_server import RegisteredUser, SynapseServer

WAIT = 15.0


@dataclass
class HtmlView:
    """formatted_body as a client shows it: the elements used, their attributes, the text."""

    tags: set[str] = field(default_factory=set)
    attrs: list[tuple[str, str, str | None]] = field(default_factory=list)
    text: str = ""


def html_view(formatted: str) -> HtmlView:
    """Parse formatted_body the way a client would, so tests assert on what members see:
    entities decoded, <br> as a line break, a list item on its own line after "- "."""
    view = HtmlView()
    out: list[str] = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            view.tags.add(tag)
            view.attrs.extend((tag, name, value) for name, value in attrs)
            if tag == "br":
                out.append("\n")
            elif tag == "li":  # a block: on a line of its own (a <br> before it adds none)
                out.append("- " if not out or out[-1].endswith("\n") else "\n- ")

        def handle_data(self, data: str) -> None:
            out.append(data)

    reader = Reader(convert_charrefs=True)
    reader.feed(formatted)
    reader.close()
    view.text = "".join(out)
    return view


@dataclass
class Seen:
    room_id: str
    event: Any

    @property
    def source(self) -> dict[str, Any]:
        return self.event.source

    @property
    def content(self) -> dict[str, Any]:
        return self.event.source.get("content") or {}

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))


@dataclass
class Member:
    """A person in a chat client: syncs, decrypts, accepts the bot's DM invites."""

    hs: SynapseServer
    user: RegisteredUser
    store: Path
    client: AsyncClient = field(init=False)
    seen: list[Seen] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> Member:
        self.store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(self.hs.base_url, self.user.user_id,
                                  device_id=self.user.device_id, store_path=str(self.store),
                                  config=AsyncClientConfig(encryption_enabled=True,
                                                           store_sync_tokens=False))
        self.client.restore_login(self.user.user_id, self.user.device_id,
                                  self.user.access_token)

        async def on_event(room: MatrixRoom, event: Event) -> None:
            self.seen.append(Seen(room.room_id, event))
            self._new.set()

        async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
            if event.state_key == self.user.user_id and event.membership == "invite":
                await self.client.join(room.room_id)

        await self.client.sync(timeout=0, full_state=True)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        self.client.add_event_callback(on_event, Event)  # type: ignore[arg-type]
        self.client.add_event_callback(on_invite, InviteMemberEvent)  # type: ignore[arg-type]
        self._task = asyncio.create_task(self.client.sync_forever(timeout=1000))
        return self

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        await self.client.close()

    @property
    def user_id(self) -> str:
        return self.user.user_id

    async def create_room(self, invite: list[str], *, encrypted: bool,
                          bot_level: tuple[str, int] | None = None,
                          is_direct: bool = False) -> str:
        overrides = None
        if bot_level is not None:
            overrides = {"users": {bot_level[0]: bot_level[1]}}
        resp = await self.client.room_create(
            name=None if is_direct else "circle", invite=invite, is_direct=is_direct,
            preset=RoomPreset.trusted_private_chat if is_direct else None,
            initial_state=[EnableEncryptionBuilder().as_dict()] if encrypted else [],
            power_level_override=overrides)
        assert isinstance(resp, RoomCreateResponse), resp
        await self.wait_for_room(resp.room_id)
        return resp.room_id

    async def wait_for_room(self, room_id: str) -> None:
        deadline = time.monotonic() + WAIT
        while room_id not in self.client.rooms:
            assert time.monotonic() < deadline, f"{self.user_id} never saw {room_id}"
            await asyncio.sleep(0.05)

    async def wait_member(self, room_id: str, user_id: str) -> None:
        """Wait until `user_id` has joined `room_id` (as this member's client sees it)."""
        deadline = time.monotonic() + WAIT
        while True:
            room = self.client.rooms.get(room_id)
            if room is not None and user_id in room.users and user_id not in room.invited_users:
                return
            assert time.monotonic() < deadline, f"{user_id} never joined {room_id}"
            await asyncio.sleep(0.05)

    async def say(self, room_id: str, body: str) -> str:
        resp = await self.client.room_send(room_id, "m.room.message",
                                           {"msgtype": "m.text", "body": body},
                                           ignore_unverified_devices=True)
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        resp = await self.client.room_send(room_id, "m.reaction", {"m.relates_to": {
            "rel_type": "m.annotation", "event_id": event_id, "key": key}},
            ignore_unverified_devices=True)
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def raw_event(self, room_id: str, event_id: str) -> dict[str, Any]:
        """The event as the homeserver stores it (ciphertext in an encrypted room)."""
        path = (f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/event/"
                f"{quote(event_id, safe='')}")
        body: dict[str, Any] = await self.hs.request("GET", path,
                                                     access_token=self.user.access_token)
        return body

    def from_user(self, sender: str, room_id: str | None = None,
                  msgtype: str | None = None) -> list[Seen]:
        return [s for s in self.seen
                if s.source.get("sender") == sender and (room_id is None or s.room_id == room_id)
                and (msgtype is None or s.content.get("msgtype") == msgtype)]

    async def wait_for(self, pred: Callable[[Seen], bool], within: float = WAIT,
                       what: str = "a message") -> Seen:
        deadline = time.monotonic() + within
        while True:
            for s in self.seen:
                if pred(s):
                    return s
            left = deadline - time.monotonic()
            assert left > 0, f"{self.user_id} never saw {what}; saw {self.describe()}"
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), timeout=min(left, 0.5))

    async def reply_to(self, event_id: str, sender: str, within: float = WAIT) -> Seen:
        return await self.wait_for(
            lambda s: s.source.get("sender") == sender and s.content.get(
                "m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == event_id,
            within, f"a reply to {event_id}")

    def describe(self) -> list[str]:
        return [f"{s.source.get('sender')}@{s.room_id[:8]}:{s.source.get('type')}:"
                f"{s.body[:60]!r}" for s in self.seen[-12:]]


@dataclass
class Bot:
    adapter: MatrixAdapter
    core: Core
    stop: asyncio.Event
    task: asyncio.Task[Any]
    halted: bool = False

    async def halt(self) -> None:
        """Stop as a crash would leave things: nothing more is handled or sent. Safe to call
        again (a test's `finally` stops whatever is still running)."""
        if self.halted:
            return
        self.halted = True
        self.stop.set()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(self.task, 20)
        await self.core.db.dispose()

    async def caught_up(self, within: float = WAIT) -> None:
        """Return once a sync that began after this call is handled: whatever the homeserver
        had by now (an invite, say) has been through the bot's sync handling. The sync in
        flight may have been answered just before; the one after it cannot have been."""
        target = self.adapter.syncs + 2
        deadline = time.monotonic() + within
        while self.adapter.syncs < target:
            assert time.monotonic() < deadline, "the bot's sync did not go round"
            await asyncio.sleep(0.05)

    async def settled(self, within: float = WAIT) -> None:
        """Every event the bot had synced by now is handled and its sync token stored (a
        sealed batch is stored once its last event is done), so a restart begins after it."""
        await self.caught_up(within)
        await asyncio.wait_for(self.adapter.dispatcher.idle.wait(), within)


_names = itertools.count()


def unique(name: str) -> str:
    """A user name no other test in this process uses (the Synapse may be shared)."""
    return f"{name}{next(_names)}"


def bot_settings(hs: SynapseServer, bot: RegisteredUser, tmp: Path, **matrix: Any) -> Settings:
    values: dict[str, Any] = {
        "enabled": True, "homeserver": hs.base_url, "user_id": bot.user_id,
        "device_id": bot.device_id, "access_token": bot.access_token,
        "store_path": str(tmp / "store"), "pickle_key": "test-pickle-key",
    }
    values.update(matrix)
    return Settings(database={"url": f"sqlite+aiosqlite:///{tmp / 'bot.db'}"}, matrix=values)


async def start_bot(settings: Settings, *, patch: Callable[[MatrixAdapter], None] | None = None,
                    clock: Clock | None = None, **adapter_kw: Any) -> Bot:
    core = await open_core(settings, clock or SystemClock())
    adapter_kw.setdefault("reconnect_base", 0.3)
    adapter_kw.setdefault("reconnect_max", 2.0)
    adapter_kw.setdefault("sync_timeout_ms", 3000)  # a quick stop; events still wake it at once
    adapter = MatrixAdapter(settings, core, **adapter_kw)
    if patch is not None:
        patch(adapter)
    runtime = Runtime(core, [adapter.deliverer])
    stop = asyncio.Event()
    task = asyncio.create_task(_run_both(runtime, adapter, stop))
    bot = Bot(adapter, core, stop, task)
    ready = asyncio.create_task(adapter.ready.wait())
    try:
        await asyncio.wait([ready, task], timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # surfaces the start-up error
        assert adapter.ready.is_set(), "the bot never finished its first sync"
    except BaseException:
        await bot.halt()  # a bot that failed to start must not run on into the next test
        raise
    finally:
        ready.cancel()
    return bot


async def _run_both(runtime: Runtime, adapter: MatrixAdapter, stop: asyncio.Event) -> None:
    await asyncio.gather(runtime.run(stop), adapter.run(stop))


async def marker(member: Member, room_id: str, bot_id: str, *,
                 seen_by: Sequence[Member] = ()) -> Seen:
    """Say a harmless command and wait until its answer is seen by `member` (and `seen_by`).
    The bot handles a room's events in order, sending each reply before the next event, and a
    client sees a room's events in order: once the answer is in, whatever the bot said in this
    room before it is in too. A check that something did NOT happen waits for this, not for a
    fixed time, which on a slow machine passes without having checked anything."""
    said = await member.say(room_id, "!think")
    answer = await member.reply_to(said, bot_id)
    for observer in (member, *seen_by):
        await observer.wait_for(lambda s: s.source.get("event_id") == answer.source["event_id"],
                                what="the marker's answer")
        # nio takes in a round's key requests after its room events: let the round finish.
        await asyncio.wait_for(observer.client.synced.wait(), WAIT)
    return answer


async def outbox_sent(core: Core, within: float = WAIT) -> None:
    """Wait until every outbox row is sent (or given up): what the core queued so far is out.
    Room posts and DMs leave through the outbox, not in order with replies to commands."""
    deadline = time.monotonic() + within
    while True:
        async with core.db.transaction() as s:
            pending = (await s.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)))).scalar_one()
        if not pending:
            return
        assert time.monotonic() < deadline, f"{pending} outbox message(s) never went out"
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def members(hs: SynapseServer, tmp: Path, *names: str) -> AsyncIterator[list[Member]]:
    started: list[Member] = []
    try:
        for name in names:
            user = await hs.register(name)
            started.append(await Member(hs, user, tmp / f"member-{name}").start())
        yield started
    finally:
        for m in started:
            await m.close()


async def encrypted_circle(founder: Member, bot_id: str,
                           *joiners: Member) -> tuple[str, dict[str, str]]:
    """Riverbend (Europe/Madrid) in an encrypted room the founder makes, the joiners members;
    returns the room and each joiner's direct room with the bot (where its welcome came)."""
    room = await founder.create_room([bot_id, *(m.user_id for m in joiners)], encrypted=True,
                                     bot_level=(bot_id, 50))
    for m in joiners:
        await m.client.join(room)
    for who in (bot_id, *(m.user_id for m in joiners)):
        await founder.wait_member(room, who)
    for member, line in [(founder, "!circle setup name:Riverbend timezone:Europe/Madrid"),
                         *((m, "!join") for m in joiners)]:
        sent = await member.say(room, line)
        await member.reply_to(sent, bot_id)
    dms = {}
    for member in joiners:
        welcome = await member.wait_for(lambda s: s.source.get("sender") == bot_id
                                        and "pact" in s.body.lower(), what="the welcome DM")
        dms[member.user_id] = welcome.room_id
    return room, dms
