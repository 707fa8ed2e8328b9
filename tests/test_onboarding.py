"""Onboarding follow-ups are timers: they survive restarts, arrive once, and can be declined."""

from __future__ import annotations

from adapters.console import ConsoleSession
from bot.clock import FakeClock
from tests.conftest import run_lines
from tests.simulation import fast_lines

DAY3 = "How are the first days going?"
DAY7 = "A week in Riverbend"


def count(lines: list[str], needle: str, who: str = "bob") -> int:
    return sum(1 for line in lines if line.startswith(f"[dm @{who}]") and needle in line)


async def test_restart_mid_onboarding_delivers_day3_once(console: ConsoleSession) -> None:
    said = await fast_lines(console, """
@alice> circle setup name:Riverbend timezone:Europe/Berlin
@bob> join
:advance 2d
:restart
:advance 23h
""")
    assert count(said, "Welcome to Riverbend. Everything here is an offer") == 1
    assert count(said, DAY3) == 0
    said = await run_lines(console, """
:advance 59m
:restart
:advance 2m
:restart
:advance 1d
""")
    assert count(said, DAY3) == 1
    said = await run_lines(console, ":advance 4d\n:restart\n:advance 4d")
    assert count(said, DAY3) == 0 and count(said, DAY7) == 1


async def test_timer_overdue_at_startup_fires_at_once(console: ConsoleSession,
                                                      clock: FakeClock) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin\n"
                             "@bob> join")
    console.take()
    await console.close()
    # The bot was down for four days: the day-3 follow-up is overdue, so it is due now.
    from datetime import timedelta

    clock.advance(timedelta(days=4))
    await console.start()
    assert count(console.take(), DAY3) == 1


async def test_followups_off_and_leaving_stop_them(console: ConsoleSession) -> None:
    said = await fast_lines(console, """
@alice> circle setup name:Riverbend timezone:Europe/Berlin
@bob> join
@carol> join
@bob dm> followups off
@carol> leave
:advance 8d
""")
    assert "[reply @bob] No more follow-up messages from Riverbend." in said
    assert count(said, DAY3) == 0 and count(said, DAY7) == 0
    assert count(said, DAY3, "carol") == 0 and count(said, DAY7, "carol") == 0
