"""A circle's first steps through the console, asserting on what each member sees."""

from __future__ import annotations

from sqlalchemy import func, select

from adapters.console import ConsoleSession
from bot.features.checkins.models import Checkin
from storage.models import Member
from tests.conftest import run_lines

SETUP = """
@alice> circle setup name:"Riverbend circle" timezone:Europe/Berlin
@bob> join
@carol> join
"""

CHECKINS = """
@alice> checkin 3 tired but here
@bob> checkin 4 visibility:private slept badly, dreamt of the action
@carol> checkin 2 anonymous:yes rough week at the camp
@bob dm> checkin mood:5 visibility:mentor "told my sister"
@carol> checkin good visibility:circle "the kitchen crew held me"
"""


def replies_to(lines: list[str], name: str) -> list[str]:
    return [line for line in lines if line.startswith(f"[reply @{name}]")]


async def test_each_member_sees_only_what_visibility_allows(console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    said = await run_lines(console, CHECKINS)
    room = [line for line in said if line.startswith("[room]")]
    assert room == [
        "[room] alice checked in: 3/5 — tired but here",
        "[room] someone checked in: 2/5 — rough week at the camp",
        "[room] carol checked in: 4/5 — the kitchen crew held me",
    ]
    assert not any("slept badly" in line or "told my sister" in line for line in room)

    alice = await run_lines(console, "@alice> checkins")
    bob = await run_lines(console, "@bob dm> checkins week")
    carol = await run_lines(console, "@carol> checkins today")
    # Private and mentor-only check-ins never reach another member.
    for line in alice + carol:
        assert "slept badly" not in line and "told my sister" not in line
    # The author sees their own, marked.
    assert "slept badly, dreamt of the action (private)" in bob[0]
    assert "told my sister (for your mentor)" in bob[0]
    # The anonymous check-in never names carol to others; carol sees it as hers.
    assert "someone: 2/5 — rough week at the camp" in alice[0]
    assert "someone: 2/5 — rough week at the camp" in bob[0]
    for line in alice + bob:
        assert "carol: 2/5" not in line
    assert "you: 2/5 — rough week at the camp (anonymous)" in carol[0]


async def test_leaving_keeps_only_anonymous_aggregates(console: ConsoleSession) -> None:
    await run_lines(console, SETUP + CHECKINS)
    said = await run_lines(console, "@bob> leave")
    assert said[0].startswith("[reply @bob] You've left Riverbend circle")
    async with console.core.db.transaction() as s:  # type: ignore[union-attr]
        rows = (await s.execute(select(Checkin).order_by(Checkin.id))).scalars().all()
        members = (await s.execute(select(func.count()).select_from(Member))).scalar_one()
    assert members == 2
    bobs = [c for c in rows if c.mood in (4, 5) and c.visibility != "circle"]
    assert len(bobs) == 2 and all(c.member_id is None and c.note is None for c in bobs)
    after = await run_lines(console, "@alice> checkins")
    assert "slept" not in after[0]


async def test_pact_is_an_offer_and_stewards_edit_it(console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    shown = await run_lines(console, "@bob> pact")
    assert "We speak for ourselves" in shown[0] and "never required" in shown[0]
    assert "Thank you" in (await run_lines(console, "@bob> pact accept"))[0]
    refused = await run_lines(console, '@bob> pact edit "we bring snacks"')
    assert refused == ["[reply @bob] Only a steward can use pact edit; ask your circle's "
                       "steward."]
    edited = await run_lines(console, '@alice> pact edit "We listen. We bring snacks."')
    assert edited[-1] == "[room] The circle's pact has been updated; type pact to read it."
    assert "We listen. We bring snacks." in (await run_lines(console, "@carol> pact"))[0]


async def test_circle_info_and_settings(console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    info = (await run_lines(console, "@bob> circle"))[0]
    assert "Riverbend circle | timezone: Europe/Berlin | language: en" in info
    assert "Members: 3" in info and "Steward: alice" in info
    changed = await run_lines(
        console, '@alice> circle settings timezone:america/new_york retention_days:30 '
                 'crisis_resources:"Call 988 (US); Samaritans 116 123 (UK)"')
    assert "Changed: timezone, retention_days, crisis_resources." in changed[0]
    assert "timezone: America/New_York" in changed[0]
    assert "crisis_resources: Call 988 (US); Samaritans 116 123 (UK)" in changed[0]
    # A setting whose name holds digits is a name too, not the start of a note.
    changed = await run_lines(console, "@alice> circle settings pages_per_15_minutes:5")
    assert "Changed: pages_per_15_minutes." in changed[0], changed
    # A platform admin of the room is a steward too.
    await console.say("dana", "circle settings step_of_week:4", admin=True)
    assert "Changed: step_of_week." in console.take()[0]
    step = await run_lines(console, "@bob> step")
    assert step[0].startswith("[reply @bob] Step of the week, 4: We take an honest inventory")


async def test_help_step_think(console: ConsoleSession) -> None:
    said = await run_lines(console, "@zoe dm> help")
    assert "checkin [mood] [note] [visibility:circle|mentor|private]" in said[0]
    said = await run_lines(console, "@zoe dm> help circle setup")
    assert "circle setup <name> <timezone> — start a circle in this room" in said[0]
    said = await run_lines(console, "@zoe dm> step 12")
    assert said[0].startswith("[reply @zoe] Step 12: We carry this forward")
    said = await run_lines(console, "@zoe dm> think")
    assert "True? Helpful? Inspiring? Necessary? Kind?" in said[0]


async def test_checkin_notes_are_deleted_after_the_retention_period(
        console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@alice> circle settings retention_days:2\n"
                    "@bob> checkin 3 a heavy day")
    await run_lines(console, ":advance 1d")
    assert "a heavy day" in (await run_lines(console, "@bob> checkins week"))[0]
    await run_lines(console, ":advance 2d")
    seen = (await run_lines(console, "@bob> checkins week"))[0]
    assert "a heavy day" not in seen and "you: 3/5" in seen
