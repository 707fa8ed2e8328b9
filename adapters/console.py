"""The console adapter: a circle in the terminal, and a scripting surface with a simulated clock.

`@alice> checkin 3 tired` acts as alice in the circle room; `@alice dm> call` acts in her direct
conversation. Every output is one line: `[room] ...`, `[dm @bob] ...`, `[reply @alice] ...`,
`[edit dm @bob] ...`. In a script, `:advance 5m` and `:at <instant>` move the clock and fire
every timer that falls due on the way; `:restart` reloads the bot from the database.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, select

from bot.answer import Action, Attachment
from bot.app import open_core
from bot.clock import Clock, FakeClock, SystemClock, parse_instant
from bot.config import Settings
from bot.dispatcher import Core
from bot.durations import parse_duration
from bot.outbox import OutboxSender, Outgoing
from bot.refs import Place, RoomRef, UserRef
from storage.db import Database
from storage.models import Timer

PLATFORM = "console"
ROOM = RoomRef(PLATFORM, "circle")
# The name is checked by _check_name, so a typo gets a sentence rather than a silent mismatch.
_LINE = re.compile(r"^@([^\s>@]+)(\s+dm)?>\s?(.*)$", re.DOTALL)
NAME_LIMIT = 32
GUEST = "guest"  # who plain lines speak as at the keyboard before any @name>
_NAME_EXTRA = frozenset("_.-\u200d\ufe0e\ufe0f")  # joiners and variation selectors build emoji
# What a terminal acts on rather than shows: C0/C1 controls, line and paragraph separators,
# bidi embeddings, overrides and isolates, and lone surrogates (undecodable input).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                      r"\ud800-\udfff]")
_SHORT = {"\t": r"\t", "\r": r"\r"}
_BREAK = re.compile(r"\r?\n")
# "lines" everywhere; "indented" while an interactive session writes to a terminal.
_LAYOUT: ContextVar[str] = ContextVar("console_layout", default="lines")


class ScriptError(Exception):
    pass


def escape_controls(text: str) -> str:
    """Show control characters as escapes (`\\x1b`, `\\u202e`): text from a member can neither
    forge an output line nor restyle the terminal."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """Each output is one line; a message's own line breaks become ' | '. At an interactive
    terminal they stay line breaks, each following line indented under the first."""
    parts = [escape_controls(part.strip()) for part in _BREAK.split(text)]
    parts = [part for part in parts if part]
    return ("\n    " if _LAYOUT.get() == "indented" else " | ").join(parts)


def _check_name(name: str) -> None:
    def allowed(ch: str) -> bool:
        kind = unicodedata.category(ch)
        return (ch in _NAME_EXTRA or kind[0] in "LMN" or kind in ("So", "Sk")
                or 0xE0020 <= ord(ch) <= 0xE007F)  # tag characters spell region flags

    if len(name) > NAME_LIMIT or not all(allowed(ch) for ch in name):
        raise ScriptError(f'"{escape_controls(name[:40])}" cannot be a name: use letters, '
                          f'digits, emoji, "_", "." or "-", up to {NAME_LIMIT} of them, '
                          'like @alice>')


def save_attachment(attachment: Attachment, files_dir: Path) -> Path:
    """The console shows a file by writing it out and printing where it went."""
    files_dir.mkdir(parents=True, exist_ok=True)
    path = files_dir / Path(attachment.filename).name  # never a path from the core
    path.write_bytes(attachment.data)
    return path


def attachment_line(where: str, attachment: Attachment, files_dir: Path,
                    said: str = "") -> str:
    """`[file: path]`, and its alt text unless the message itself just said it."""
    path = save_attachment(attachment, files_dir)
    alt = "" if attachment.alt.strip() == said.strip() else one_line(attachment.alt)
    return f"{where} [file: {path}] {alt}".rstrip()


class ConsoleDeliverer:
    platform = PLATFORM

    def __init__(self, emit: Callable[[str], None], files_dir: Path) -> None:
        self.emit = emit
        self.files_dir = files_dir

    async def deliver(self, message: Outgoing) -> str:
        if message.kind == "post":
            where = "[room]"
        elif message.kind == "dm":
            where = f"[dm @{message.user_id}]"
        elif message.kind == "room":
            where = f"[{private_room(message)}]"
        else:
            target = message.edit_target
            assert target is not None
            where = ("[edit room]" if target.kind == "post"
                     else f"[edit {private_room(target)}]" if target.kind == "room"
                     else f"[edit dm @{target.user_id}]")
        self.emit(f"{where} {one_line(message.text)}{actions_hint(message.actions)}")
        for attachment in message.attachments:
            self.emit(attachment_line(where, attachment, self.files_dir, message.text))
        return f"console-{message.id}"


def private_room(message: Outgoing) -> str:
    """A private room the bot opened for some members, as `room mentor#4 @nina @dave`."""
    return " ".join(["room", message.room_label, *(f"@{m}" for m in message.room_members)])


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
                 db_factory: Callable[[], Database] | None = None,
                 files_dir: Path | None = None) -> None:
        self.settings = settings
        # Files the bot sends (an export, the health picture) are written here.
        self.files_dir = files_dir or Path(tempfile.gettempdir()) / "peercircle-console"
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
        self.sender = OutboxSender(self.core.db, self.clock,
                                   ConsoleDeliverer(self._emit, self.files_dir))
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
        for attachment in answer.attachments:
            self._emit(attachment_line(where, attachment, self.files_dir, answer.text))
        await self.drain()

    async def advance_to(self, target: datetime) -> None:
        if not isinstance(self.clock, FakeClock):
            raise ScriptError("the clock only moves in a script (--script) or with --clock")
        if target < self.clock.now():
            raise ScriptError(f"{_stamp(target)} is before the current time "
                              f"{_stamp(self.clock.now())}; time only moves forward")
        settled_at: datetime | None = None
        while True:
            ready = await self._next_claimable()
            if ready is None or ready > target:
                break
            if ready > self.clock.now():
                self.clock.set(ready)
            elif settled_at == self.clock.now():
                break  # still held (a live process's row lock): theirs to fire, never spin
            await self.settle()
            settled_at = self.clock.now()
        self.clock.set(target)
        await self.settle()

    async def _next_claimable(self) -> datetime | None:
        """The first instant the due loop could claim a pending timer: its due time, or just
        after the end of a lease someone holds on it (a process killed mid-fire leaves one)."""
        assert self.core is not None
        pending = (Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
        async with self.core.db.transaction() as s:
            free = (await s.execute(select(func.min(Timer.due_at))
                                    .where(*pending, Timer.lease_until.is_(None)))).scalar()
            leased = (await s.execute(select(Timer.due_at, Timer.lease_until)
                                      .where(*pending, Timer.lease_until.is_not(None)))).all()
        # claim_due takes a leased row only once lease_until < now.
        instants = [max(due, until + timedelta(microseconds=1)) for due, until in leased]
        if free is not None:
            instants.append(free)
        return min(instants, default=None)

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
            _check_name(m.group(1))
            self.last_actor = Actor(m.group(1), bool(m.group(2)))
            text = m.group(3)
        elif self.interactive:
            # At the keyboard: keep speaking as the last actor; `help` just works at first.
            self.last_actor = self.last_actor or Actor(GUEST, False)
            text = stripped
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
            try:
                delta = parse_duration(rest)
                target = None if delta is None else self.clock.now() + delta
            except OverflowError:
                raise ScriptError(f'"{escape_controls(line[:60])}" is too far ahead: the clock '
                                  'stops at the end of the year 9999; try something like 2d '
                                  'or 365d') from None
            if target is None:
                raise ScriptError(f'":advance" needs a duration like 90s, 5m, 1h30m or 2d, '
                                  f'not "{escape_controls(rest[:40])}"')
            await self.advance_to(target)
        elif word == ":at":
            try:
                target = parse_instant(rest)
            except ValueError:
                raise ScriptError(f'":at" needs an instant like 2026-11-23T09:00:00Z, '
                                  f'not "{escape_controls(rest[:40])}"') from None
            await self.advance_to(target)
        elif word == ":restart":
            if rest:
                raise ScriptError('":restart" takes nothing after it')
            await self.restart()
        else:
            raise ScriptError(f'unknown directive "{escape_controls(word[:20])}"; '
                              'use :advance, :at or :restart')


def _stamp(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


async def run_script(settings: Settings, lines: Sequence[str | bytes], *, clock: Clock,
                     show_time: bool, out: TextIO, err: TextIO) -> int:
    """Run lines (bytes are decoded one by one, so a bad line is reported by its number and the
    script carries on); returns 1 when any line was refused."""
    session = ConsoleSession(settings, clock, show_time=show_time, out=out)
    await session.start()
    failures = 0
    try:
        for number, line in enumerate(lines, start=1):
            try:
                await session.run_line(_decoded(line, first=number == 1))
            except ScriptError as exc:
                failures += 1
                print(f"error: line {number}: {exc}", file=err, flush=True)
    finally:
        await session.close()
    return 1 if failures else 0


def _decoded(line: str | bytes, *, first: bool = False) -> str:
    if isinstance(line, str):
        text = line
    else:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScriptError(f"this line is not UTF-8 text (byte 0x{line[exc.start]:02x} at "
                              f"position {exc.start + 1}); save the script as UTF-8") from None
    if any("\ud800" <= ch <= "\udfff" for ch in text):  # a keyboard read with surrogateescape
        raise ScriptError("this line is not UTF-8 text; set the terminal to UTF-8")
    return text.removeprefix("\ufeff") if first else text  # an editor's byte-order mark


BANNER = """peercircle console: a circle in your terminal (database: {db}).
Type help to see what the bot can do. Start a line with @name> to speak as that member in
the circle room, or @name dm> in their direct conversation; later lines go on as them
(before any, as guest):
    @alice> circle setup name:"Riverbend" timezone:Europe/Berlin
    @bob> join
    @bob dm> checkins week
