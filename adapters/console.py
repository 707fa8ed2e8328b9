"""The console adapter: a circle in the terminal, and a scripting surface with a simulated clock.

`@alice> checkin 3 tired` acts as alice in the circle room; `@alice dm> call` acts in her direct
conversation. Every output is one line: `[room] ...`, `[dm @bob] ...`, `[reply @alice] ...`,
`[edit dm @bob] ...`. In a script, `:advance 5m` and `:at <instant>` move the clock and fire
every timer that falls due on the way; `:restart` reloads the bot from the database.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from bot.answer import Action
from bot.app import open_core
from bot.clock import Clock, FakeClock, SystemClock, parse_instant
from bot.config import Settings
from bot.dispatcher import Core
from bot.durations import parse_duration
from bot.outbox import OutboxSender, Outgoing
from bot.refs import Place, RoomRef, UserRef
from storage.db import Database

PLATFORM = "console"
ROOM = RoomRef(PLATFORM, "circle")
_LINE = re.compile(r"^@([A-Za-z0-9_.\-]{1,32})(\s+dm)?>\s?(.*)$", re.DOTALL)


class ScriptError(Exception):
    pass


def one_line(text: str) -> str:
    """Each output is one line; a message's own line breaks become ' | '."""
    return " | ".join(part.strip() for part in text.splitlines() if part.strip())


class ConsoleDeliverer:
    platform = PLATFORM

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit

    async def deliver(self, message: Outgoing) -> str:
        if message.kind == "post":
            where = "[room]"
        elif message.kind == "dm":
            where = f"[dm @{message.user_id}]"
        else:
            target = message.edit_target
            assert target is not None
            where = "[edit room]" if target.kind == "post" else f"[edit dm @{target.user_id}]"
        self.emit(f"{where} {one_line(message.text)}{actions_hint(message.actions)}")
        for attachment in message.attachments:
            self.emit(f"{where} [attachment: {attachment.filename}] {one_line(attachment.alt)}")
        return f"console-{message.id}"


def actions_hint(actions: tuple[Action, ...]) -> str:
    """A message's actions, as the words a member types to press them."""
    if not actions:
        return ""
    return " [actions: " + " | ".join(a.line() for a in actions) + "]"


@dataclass
class Actor:
    name: str
    direct: bool


