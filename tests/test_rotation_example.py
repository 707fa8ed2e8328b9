"""examples/rotation-three-months.txt: a circle's first three months of service roles, every
term turning at 09:00 in Berlin, once, restart included. Run in-process, the hourly
housekeeping firing once per step (it says nothing to anyone), so three months take seconds;
the command line runs first-week and lifeline-night in tests/test_cli.py."""

from __future__ import annotations

import re

import pytest

from adapters.console import ConsoleSession
from bot.clock import parse_instant
from tests.simulation import run_example
from tests.test_cli import ROOT

TERMS = ["2026-12-07", "2026-12-21", "2027-01-04", "2027-01-18", "2027-02-01", "2027-02-15"]


# The shipped script's draws name people; ties are drawn from a seed of member ids, which
# PostgreSQL's sequences hand out differently (an INSERT ... ON CONFLICT DO NOTHING uses one
# up), so the names are SQLite's, as `peercircle console` would print them. The rules
# themselves run on both in tests/test_rotation*.py.
@pytest.mark.parametrize("db_spec", ["sqlite"], indirect=True)
async def test_three_months_of_rotation(sim: ConsoleSession) -> None:
    sim.clock.set(parse_instant("2026-11-22T18:00:00Z"))  # type: ignore[attr-defined]
    script = (ROOT / "examples" / "rotation-three-months.txt").read_text(encoding="utf-8")
    said = await run_example(sim, script.splitlines())
    lines = [f"{at:%Y-%m-%dT%H:%M:%SZ} {line}" for at, line in said]
    text = "\n".join(lines)
    # Every term turned once, at 09:00 Berlin time, the one after the restart included.
    turns = [line for line in lines if "[room] A new term of service begins" in line]
    assert [line[:20] for line in turns] == [f"{day}T08:00:00Z" for day in TERMS]
    # The first holders were drawn a week ahead and told, in their waking hours.
    assert "2026-11-30T08:00:00Z [room] Service roles in Riverbend circle: the first holders" \
        in text
    # The founder was steward until the first term; then only the steward of the term is.
    assert "2026-12-07T18:00:00Z [reply @alice] Only a steward can use circle settings" in text
    assert re.search(r"2026-12-07T18:00:00Z \[reply @dave\] Changed: step_of_week", text)
    # Newcomers wait their newcomer days: the scribe seat stayed open, then was filled.
    assert "[room] scribe: alice takes the open seat for the rest of this term." in text
    # Erin's pause passed her turn at once, and nothing reached her as a holder meanwhile.
    assert "[room] steward, next term (from Mon 21 Dec 09:00): carol, in place of erin." in text
    paused = [line for line in lines if "2026-12-07T18" <= line[:13] < "2026-12-28"
              and line[21:].startswith("[dm @erin]")]
    assert paused == []
    # A swap, a skip and a member leaving: each seat filled again at once, and the room told.
    assert "[room] finn and dave swapped roles for the rest of this term" in text
    assert "[room] greeter: dave serves the rest of this term, in place of carol." in text
    assert "[room] timekeeper: dave serves the rest of this term, in place of finn." in text
    # The balance names no one; each member's own service goes to them alone.
    balance = next(line for line in lines if "[reply @alice] Service in Riverbend" in line)
    assert "% even across the 6 members who can serve now" in balance
    for name in ("bob", "carol", "dave", "erin", "gil", "finn"):
        assert name not in balance
    assert "[dm @alice] Your service in Riverbend circle, last 12 months: " in text
