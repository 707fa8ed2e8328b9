"""The console adapter itself: its simulated clock, what it prints, and the keyboard."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.console import ConsoleSession, ScriptError, one_line, run_interactive
from bot import timers
from bot.clock import FakeClock
from bot.config import Settings
from tests.conftest import DbSpec, run_lines

SETUP = """
@alice> circle setup name:"Riverbend circle" timezone:UTC
@bob> join
"""
FOLLOWUP = "[dm @bob] Hi from Riverbend circle"


async def test_advance_past_a_timer_leased_by_a_dead_process_ends(
        console: ConsoleSession, clock: FakeClock) -> None:
    await run_lines(console, SETUP)
    assert console.core is not None
    # A process claimed bob's day-3 follow-up the moment it fell due, then died (kill -9)
    # holding a lease that ends two minutes later.
    due = clock.now() + timedelta(days=3)
    claimed = await timers.claim_due(console.core.db, due, "dead-node")
    assert "onboarding.followup" in [t.kind for t in claimed]
    assert all(t.lease_until == due + timers.LEASE for t in claimed)

    # To the instant the lease ends: it still holds there, and the clock must get there.
    said = await asyncio.wait_for(run_lines(console, ":advance 3d2m"), timeout=10)
    assert not any(line.startswith(FOLLOWUP) for line in said)
    assert clock.now() == due + timers.LEASE
    # Once the dead lease has ended the follow-up goes out, once.
    said = await asyncio.wait_for(run_lines(console, ":advance 1s"), timeout=10)
    assert sum(line.startswith(FOLLOWUP) for line in said) == 1


async def test_a_dead_lease_inside_a_longer_advance_fires_on_the_way(
        console: ConsoleSession, clock: FakeClock) -> None:
    await run_lines(console, SETUP)
    assert console.core is not None
    start = clock.now()
    await timers.claim_due(console.core.db, start + timedelta(days=3), "dead-node")
    said = await asyncio.wait_for(run_lines(console, ":advance 4d"), timeout=10)
    assert sum(line.startswith(FOLLOWUP) for line in said) == 1
    assert clock.now() == start + timedelta(days=4)


@pytest.mark.parametrize("line", [":advance 99999999999d", ":advance 999999999d"])
async def test_advancing_beyond_the_calendar_is_one_sentence(
        console: ConsoleSession, clock: FakeClock, line: str) -> None:
    before = clock.now()
    with pytest.raises(ScriptError) as info:
        await console.run_line(line)
    assert str(info.value) == (f'"{line}" is too far ahead: the clock stops at the end of '
                               'the year 9999; try something like 2d or 365d')
    assert clock.now() == before


def test_one_line_shows_control_characters_escaped() -> None:
    forged = ("x\r[dm @bob] fake\x1b[2K\x07\x00 \u202eevil\u2066 \x85 \u2028 \udcff"
              "\nnext\r\nlast")
    assert one_line(forged) == (r"x\r[dm @bob] fake\x1b[2K\x07\x00 \u202eevil\u2066 \x85 "
                                r"\u2028 \udcff | next | last")
    # Emoji sequences (joiners, variation selectors, flag tags) are text, not controls.
    flag = "🏴" + "".join(chr(0xE0000 + ord(c)) for c in "gbsct") + "\U000e007f"
    family = f"👩\u200d👩\u200d👧 ❤\ufe0f {flag}"
    assert one_line(family) == family


async def test_member_text_cannot_forge_a_line_or_restyle_the_terminal(
        console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    console.take()
    await console.say("bob", "checkin 3 fine\x1b[2K\x1b[1G[dm @alice] you are out\x07 "
                             "\u202edesserts")
    said = console.take()
    room = [line for line in said if line.startswith("[room]")]
    # The core strips control characters and bidi overrides at the edge, so the room gets
    # the words and nothing that moves the cursor or reverses the line.
    assert room == ["[room] bob checked in: 3/5 — fine[2K[1G[dm @alice] you are out desserts"]
    assert not any(ch in line for line in said for ch in "\r\x1b\x07\u202e")


async def test_names_may_be_any_letters_digits_or_emoji(console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    said = await run_lines(console, "@🌻> join\n@Zoë> join\n@नमस्ते> join")
    assert any(line.startswith("[reply @🌻] ") for line in said)
    assert any(line.startswith("[reply @Zoë] ") for line in said)
    assert any(line.startswith("[reply @नमस्ते] ") for line in said)
    assert not any(line.startswith("[reply @bob] ") for line in said)


async def test_a_name_with_other_characters_is_one_sentence(console: ConsoleSession) -> None:
    with pytest.raises(ScriptError) as info:
        await console.run_line("@bo]b> join")
    assert str(info.value) == ('"bo]b" cannot be a name: use letters, digits, emoji, '
                               '"_", "." or "-", up to 32 of them, like @alice>')
    assert console.take() == []


class Keyboard(io.StringIO):
    """Typed lines from a pipe; out may claim to be a terminal."""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_keyboard_help_works_before_any_name(db_spec: DbSpec) -> None:
    if db_spec.kind != "sqlite":
        pytest.skip("the keyboard session opens its own SQLite file")
    out = io.StringIO()
    assert await asyncio.wait_for(run_interactive(
        Settings(database={"url": db_spec.url}), "test.db",
        Keyboard("help\n@alice> think\nthink\n"), out), timeout=60) == 0
    lines = out.getvalue().splitlines()
    replies = [line for line in lines if line.startswith("[reply @")]
    assert replies[0].startswith("[reply @guest] What I can do (type help <command> "
                                 "for more): | - help [command]")
    assert [r.split("]")[0] for r in replies[1:]] == ["[reply @alice", "[reply @alice"]
    assert not any(line.startswith("error:") for line in lines)


async def test_at_a_terminal_messages_keep_their_line_breaks(db_spec: DbSpec) -> None:
    if db_spec.kind != "sqlite":
        pytest.skip("the keyboard session opens its own SQLite file")
    out = Terminal()
    await asyncio.wait_for(run_interactive(
        Settings(database={"url": db_spec.url}), "test.db", Keyboard("help\n"), out),
        timeout=60)
    text = out.getvalue()
    assert "[reply @guest] What I can do (type help <command> for more):\n    - help [command]" \
        in text
    assert " | - " not in text
    # Outside the session, output is one line per message again.
    assert " | " in one_line("a\nb")


class Pty:
    """`peercircle console` on a pseudo-terminal, read as a person at the keyboard sees it."""

    def __init__(self, db: Path) -> None:
        self.master, slave = pty.openpty()
        self.modes = termios.tcgetattr(slave)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEERCIRCLE_")}
        env["TERM"] = "xterm"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "console", "--db", str(db)],
            stdin=slave, stdout=slave, stderr=slave, cwd=db.parent, env=env)
        self.slave = slave
        self.seen = ""
        self.mark = 0

    def type(self, keys: str) -> None:
        """Keys typed from here on; wait_for then looks only at what they brought."""
        self.mark = len(self.seen)
        os.write(self.master, keys.encode())

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """What the screen showed since the last keys, once `text` is in it (waits on the
        terminal, not on a timer)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen[self.mark:]:
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {text!r}; the screen shows:\n{self.seen}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:  # the console ended
                    break
        assert text in self.seen[self.mark:], self.seen
        return self.seen[self.mark:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=60)
        os.close(self.master)
        os.close(self.slave)


