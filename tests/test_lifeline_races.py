"""Rules about one person or one request, with several cores acting at the same instant.
On PostgreSQL these are real races (SQLite's single writer hides them; the tests run there
too, as a check that the same code is right when serial)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import func, select

from adapters.console import ConsoleSession
from bot.app import open_core
from bot.clock import FakeClock
from bot.config import Settings
from bot.dispatcher import Core
from bot.features.lifeline.models import LifelinePage, LifelineRequest
from bot.refs import Place, UserRef
from storage.models import Person
from tests.conftest import DbSpec, run_lines

REQUESTERS = ("p0", "p1", "p2", "p3", "p4", "p5")
RESPONDERS = ("r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7")


@asynccontextmanager
async def cores(db_spec: DbSpec, clock: FakeClock, n: int) -> AsyncIterator[list[Core]]:
    """n cores, each on its own engine: as n processes would be."""
    made: list[Core] = []
    try:
        for _ in range(n):
            made.append(await open_core(Settings(), clock, db=db_spec.make()))
        yield made
    finally:
        for core in made:
            await core.db.dispose()


def who(name: str) -> UserRef:
    return UserRef("console", name, name)


async def test_a_storm_of_calls_keeps_every_per_person_rule(
        console: ConsoleSession, db_spec: DbSpec, clock: FakeClock) -> None:
    lines = ["@alice> circle setup name:Riverbend timezone:Europe/Berlin"]
    lines += [f"@{p}> join" for p in (*REQUESTERS, *RESPONDERS)]
    lines += [f"@{r} dm> available set daily any" for r in RESPONDERS]
    await run_lines(console, "\n".join(lines))
    async with cores(db_spec, clock, 4) as four:
        # Six people each send `call` four times at once, spread over four cores; and a
        # newcomer's first two commands arrive together on two cores.
        jobs = [four[(i + j) % 4].handle_text(f"call help {j}", who(p), Place.direct())
                for i, p in enumerate(REQUESTERS) for j in range(4)]
        jobs += [four[0].handle_text("help", who("newcomer"), Place.direct()),
                 four[1].handle_text("think", who("newcomer"), Place.direct())]
        answers = await asyncio.gather(*jobs)
    texts = [a.text for a in answers]
    assert not [t for t in texts if "went wrong" in t], texts
    opened = [t for t in texts if t.startswith("I'm finding someone for you now")]
    attached = [t for t in texts if "is still open" in t]
    assert (len(opened), len(attached)) == (6, 18)
    core = console.core
    assert core is not None
    async with core.db.transaction() as s:
        per_requester = Counter((await s.execute(
            select(LifelineRequest.requester_member_id))).scalars())
        pages = Counter((await s.execute(select(LifelinePage.member_id))).scalars())
        newcomers = (await s.execute(select(func.count()).select_from(Person).where(
            Person.platform_user_id == "newcomer"))).scalar_one()
    assert sorted(per_requester.values()) == [1] * 6  # one request each, every note attached
    assert sum(pages.values()) == 12  # a wave of two for each of the six
    assert max(pages.values()) <= 2  # pages_per_15_minutes holds for every responder
    assert newcomers == 1


async def test_leave_racing_ack_tells_the_one_who_took_it(
        console: ConsoleSession, db_spec: DbSpec, clock: FakeClock) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin\n"
                             "@bob> join\n@bob dm> available set daily any")
    async with cores(db_spec, clock, 2) as (one, two):
        for n in range(4):
            requester = f"rae{n}"
            await run_lines(console, f"@{requester}> join\n@{requester} dm> call hold on")
            console.take()
            acked, _left = await asyncio.gather(
                one.handle_text("ack", who("bob"), Place.direct()),
                two.handle_text("leave", who(requester), Place.direct()))
            await console.drain()
            said = console.take()
            async with one.db.transaction() as s:
                req = (await s.execute(select(LifelineRequest).order_by(
                    LifelineRequest.id.desc()).limit(1))).scalar_one()
            assert req.state == "CANCELLED", n
            if acked.text.startswith("Thank you for taking it"):
                # Took it a moment before the requester left: told it ended, never left
                # waiting for someone who is gone.
                assert any(line.startswith("[dm @bob]") and "left" in line for line in said), said
            else:
                assert "left" in acked.text or "closed" in acked.text, acked.text
            clock.advance(timedelta(hours=1))


async def test_an_acker_who_leaves_while_acking_leaves_nothing_claimed_by_nobody(
        console: ConsoleSession, db_spec: DbSpec, clock: FakeClock) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin")
    async with cores(db_spec, clock, 2) as (one, two):
        for n in range(4):
            responder, requester = f"bob{n}", f"rae{n}"
            await run_lines(console, f"@{responder}> join\n@{responder} dm> available set "
                                     f"daily any\n@{requester}> join\n@{requester} dm> call")
            await asyncio.gather(one.handle_text("ack", who(responder), Place.direct()),
                                 two.handle_text("leave", who(responder), Place.direct()))
            async with one.db.transaction() as s:
                req = (await s.execute(select(LifelineRequest).order_by(
                    LifelineRequest.id.desc()).limit(1))).scalar_one()
            assert not (req.state == "CLAIMED" and req.claimed_by_member_id is None), n
            await run_lines(console, f"@{requester} dm> call cancel")
            clock.advance(timedelta(hours=1))


async def test_after_a_lapse_members_whose_pages_were_covered_are_asked_again(
        console: ConsoleSession) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin\n"
                             "@alice> circle settings wave_size:3\n"
                             "@bob> join\n@carol> join\n@dan> join\n@rae> join\n"
                             "@bob dm> available set daily any\n"
                             "@carol dm> available set daily any\n"
                             "@dan dm> available set daily any\n@rae dm> call")
    said = await run_lines(console, "@bob dm> ack")
    assert sum("someone's on it" in line for line in said) == 2
    said = await run_lines(console, ":advance 15m")  # nobody confirms: the claim lapses
    repaged = sorted({line.split()[1] for line in said if "Lifeline page #1 from" in line})
    assert repaged == ["@carol]", "@dan]"]  # asked again; bob, whose claim lapsed, is not
    assert not any("I couldn't reach a peer" in line for line in said)


async def test_a_page_held_up_by_an_outage_is_never_delivered_late(
        console: ConsoleSession) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin\n"
                             "@bob> join\n@rae> join\n@bob dm> available set daily any")
    core = console.core
    assert core is not None
    # The page is written, but the platform is down: nothing is delivered for an hour.
    await core.handle_text("call", who("rae"), Place.direct())
    console.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    await console.drain()
    said = console.take()
    assert not any(line.startswith("[dm @bob] Lifeline page") for line in said)
    async with core.db.transaction() as s:
        from storage.models import OutboxMessage

        row = (await s.execute(select(OutboxMessage).where(
            OutboxMessage.user_id == "bob", OutboxMessage.key.like("%page:1:%")))).scalar_one()
    assert row.sent_at is None and row.last_error == "expired" and row.text == ""


async def test_waves_due_together_keep_every_responders_caps(
        console: ConsoleSession, clock: FakeClock) -> None:
    """Three requests' second waves fall due at one instant and fire in one claim (together,
    on SQLite): each wave counts the pages the waves before it chose, so four responders who
    may take two pages each per 15 minutes get no more, however the waves are batched."""
    lines = ["@alice> circle setup name:Riverbend timezone:Europe/Berlin"]
    lines += [f"@{p}> join" for p in (*REQUESTERS[:3], *RESPONDERS[:4])]
    lines += [f"@{r} dm> available set daily any" for r in RESPONDERS[:4]]
    lines += [f"@{p} dm> call" for p in REQUESTERS[:3]]  # 6 pages: two slots are left
    await run_lines(console, "\n".join(lines))
    core = console.core
    assert core is not None
    clock.advance(timedelta(minutes=4))  # every second wave is due now
    await core.fire_due()
    async with core.db.transaction() as s:
        waves = Counter((await s.execute(select(LifelinePage.wave))).scalars())
        pages = Counter((await s.execute(select(LifelinePage.member_id))).scalars())
    assert waves == {1: 6, 2: 2}, waves  # the second waves found only the two slots left
    assert sorted(pages.values()) == [2, 2, 2, 2], pages