:restart reloads from the database; Ctrl-D quits."""


class _Keyboard:
    """Reads one line at a time in a daemon thread, so Ctrl-C never waits for Enter. At a
    terminal it reads through input() with readline: arrow keys edit, up recalls."""

    def __init__(self, stdin: TextIO, *, edit: bool) -> None:
        self.stdin = stdin
        self.edit = edit
        self._saved: Any = None
        if edit:
            import readline  # noqa: F401  -- importing it is what gives input() line editing
            import termios

            try:  # readline changes the terminal's modes; put them back however we stop
                self._saved = termios.tcgetattr(stdin.fileno())
            except (termios.error, OSError, ValueError):
                self._saved = None

    async def read(self, prompt: str) -> str | None:
        """The next line, or None at the end of input."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()

        def deliver(line: str | None) -> None:
            if not done.done():
                done.set_result(line)

        def work() -> None:
            line: str | None
            try:
                line = input(prompt) if self.edit else (self.stdin.readline() or None)
            except EOFError:
                line = None
            try:
                loop.call_soon_threadsafe(deliver, line)
            except RuntimeError:
                pass  # the session ended (Ctrl-C) while this line was being typed

        threading.Thread(target=work, name="console-keyboard", daemon=True).start()
        return await done

    def close(self) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stdin.fileno(), termios.TCSADRAIN, self._saved)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _prompt(session: ConsoleSession) -> str:
    actor = session.last_actor or Actor(GUEST, False)
    return f"@{actor.name}{' dm' if actor.direct else ''}> "


