"""examples/meetings-month.txt: a circle's month of meetings across the autumn clock change:
every meeting at its wall-clock time, each reminder once (a restart right before one included),
the steward of the term named as facilitator, a cancelled meeting, a nudge in the member's own
hours, and the pulse survey's counts with no names. Run in-process, the hourly housekeeping
firing once per step (what it does is said to no one), so a month takes seconds."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.console import ConsoleSession
from tests.simulation import run_example
from tests.test_cli import ROOT

STARTS = ["2026-10-21T23:00:00Z", "2026-10-30T22:00:00Z", "2026-11-05T00:00:00Z",
          "2026-11-12T00:00:00Z", "2026-11-19T00:00:00Z"]
HOUR_BEFORE = ["2026-10-21T22:00:00Z", "2026-10-30T21:00:00Z", "2026-11-04T23:00:00Z",
               "2026-11-11T23:00:00Z", "2026-11-18T23:00:00Z"]


async def test_a_month_of_meetings(sim: ConsoleSession) -> None:
    sim.clock.set(datetime(2026, 10, 19, 16, tzinfo=UTC))  # type: ignore[attr-defined]
    lines = (ROOT / "examples" / "meetings-month.txt").read_text(encoding="utf-8").splitlines()
    said = [(f"{at:%Y-%m-%dT%H:%M:%SZ}", line) for at, line in await run_example(sim, lines)]
    text = "\n".join(f"{at} {line}" for at, line in said)
    # Every start post at 19:00 (18:00 for newcomers) New York time, before and after the
    # clocks fell back; the cancelled one (28 Oct) never came.
    starts = [at for at, line in said if "the meeting starts now" in line]
    assert starts == STARTS, text
    assert "Wed 28 Oct 19:00" not in "\n".join(line for _, line in said
                                               if "starts now" in line or "meets" in line)
    assert "[room] The meeting on Wed 28 Oct 19:00 (Riverbend circle) is cancelled; the next " \
           "one is Wed 04 Nov 19:00." in text
    # Each reminder once, to the room and to bob by DM; the restart a minute before one
    # changed nothing.
    for who in ("[room]", "[dm @bob]"):
        hour = [at for at, line in said if line.startswith(who) and "meets in an hour" in line]
        assert hour == HOUR_BEFORE, who
    # No one facilitates before the steward role is first filled; then this term's steward.
    assert "No one is named to facilitate" in next(line for _, line in said
                                                   if "starts now (Wed 21 Oct" in line)
    for at, line in said:
        if "starts now" in line and at > "2026-10-26T13:00:00Z":
            steward = _steward_at(said, at)
            assert f"Facilitating today: {steward}." in line, (at, line)
    assert "Round prompt: step 3" in text
    # Bad input said plainly.
    assert '"fortnightly mon 19:00" is not a schedule I can read' in text
    # Scheduling says when the reminders go, in the circle's own setting's words.
    assert "reminders go to the room 24h, 1h before each (remind_before)" in text
    assert '"9" is not an answer to question 2' in text
    assert "You answered question 1 already" in text
    # The survey's counts, no names; carol's nudges in her own hours, once per silence.
    (result,) = [line for _, line in said if "The pulse survey has closed" in line]
    assert "3 answered" in result
    for name in ("alice", "bob", "carol", "dave"):
        assert name not in result
    nudges = [at for at, line in said if line.startswith("[dm @carol]")
              and "since your last check-in" in line]
    assert nudges[0] == "2026-10-26T16:00:00Z"  # 7 days after she opted in
    assert len(nudges) == 2 and nudges[1] > "2026-11-16T"  # a week after her check-in
    assert "Next meeting: Wed 04 Nov 19:00 (America/New_York)" in text
    assert said[-1][1].startswith("[reply @alice] Meetings of Riverbend circle")


def _steward_at(said: list[tuple[str, str]], at: str) -> str:
    """Who the room was last told serves as steward, before `at`."""
    import re

    found = ""
    for when, line in said:
        if when < at and line.startswith("[room] A new term of service begins"):
            m = re.search(r"- steward: (\w+),", line)
            assert m is not None, line
            found = m.group(1)
    return found