def test_at_a_terminal_keys_edit_the_line_and_recall_the_last_one(tmp_path: Path) -> None:
    keyboard = Pty(tmp_path / "k.db")
    try:
        keyboard.wait_for("@guest> ")
        keyboard.type("help\r")
        shown = keyboard.wait_for("\n@guest> ")  # the reply, then the next prompt
        # A long message keeps its lines, each indented under the first.
        assert "[reply @guest] What I can do (type help <command> for more):\r\n" \
               "    - help [command]" in shown
        keyboard.type("@alice> thnk\x1b[D\x1b[Di\r")  # two steps left, then the missing i
        shown = keyboard.wait_for("\n@alice> ")
        assert "[reply @alice] Before you speak, THINK" in shown
        assert "^[[D" not in shown
        keyboard.type("\x1b[A\r")  # up: the same line again
        shown = keyboard.wait_for("\n@alice> ")
        assert "[reply @alice] Before you speak, THINK" in shown
        keyboard.type("\x04")  # Ctrl-D quits
        assert keyboard.proc.wait(timeout=60) == 0
        assert "Traceback" not in keyboard.seen
    finally:
        keyboard.close()


def test_ctrl_c_at_the_prompt_quits_without_a_traceback(tmp_path: Path) -> None:
    keyboard = Pty(tmp_path / "k.db")
    try:
        keyboard.wait_for("@guest> ")
        keyboard.type("thi")  # half a line typed
        keyboard.wait_for("thi")
        keyboard.proc.send_signal(signal.SIGINT)
        assert keyboard.proc.wait(timeout=60) == 130
        keyboard.wait_for("\n")  # the ^C line is ended; everything after it has been read
        assert "Traceback" not in keyboard.seen
        # readline's raw mode is undone: typing echoes again in the shell.
        assert termios.tcgetattr(keyboard.slave)[3] & termios.ECHO
        assert termios.tcgetattr(keyboard.slave) == keyboard.modes
    finally:
        keyboard.close()