async def run_interactive(settings: Settings, db_path: str, stdin: TextIO, out: TextIO,
                          clock: Clock | None = None) -> int:
    """The keyboard session; with a FakeClock (--clock) time moves only on :advance and :at."""
    at_terminal = _isatty(out)
    # input() prompts on sys.stdout and reads sys.stdin: line editing only for those.
    edit = at_terminal and stdin is sys.stdin and out is sys.stdout and _isatty(stdin)
    layout = _LAYOUT.set("indented" if at_terminal else "lines")
    keyboard = _Keyboard(stdin, edit=edit)
    session = ConsoleSession(settings, clock or SystemClock(), out=out)
    session.interactive = True
    stop = asyncio.Event()

    async def tick() -> None:  # timers fall due while you type
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except TimeoutError:
                await session.settle()

    ticker: asyncio.Task[None] | None = None
    try:
        await session.start()
        print(BANNER.format(db=db_path), file=out, flush=True)
        ticker = asyncio.create_task(tick())
        while True:
            line = await keyboard.read(_prompt(session) if edit else "")
            if line is None:
                break
            try:
                await session.run_line(_decoded(line))
            except ScriptError as exc:
                print(f"error: {exc}", file=out, flush=True)
    finally:
        stop.set()
        if ticker is not None:
            await ticker
        await session.close()
        keyboard.close()
        _LAYOUT.reset(layout)
    return 0


def clock_for(text: str | None) -> Clock:
    return FakeClock(parse_instant(text)) if text else SystemClock()
