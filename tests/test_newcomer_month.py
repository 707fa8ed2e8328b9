"""The shipped script of a newcomer's first month with a mentor, run in-process (the command line
runs first-week and lifeline-night in tests/test_cli.py), and read for who saw what."""

from __future__ import annotations

from adapters.console import ConsoleSession
from bot.clock import parse_instant
from tests.simulation import run_example
from tests.test_cli import ROOT


async def test_newcomer_month_example(sim: ConsoleSession) -> None:
    # In-process, the hourly housekeeping once per step (it says nothing to anyone).
    sim.clock.set(parse_instant("2026-11-02T09:00:00Z"))  # type: ignore[attr-defined]
    script = (ROOT / "examples" / "newcomer-month.txt").read_text(encoding="utf-8")
    said = await run_example(sim, script.splitlines())
    lines = [f"{at:%Y-%m-%dT%H:%M:%SZ} {line}" for at, line in said]
    text = [line[21:] for line in lines]  # without the instant

    def where(needle: str) -> list[str]:
        return [line.split("]")[0] + "]" for line in text if needle in line]

    # The request reached the two mentors by DM, anonymised; her words went nowhere else.
    asks = [line for line in text if "Mentor request #1 from Riverbend circle" in line]
    assert [a.split("]")[0] for a in asks] == ["[dm @dave", "[dm @erin"]
    assert all("nina" not in a and a.endswith("[actions: mentor accept 1 | mentor pass 1]")
               for a in asks)
    assert where("don't know anyone yet") == ["[dm @dave]", "[dm @erin]"]
    # Introduced: a DM each and a private room for the two of them.
    assert any(line.startswith("[dm @nina] dave said yes to being your mentor") for line in text)
    assert any(line.startswith("[room mentor#1 @nina @dave] A private room") for line in text)
    # The mentor-only check-in reached dave and nobody else.
    assert where("first week at the new job") == ["[dm @dave]"]
    # Her call paged her mentor first.
    assert where("Lifeline page #1")[0] == "[dm @dave]"
    # Nudges in each one's morning (10:00 in Madrid); dave turned his off after the first.
    nudges = [line for line in lines if "talked this week" in line]
    assert [n.split()[2] for n in nudges] == ["@dave]", "@nina]", "@nina]", "@nina]"]
    assert all(n[11:20] == "09:00:00Z" for n in nudges)
    # Two dyad rounds, a trio each time, one DM each.
    assert len([line for line in text if "is a trio this time" in line]) == 6
    # circle info counts, never names.
    info = [line for line in text if line.startswith("[reply @alice] Riverbend circle |")]
    assert info and all("Mentors with room: 2" in i and "dave" not in i for i in info)
    # The end: no fault, her words passed on, nothing invented.
    assert text[-1] == ("[dm @dave] nina has ended your mentor pairing in Riverbend circle. "
                        "That's no-fault; thank you for the time you gave each other. | They "
                        "asked me to pass this on: “thank you, I feel at home now”")
