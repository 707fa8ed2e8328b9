"""The first yes wins with several cores acting at the same instant. On PostgreSQL these are
real races (SQLite's single writer hides them; the tests run there too, as a check that the
same code is right when serial)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from adapters.console import ConsoleSession
from bot.clock import FakeClock
from bot.features.mentorship.models import MentorAsk, MentorPairing, MentorRequest
from bot.refs import Place
from tests.conftest import DbSpec, run_lines
from tests.test_lifeline_races import cores, who

MENTORS = ("ana", "bea", "cruz")


async def test_three_yeses_at_once_make_exactly_one_pairing(
        console: ConsoleSession, db_spec: DbSpec, clock: FakeClock) -> None:
    lines = ["@alice> circle setup name:Riverbend timezone:Europe/Madrid"]
    lines += [f"@{m}> join" for m in MENTORS]
    lines += [f"@{m} dm> mentor offer 10" for m in MENTORS]
    await run_lines(console, "\n".join(lines))
    async with cores(db_spec, clock, 3) as three:
        for n in range(1, 5):
            requester = f"nina{n}"
            said = await run_lines(console, f"@{requester}> join\n@{requester} dm> mentor request")
            assert sum("Mentor request #" in line for line in said) == 3
            # The three asked say yes at the same instant, each through its own core (process).
            answers = await asyncio.gather(*(
                core.handle_text(f"mentor accept {n}", who(m), Place.direct())
                for core, m in zip(three, MENTORS, strict=True)))
            texts = [a.text for a in answers]
            won = [m for m, t in zip(MENTORS, texts, strict=True)
                   if t.startswith("Thank you for saying yes")]
            assert len(won) == 1, texts
            lost = [t for t in texts if not t.startswith("Thank you for saying yes")]
            assert lost == [f"Request #{n} has already found a mentor; thank you for saying "
                            "yes."] * 2
            await console.drain()
            said = console.take()
            # The other two are told on the ask itself; the requester hears who said yes.
            edited = sorted(line.split("]")[0] for line in said
                            if line.startswith("[edit dm") and "has found a mentor" in line)
            assert edited == sorted(f"[edit dm @{m}" for m in MENTORS if m not in won)
            assert any(line.startswith(f"[dm @{requester}] {won[0]} said yes") for line in said)
    core = console.core
    assert core is not None
    async with core.db.transaction() as s:
        pairings = (await s.execute(select(MentorPairing.request_id, func.count())
                                    .group_by(MentorPairing.request_id))).all()
        states = set((await s.execute(select(MentorRequest.state))).scalars())
        accepted = (await s.execute(select(func.count()).select_from(MentorAsk)
                                    .where(MentorAsk.state == "accepted"))).scalar_one()
    assert sorted(pairings) == [(n, 1) for n in range(1, 5)]
    assert states == {"matched"} and accepted == 4


async def test_both_sides_ending_at_once_end_it_once(
        console: ConsoleSession, db_spec: DbSpec, clock: FakeClock) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Madrid\n"
                    "@dave> join\n@dave dm> mentor offer 10")
    async with cores(db_spec, clock, 2) as (one, two):
        for n in range(3):
            mentee = f"nina{n}"
            await run_lines(console, f"@{mentee}> join\n@{mentee} dm> mentor request\n"
                                     "@dave dm> mentor accept")
            console.take()
            answers = await asyncio.gather(
                one.handle_text(f"mentor end @{mentee}", who("dave"), Place.direct()),
                two.handle_text("mentor end", who(mentee), Place.direct()))
            done = [a.text for a in answers if a.text.startswith("Done:")]
            assert len(done) == 1, [a.text for a in answers]
            await console.drain()
            said = console.take()
            assert sum("has ended your mentor pairing" in line for line in said) == 1, said
