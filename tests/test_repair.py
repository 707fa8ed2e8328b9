"""Repair end to end through the console: the requester is told who will hear it before
anything is sent; exactly the current repair team (minus the member it is about) is convened;
the subject receives nothing; after the close the note is in no table, the outbox included."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from adapters.console import ConsoleSession
from bot.clock import FakeClock
from bot.features.repair.models import RepairRequest, RepairTeamSeat
from bot.refs import Place
from storage.models import Base, OutboxMessage
from tests.conftest import DbSpec, run_lines
from tests.rotation_helpers import NAMES, SIX_WEEKLY, holding
from tests.test_lifeline_races import cores, who

SETUP = SIX_WEEKLY + "@alice> roles rotate repair team\n"
NOTE = "the thing said at the last meeting hurt me"


async def team_now(console: ConsoleSession) -> list[str]:
    await run_lines(console, SETUP)
    team = sorted((w for w in (await holding(console))["repair team"] if w), key=NAMES.index)
    assert len(team) == 3
    return team


async def all_rows_text(console: ConsoleSession) -> dict[str, list[str]]:
    assert console.core is not None
    found: dict[str, list[str]] = {}
    async with console.core.db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            rows = (await s.execute(text(f'SELECT * FROM "{table.name}"'))).all()
            found[table.name] = [" ".join(str(v) for v in row) for row in rows]
    return found


async def outbox(console: ConsoleSession) -> list[OutboxMessage]:
    assert console.core is not None
    async with console.core.db.transaction() as s:
        return list((await s.execute(select(OutboxMessage))).scalars())


async def test_the_team_minus_the_subject_is_convened_and_the_subject_hears_nothing(
        console: ConsoleSession) -> None:
    team = await team_now(console)
    subject = team[1]
    hearers = [team[0], team[2]]
    requester = next(n for n in NAMES if n not in team)
    before = await outbox(console)
    said = await run_lines(console, f"@{requester} dm> repair request about:@{subject} {NOTE}")
    assert len(said) == 1 and said[0].startswith(
        f"[reply @{requester}] Repair request #1 in Riverbend would be heard by: "
        f"{', '.join(hearers)}.")
    assert f"{subject} is left out of it, and I will not tell them anything." in said[0]
    assert "Nothing is sent yet. Say `repair confirm`" in said[0]
    assert NOTE not in said[0]
    assert len(await outbox(console)) == len(before)  # nothing sent before confirm

    said = await run_lines(console, f"@{requester} dm> repair confirm")
    room = f"[room repair#1 @{requester} @{hearers[0]} @{hearers[1]}]"
    assert said[0] == (f"[reply @{requester}] Done: {', '.join(hearers)} will hear you in a "
                       "private room (repair #1). When it has done what it can, close it with "
                       "`repair close`; you may add one line to keep as its summary.")
    assert said[1].startswith(f"{room} {requester} asked to be heard by the repair team of "
                              f"Riverbend. Here with them: {', '.join(hearers)}.")
    assert said[2] == f"{room} In their words: {NOTE}"
    assert len(said) == 3
    assert not any(f"@{subject}" in line for line in said)  # not a DM, not a room member
    first_new = max(r.id for r in before) + 1
    for row in [r for r in await outbox(console) if r.id >= first_new]:
        assert row.user_id != subject
        assert subject not in (row.meta or {}).get("room_members", ())
        assert NOTE not in row.text or row.kind == "room"

    # The team sees it in `repair status`; the subject sees nothing of it.
    said = await run_lines(console, f"@{hearers[0]} dm> repair status")
    assert said[0].startswith(f"[reply @{hearers[0]}] Repair: | - #1 in Riverbend, which you "
                              "were asked to hear: asked ")
    said = await run_lines(console, f"@{subject} dm> repair status")
    assert said == [f"[reply @{subject}] You have no repair requests, and are hearing none."]

    # Someone outside it cannot close it, and nothing changes.
    said = await run_lines(console, f"@{subject} dm> repair close")
    assert said == [f"[reply @{subject}] You are not part of an open repair request; only the "
                    "one who asked and the people it convened can close it."]

    # A team member closes it with a summary: the requester is asked to keep it.
    said = await run_lines(console, f"@{hearers[1]} dm> repair close we talked it through")
    assert said[0] == (f"[reply @{hearers[1]}] Repair #1 is closed, and its note is deleted. | "
                       "The one who asked for it is asked whether to keep your summary.")
    assert said[1] == (f"{room} {hearers[1]} closed repair #1. Thank you for hearing each "
                       f"other. | Summary proposed, kept only if {requester} agrees: we talked "
                       "it through")
    assert said[2].startswith(f"[dm @{requester}] {hearers[1]} closed repair #1 in Riverbend "
                              'with this summary: "we talked it through".')
    assert not any(f"@{subject}" in line for line in said)
    said = await run_lines(console, f"@{requester} dm> repair agree 1")
    assert said == [f"[reply @{requester}] Kept as the summary of repair #1: we talked it "
                    "through"]

    # The note is gone from every table, the outbox included; what stays is the date, the
    # history and the agreed summary.
    for table, rows in (await all_rows_text(console)).items():
        assert not any(NOTE in r for r in rows), table
    assert console.core is not None
    async with console.core.db.transaction() as s:
        req = (await s.execute(select(RepairRequest))).scalar_one()
        assert req.note is None and req.subject_member_id is None
        assert [h["state"] for h in req.history] == ["open", "convened", "closed"]
        assert req.summary == "we talked it through" and req.summary_agreed
        assert (await s.execute(select(func.count()).select_from(RepairTeamSeat))
                ).scalar_one() == 0


async def test_no_holder_means_the_stewards_and_bad_input(console: ConsoleSession) -> None:
    await run_lines(console, """
        @alice> circle setup name:Riverbend timezone:Europe/Berlin
        @bob> join
        @carol> join
    """.replace("        ", ""))
    said = await run_lines(console, "@bob dm> repair confirm")
    assert said == ["[reply @bob] You have no repair request waiting to be confirmed; start one "
                    "with `repair request [about:@name] [note]`."]
    said = await run_lines(console, "@bob> repair request it was hard")
    assert said[0].startswith("[dm @bob] Repair request #1 in Riverbend would be heard by: "
                              "alice. | No one holds the repair team role right now, so it goes "
                              "to the stewards.")
    assert not any(line.startswith("[room]") for line in said)  # the room sees nothing
    # About the only steward: no one is left to hear it, and nothing is sent.
    said = await run_lines(console, "@carol dm> repair request about:@alice it was hard")
    assert said == ["[reply @carol] No one can hear a repair request in Riverbend right now: "
                    "no one holds the repair team role, and there is no steward who is not "
                    "left out. Nothing was sent."]
    said = await run_lines(console, "@carol dm> repair request about:@zed x")
    assert said == ["[reply @carol] @zed is not a member of Riverbend; write about:@name with "
                    "their handle."]
    said = await run_lines(console, "@carol dm> repair request about:@carol x")
    assert said == ["[reply @carol] about:@name is for the member the request is about; it "
                    "cannot be you."]
    # The requester drops it before anything was sent.
    said = await run_lines(console, "@bob dm> repair close")
    assert said == ["[reply @bob] Repair request #1 is dropped; nothing was sent to anyone."]
    said = await run_lines(console, "@bob dm> repair close")
    assert said[0].startswith("[reply @bob] You are not part of an open repair request")


async def test_the_requester_leaving_closes_it_and_the_note_goes(
        console: ConsoleSession) -> None:
    team = await team_now(console)
    requester = next(n for n in NAMES if n not in team and n != "alice")
    await run_lines(console, f"@{requester} dm> repair request {NOTE}\n"
                             f"@{requester} dm> repair confirm")
    said = await run_lines(console, f"@{requester}> leave")
    assert any(line.startswith("[room repair#1") and "the one who asked for it left the "
               "circle" in line for line in said)
    for table, rows in (await all_rows_text(console)).items():
        assert not any(NOTE in r for r in rows), table


async def test_two_requests_at_once_leave_one(console: ConsoleSession, db_spec: DbSpec,
                                              clock: FakeClock) -> None:
    """One unclosed request per member: asking again replaces the one waiting for confirm,
    and two at the same instant (two processes) still leave one."""
    team = await team_now(console)
    requester = next(n for n in NAMES if n not in team)
    async with cores(db_spec, clock, 2) as two:
        answers = await asyncio.gather(*(
            core.handle_text(f"repair request words {i}", who(requester), Place.direct())
            for i, core in enumerate(two)))
    assert all(a.ok for a in answers), [a.text for a in answers]
    assert console.core is not None
    async with console.core.db.transaction() as s:
        rows = (await s.execute(select(RepairRequest))).scalars().all()
    assert len(rows) == 1 and rows[0].state == "open"
    said = await run_lines(console, f"@{requester} dm> repair confirm\n"
                                    f"@{requester} dm> repair request again")
    assert said[-1] == (f"[reply @{requester}] Your repair request #{rows[0].id} is already "
                        "convened; close it with `repair close` before asking for another.")


async def test_a_hearer_forgotten_leaves_the_convening_and_an_unagreed_summary_goes(
        console: ConsoleSession) -> None:
    from datetime import timedelta

    from tests.rotation_helpers import jump

    team = await team_now(console)
    requester = next(n for n in NAMES if n not in team)
    gone, stays = team[0], team[1]
    await run_lines(console, f"@{requester} dm> repair request {NOTE}\n"
                             f"@{requester} dm> repair confirm")
    said = await run_lines(console, f"@{gone} dm> me forget confirm")
    assert said[0].startswith(f"[reply @{gone}] Done:")
    for row in await outbox(console):
        assert gone not in (row.meta or {}).get("room_members", ()), row.meta
    said = await run_lines(console, f"@{requester} dm> repair status")
    assert f"With: {stays}, {team[2]}." in said[0] and gone not in said[0]
    # The team closes with a summary the requester never agrees to: it is not kept.
    await run_lines(console, f"@{stays} dm> repair close we talked")
    assert console.core is not None
    async with console.core.db.transaction() as s:
        assert (await s.execute(select(RepairRequest.summary))).scalar_one() == "we talked"
    await jump(console, console.clock.now() + timedelta(days=8))
    async with console.core.db.transaction() as s:
        req = (await s.execute(select(RepairRequest))).scalar_one()
    assert req.summary is None and req.state == "closed"
    said = await run_lines(console, f"@{requester} dm> repair agree")
    assert said == [f"[reply @{requester}] There is no summary waiting for you to agree to."]


async def test_the_requester_and_the_team_closing_at_once_close_it_once(
        console: ConsoleSession, db_spec: DbSpec, clock: FakeClock) -> None:
    team = await team_now(console)
    requester = next(n for n in NAMES if n not in team)
    await run_lines(console, f"@{requester} dm> repair request {NOTE}\n"
                             f"@{requester} dm> repair confirm")
    closers = [requester, team[0], team[1]]
    async with cores(db_spec, clock, 3) as three:
        answers = await asyncio.gather(*(
            core.handle_text(f"repair close by {name}", who(name), Place.direct())
            for core, name in zip(three, closers, strict=True)))
    assert sum(a.ok for a in answers) == 1, [(a.ok, a.text) for a in answers]
    assert all(a.text.startswith("You are not part of an open repair request")
               for a in answers if not a.ok)
    await console.drain()
    said = console.take()
    # One closing post in the room (a team member's close also asks the requester by DM).
    assert sum(line.startswith("[room repair#1") and "closed repair #1" in line
               for line in said) == 1, said
    assert console.core is not None
    async with console.core.db.transaction() as s:
        req = (await s.execute(select(RepairRequest))).scalar_one()
    assert [h["state"] for h in req.history] == ["open", "convened", "closed"]


async def test_status_dates_are_the_circle_s_calendar_days(console: ConsoleSession) -> None:
    """Asked at 00:30 in Berlin on 2 December (23:30 UTC on the 1st): the history says the 2nd,
    the day the requester lived it."""
    from datetime import UTC, datetime

    console.clock.set(datetime(2026, 12, 1, 23, 30, tzinfo=UTC))  # type: ignore[attr-defined]
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin\n"
                             "@bob> join")
    said = await run_lines(console, "@bob dm> repair request a few words\n"
                                    "@bob dm> repair status")
    assert "asked 2026-12-02" in said[-1] and "2026-12-01" not in said[-1]


async def test_a_typo_in_a_subcommand_keeps_the_words_waiting_to_be_confirmed(
        console: ConsoleSession) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin\n"
                             "@bob> join")
    said = await run_lines(console, f"@bob dm> repair request {NOTE}\n"
                                    "@bob dm> repair confrim\n"
                                    "@bob dm> repair confirm")
    assert "repair confirm" in said[1] and "Repair request" not in said[1]
    assert f"In their words: {NOTE}" in "\n".join(said[2:])
    assert "confrim" not in "\n".join(said[2:])