class ConsoleSession:
    """Drives a core like a platform would; pushes lines in, collects what the bot said."""

    def __init__(self, settings: Settings, clock: Clock, *, show_time: bool = False,
                 out: TextIO | None = None,
                 db_factory: Callable[[], Database] | None = None) -> None:
        self.settings = settings
        self.db_factory = db_factory
        self.clock = clock
        self.show_time = show_time
        self.out = out
        self.lines: list[str] = []
        self.core: Core | None = None
        self.sender: OutboxSender | None = None
        self.last_actor: Actor | None = None
        self.interactive = False

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        db = self.db_factory() if self.db_factory is not None else None
        self.core = await open_core(self.settings, self.clock, db=db)
        self.sender = OutboxSender(self.core.db, self.clock, ConsoleDeliverer(self._emit))
        await self.settle()  # an overdue timer at start-up is handled at once

    async def close(self) -> None:
        if self.core is not None:
            await self.core.db.dispose()
            self.core = None

    async def restart(self) -> None:
        """As a crash would: drop everything in memory and start again from the database."""
        await self.close()
        await self.start()

    # -- output -----------------------------------------------------------------------------
    def _emit(self, line: str) -> None:
        if self.show_time:
            line = f"{_stamp(self.clock.now())} {line}"
        self.lines.append(line)
        if self.out is not None:
            print(line, file=self.out, flush=True)

    def take(self) -> list[str]:
        """Pop what the bot has said since the last call."""
        said, self.lines = self.lines, []
        return said

    async def drain(self) -> None:
        assert self.sender is not None
        await self.sender.drain()

    async def settle(self) -> None:
        """Fire whatever is due now and deliver what that wrote."""
        assert self.core is not None
        await self.core.fire_due()
        await self.drain()

    # -- input ------------------------------------------------------------------------------
    async def say(self, name: str, text: str, *, direct: bool = False,
                  admin: bool = False) -> None:
        assert self.core is not None
        actor = UserRef(PLATFORM, name, name)
        place = Place.direct() if direct else Place(ROOM, actor_is_room_admin=admin)
        answer = await self.core.handle_text(text, actor, place)
        # The output tells the truth about who sees what: a private answer to a line typed
        # in the room goes to the member's direct conversation.
        where = f"[dm @{name}]" if answer.private and not direct else f"[reply @{name}]"
        self._emit(f"{where} {one_line(answer.text)}{actions_hint(answer.actions)}")
        await self.drain()

    async def advance_to(self, target: datetime) -> None:
        if not isinstance(self.clock, FakeClock):
            raise ScriptError("the clock only moves in a script (--script) or with --clock")
        if target < self.clock.now():
            raise ScriptError(f"{_stamp(target)} is before the current time "
                              f"{_stamp(self.clock.now())}; time only moves forward")
        assert self.core is not None
        while True:
            due = await self.core.next_due_at()
            if due is None or due > target:
                break
            if due > self.clock.now():
                self.clock.set(due)
            await self.settle()
        self.clock.set(target)
        await self.settle()

    async def run_line(self, raw: str) -> None:
        """One script or interactive line; raises ScriptError with why when it does not parse."""
        line = raw.rstrip("\n")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return
        if stripped.startswith(":"):
            await self._directive(stripped)
            return
        m = _LINE.match(stripped)
        if m:
            self.last_actor = Actor(m.group(1), bool(m.group(2)))
            text = m.group(3)
        elif self.last_actor is not None and self.interactive:
            text = stripped  # at the keyboard: keep speaking as the last actor
        else:
            raise ScriptError('expected "@name> command", "@name dm> command", ":advance 5m", '
                              '":at 2026-11-23T09:00:00Z", ":restart" or "# comment"')
        if not text.strip():
            raise ScriptError("there is no command after the prompt")
        await self.say(self.last_actor.name, text, direct=self.last_actor.direct)

    async def _directive(self, line: str) -> None:
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if word == ":advance":
            delta = parse_duration(rest)
            if delta is None:
                raise ScriptError(f'":advance" needs a duration like 90s, 5m, 1h30m or 2d, '
                                  f'not "{rest[:40]}"')
            await self.advance_to(self.clock.now() + delta)
        elif word == ":at":
            try:
                target = parse_instant(rest)
            except ValueError:
                raise ScriptError(f'":at" needs an instant like 2026-11-23T09:00:00Z, '
                                  f'not "{rest[:40]}"') from None
            await self.advance_to(target)
        elif word == ":restart":
            if rest:
                raise ScriptError('":restart" takes nothing after it')
            await self.restart()
        else:
            raise ScriptError(f'unknown directive "{word[:20]}"; use :advance, :at or :restart')


def _stamp(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


async def run_script(settings: Settings, lines: list[str], *, clock: Clock,
                     show_time: bool, out: TextIO, err: TextIO) -> int:
    session = ConsoleSession(settings, clock, show_time=show_time, out=out)
    await session.start()
    failures = 0
    try:
        for number, line in enumerate(lines, start=1):
            try:
                await session.run_line(line)
            except ScriptError as exc:
                failures += 1
                print(f"error: line {number}: {exc}", file=err, flush=True)
    finally:
        await session.close()
    return 1 if failures else 0


BANNER = """peercircle console: a circle in your terminal (database: {db}).
Type lines as a member:  @alice> circle setup name:"Riverbend" timezone:Europe/Berlin
                         @alice> checkin 3 tired but here
                         @bob dm> checkins week        (in bob's direct conversation)
After the first @name>, plain lines go on as that member. :restart reloads; Ctrl-D quits."""


async def run_interactive(settings: Settings, db_path: str, stdin: TextIO,
                          out: TextIO) -> int:
    clock = SystemClock()
    session = ConsoleSession(settings, clock, out=out)
    session.interactive = True
    await session.start()
    print(BANNER.format(db=db_path), file=out, flush=True)
    stop = asyncio.Event()

    async def tick() -> None:  # timers fall due while you type
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except TimeoutError:
                await session.settle()

    ticker = asyncio.create_task(tick())
    try:
        while True:
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            try:
                await session.run_line(line)
            except ScriptError as exc:
                print(f"error: {exc}", file=out, flush=True)
    finally:
        stop.set()
        await ticker
        await session.close()
    return 0


def clock_for(text: str | None) -> Clock:
    return FakeClock(parse_instant(text)) if text else SystemClock()
