"""The lifeline, end to end through the core and the console, with a fake clock."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import timedelta

from sqlalchemy import event, select

from adapters.console import ConsoleSession
from bot import timers
from bot.clock import FakeClock, parse_instant
from bot.features.lifeline.models import LifelinePage, LifelineRequest
from bot.refs import Place, RoomRef, UserRef
from tests.conftest import run_lines
from tests.simulation import fast_lines

SETUP = """
@alice> circle setup name:Riverbend timezone:Europe/Berlin
@alice> circle settings crisis_resources:"Samaritans 116 123; Call 988 in the US"
"""

PAGE = re.compile(r"^\[dm @(\w+)\] (Emergency lifeline|Lifeline) page #(\d+)")


async def members(console: ConsoleSession, windows: dict[str, str]) -> None:
    lines = [f"@{name}> join" for name in ["rae", *windows]]
    lines += [f"@{name} dm> available set {w}" for name, w in windows.items()]
    await run_lines(console, SETUP + "\n".join(lines))


def paged(lines: list[str]) -> list[str]:
    return [m.group(1) for line in lines if (m := PAGE.match(line))]


async def test_4am_pages_only_members_whose_own_windows_are_open(
        console: ConsoleSession) -> None:
    # 2026-11-22T03:00Z is 04:00 in Berlin, 22:00 in New York, 12:00 in Tokyo, 19:00 in LA,
    # 14:00 in Sydney.
    console.clock.set(parse_instant("2026-11-22T03:00:00Z"))  # type: ignore[attr-defined]
    await members(console, {
        "bob": "daily 21:00-23:30 America/New_York",
        "carol": "daily 11:00-13:00 Asia/Tokyo",
        "fay": "daily 18:00-20:00 America/Los_Angeles",
        "dan": "daily 21:00-02:00 Europe/Berlin",
        "erin": "daily 09:00-10:00 Australia/Sydney emergency:yes",
    })
    said = await run_lines(console, "@rae dm> call can't stop shaking")
    reply = said[0]
    # First what is happening for them, then the resources once, the emergency number once.
    assert reply.startswith("[reply @rae] I'm finding someone for you now (request #1)")
    assert reply.count("emergency number") == 1 and reply.count("Samaritans") == 1
    assert "peercircle default" not in reply
    assert "Samaritans 116 123" in reply and "Call 988 in the US" in reply
    first = paged(said)
    assert len(first) == 2 and set(first) <= {"bob", "carol", "fay"}
    # The page names the circle, the requester and the time in the paged member's zone,
    # and never the note.
    pages = [line for line in said if PAGE.match(line)]
    assert all("rae" in p and "Riverbend" in p and "shaking" not in p for p in pages)
    said = await run_lines(console, ":advance 4m")
    pages += [line for line in said if PAGE.match(line)]
    second = paged(said)
    # Each page shows the time in the paged member's own zone (bob is in New York).
    [bobs] = [p for p in pages if p.startswith("[dm @bob]")]
    assert "(22:00 your time)" in bobs or "(22:04 your time)" in bobs
    assert len(second) == 1 and set(first + second) == {"bob", "carol", "fay"}
    said = await run_lines(console, ":advance 4m")
    assert paged(said) == ["erin"]  # the emergency wave comes last
    assert "[dm @erin] Emergency lifeline page #1" in said[0]
    said = await run_lines(console, ":advance 4m")
    assert "dan" not in paged(said) and paged(said) == []
    everything = said
    assert any(line.startswith("[dm @rae] I couldn't reach a peer") for line in everything)


async def test_windows_follow_the_members_wall_clock_across_dst(
        console: ConsoleSession) -> None:
    # New York springs forward on Sunday 2026-03-08: 08:30 local is 13:30Z before, 12:30Z after.
    clock = console.clock
    assert isinstance(clock, FakeClock)
    clock.set(parse_instant("2026-03-01T13:30:00Z"))
    await members(console, {"bob": "sun 08:00-09:00 America/New_York"})
    assert paged(await run_lines(console, "@rae dm> call")) == ["bob"]
    await run_lines(console, "@rae dm> call cancel")
    clock.set(parse_instant("2026-03-08T13:30:00Z"))  # 09:30 EDT: outside
    said = await run_lines(console, "@rae dm> call")
    assert paged(said) == []
    await run_lines(console, "@rae dm> call cancel")
    clock.set(parse_instant("2026-03-08T12:30:00Z") + timedelta(days=7))  # 08:30 EDT
    assert paged(await run_lines(console, "@rae dm> call")) == ["bob"]


async def test_two_presses_at_once_make_exactly_one_claim(console: ConsoleSession) -> None:
    await members(console, {"bob": "daily any", "carol": "daily any"})
    await run_lines(console, "@rae dm> call need someone")
    core = console.core
    assert core is not None
    replies = await asyncio.gather(
        core.handle_text("ack", UserRef("console", "bob", "bob"), Place.direct()),
        core.handle_text("ack", UserRef("console", "carol", "carol"), Place.direct()))
    texts = sorted(r.text for r in replies)
    took = [t for t in texts if t.startswith("Thank you for taking it")]
    covered = [t for t in texts if "already has request #1, so nothing changed" in t]
    assert len(took) == 1 and len(covered) == 1
    assert "need someone" in took[0]  # the note goes only to the one who takes it
    await console.drain()
    said = console.take()
    assert len([line for line in said if line.startswith("[dm @rae]") and "is coming" in line]) == 1
    async with core.db.transaction() as s:
        req = (await s.execute(select(LifelineRequest))).scalar_one()
        states = Counter((await s.execute(select(LifelinePage.state))).scalars())
    assert req.state == "CLAIMED" and states == {"claimed": 1, "covered": 1}
    edits = [line for line in said if line.startswith("[edit dm @")]
    assert len(edits) == 1 and "someone's on it, thank you" in edits[0]


async def test_a_call_reads_the_person_with_their_circles_and_stores_its_request_once(
        console: ConsoleSession) -> None:
    """issue 18: in a DM the person comes with their circles in one read, and the request is
    stored once, with its first wave (no UPDATE after the INSERT); a repeat `call` with a note
    still reaches the request."""
    await members(console, {"bob": "daily any", "carol": "daily any", "dan": "daily any"})
    core = console.core
    assert core is not None
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(" ".join(statement.split()).upper())

    event.listen(core.db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        said = await run_lines(console, "@rae dm> call")
    finally:
        event.remove(core.db.engine.sync_engine, "before_cursor_execute", seen)
    assert said[0].startswith("[reply @rae] I'm finding someone for you now (request #1)")
    assert len(paged(said)) == 2
    reads = [s for s in statements if s.startswith("SELECT")]
    assert " FROM PEOPLE LEFT OUTER JOIN MEMBERS" in reads[0]
    assert not any(" FROM PEOPLE" in s or " FROM CIRCLES JOIN MEMBERS" in s for s in reads[1:])
    assert sum(s.startswith("INSERT INTO LIFELINE_REQUESTS") for s in statements) == 1
    assert not any(s.startswith("UPDATE LIFELINE_REQUESTS") for s in statements)
    async with core.db.transaction() as s:
        req = (await s.execute(select(LifelineRequest))).scalar_one()
    assert (req.wave, req.first_page_at, req.state) == (1, console.clock.now(), "PAGING")
    said = await run_lines(console, "@rae dm> call still here")
    assert said[0].startswith("[reply @rae]") and "request #1" in said[0]
    async with core.db.transaction() as s:
        req = (await s.execute(select(LifelineRequest))).scalar_one()
    assert req.note == "still here"


async def test_a_wave_that_all_declines_moves_on_at_once(console: ConsoleSession) -> None:
    await members(console, {n: "daily any" for n in ("bob", "carol", "dan", "erin")})
    said = await run_lines(console, "@rae dm> call")
    first = paged(said)
    said = await run_lines(console, f":advance 1m\n@{first[0]} dm> decline")
    assert paged(said) == []  # one still open: wait
    said = await run_lines(console, f"@{first[1]} dm> decline 1")
    second = paged(said)
    assert len(second) == 2 and not set(second) & set(first)
    assert console.clock.now() == parse_instant("2026-11-22T04:01:00Z")
    # The timer of the wave that was skipped does not fire a third wave at 04:04 ...
    said = await run_lines(console, ":advance 3m30s")
    assert paged(said) == []
    # ... the next one comes wave_minutes after the early wave.
    said = await run_lines(console, ":advance 1m")
    assert said and paged(said) == [] and "[dm @rae] I couldn't reach a peer" in said[0]


async def test_no_answer_falls_back_with_resources_and_a_content_free_notice(
        console: ConsoleSession) -> None:
    await members(console, {n: "daily any" for n in ("bob", "carol", "dan", "erin", "fay",
                                                       "gus", "hal", "ivy")})
    await run_lines(console, "@alice> circle settings give_up_minutes:10")
    said = await run_lines(console, "@rae dm> call the walls are closing in")
    said += await run_lines(console, ":advance 9m59s")
    assert not any("I couldn't reach a peer" in line for line in said)
    assert len(paged(said)) == 6  # waves at 0, 4 and 8 minutes
    someone = paged(said)[0]
    said = await run_lines(console, ":advance 1s")
    fallback = [line for line in said if line.startswith("[dm @rae]")]
    assert len(fallback) == 1
    assert "call your local emergency number" in fallback[0] and "Samaritans" in fallback[0]
    notice = [line for line in said if line.startswith("[dm @alice]")]
    # Pages went out and no one answered: the notice says that, not "no one reachable".
    assert len(notice) == 1 and "was paged but no one could answer in time" in notice[0]
    for line in said:
        if not line.startswith("[dm @rae]"):
            assert "walls" not in line and "rae" not in line
    # A late "I'll take it" still connects them.
    late = await run_lines(console, f"@{someone} dm> ack 1")
    assert late[0].startswith(f"[reply @{someone}] Thank you for taking it")


async def test_restart_between_waves_pages_no_one_twice(console: ConsoleSession) -> None:
    await members(console, {n: "daily any" for n in ("bob", "carol", "dan", "erin", "fay",
                                                       "gus")})
    said = await run_lines(console, "@rae dm> call")
    said += await run_lines(console, ":advance 2m\n:restart\n:advance 2m\n:restart\n:advance 1s")
    counts = Counter(paged(said))
    assert sum(counts.values()) == 4 and max(counts.values()) == 1


async def test_a_crash_mid_fire_and_downtime_catch_up(console: ConsoleSession) -> None:
    await members(console, {n: "daily any" for n in ("bob", "carol", "dan", "erin", "fay",
                                                       "gus", "hal", "ivy")})
    said = await run_lines(console, "@rae dm> call")
    assert len(paged(said)) == 2
    core = console.core
    assert core is not None
    clock = console.clock
    assert isinstance(clock, FakeClock)
    # Another process claims the wave-2 timer at its due time and dies before committing.
    clock.advance(timedelta(minutes=4))
    [claimed] = await timers.claim_due(core.db, clock.now(), "dead-process")
    assert claimed.kind == "lifeline.wave"
    await console.restart()
    assert paged(console.take()) == []  # its lease still holds
    # The bot is then down for 9 more minutes: on start, one wave, not every missed one.
    await console.close()
    clock.advance(timedelta(minutes=9))
    await console.start()
    said = console.take()
    assert len(paged(said)) == 2
    said += await run_lines(console, ":advance 4m")
    counts = Counter(paged(said))
    assert sum(counts.values()) == 4 and max(counts.values()) == 1
    # The watchdog saw the wave timer fire 9 minutes late, and the report says so.
    report = await run_lines(console, "@alice> lifeline report")
    assert "Watchdog: 1 lifeline timer fired more than 2 minutes late." in report[0]


async def test_the_room_hears_only_when_asked_and_never_the_note(
        console: ConsoleSession) -> None:
    await members(console, {"bob": "daily any"})
    said = await run_lines(console, "@rae dm> call the landlord came back")
    assert not any(line.startswith("[room]") for line in said)
    await run_lines(console, "@rae dm> call cancel")
    said = await run_lines(console, "@rae dm> call room:yes the landlord came back")
    room = [line for line in said if line.startswith("[room]")]
    assert room == ["[room] rae asked the circle for a peer to talk to. If you can be there, "
                    "watch your direct messages."]


async def test_an_unconfirmed_claim_lapses_and_paging_resumes(console: ConsoleSession) -> None:
    await members(console, {n: "daily any" for n in ("bob", "carol", "dan", "erin")})
    said = await run_lines(console, "@rae dm> call")
    taker = paged(said)[0]
    await run_lines(console, f":advance 1m\n@{taker} dm> ack")
    said = await run_lines(console, ":advance 10m")
    asked = [line for line in said if "Did you connect (request #1)?" in line]
    assert {line.split()[1] for line in asked} == {"@rae]", f"@{taker}]"}
    said = await run_lines(console, ":advance 5m")
    assert any(line.startswith("[dm @rae] I haven't heard that you connected") for line in said)
    assert any(line.startswith(f"[dm @{taker}] No confirmation") for line in said)
    resumed = paged(said)
    assert len(resumed) == 2 and taker not in resumed


async def test_connected_stops_the_lapse(console: ConsoleSession) -> None:
    await members(console, {n: "daily any" for n in ("bob", "carol")})
    said = await run_lines(console, "@rae dm> call")
    taker = paged(said)[0]
    await run_lines(console, f"@{taker} dm> ack\n:advance 10m")
    said = await run_lines(console, f"@{taker} dm> call connected\n:advance 1h")
    assert said[0] == f"[reply @{taker}] Good: marked as connected. Type call resolve when " \
                      "you're done."
    assert not any("I haven't heard" in line for line in said)


async def test_caps_hold_and_resources_are_never_withheld(console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@bob> join\n@bob dm> available set daily any\n"
                    "@ann> join\n@cat> join\n@dot> join")
    for n, name in enumerate(("ann", "cat")):
        said = await run_lines(console, f"@{name} dm> call\n:advance 1m")
        assert paged(said) == ["bob"], n
    said = await run_lines(console, "@dot dm> call")
    assert paged(said) == []  # two pages in 15 minutes is bob's cap
    assert "Samaritans" in said[0] and "I couldn't reach a peer for request #3" in said[0]
    # Said once, in the answer: no second message repeats the resources.
    to_dot = [line for line in said if line.startswith(("[reply @dot]", "[dm @dot]"))]
    assert len(to_dot) == 1 and to_dot[0].count("Samaritans") == 1, said
    # One active request per member: a repeat call attaches to it.
    said = await run_lines(console, "@dot dm> call still here")
    assert "Samaritans" in said[0] and "Your request #3 is still open" in said[0]
    # At most three a day: the fourth still gets the resources, and a kind note.
    for _ in range(2):
        await run_lines(console, "@dot dm> call cancel\n@dot dm> call")
    said = await run_lines(console, "@dot dm> call cancel\n@dot dm> call")
    assert "Samaritans" in said[-1] and "today's number of requests" in said[-1]


async def test_lifeline_bad_input(console: ConsoleSession) -> None:
    await members(console, {"bob": "daily any", "carol": "daily any"})
    cases = {
        "@bob dm> available set mon-fri 25:00-02:00":
            '"25:00" is not a time; use HH:MM from 00:00 to 23:59, as in mon-fri 21:00-02:00',
        "@bob dm> available set funday any":
            '"funday" is not a day; use mon, tue, wed, thu, fri, sat, sun or a range like '
            "mon-fri",
        "@bob dm> available set daily any Mars/Olympus":
            'timezone "Mars/Olympus" is not a known timezone; try Europe/Berlin.',
        "@bob dm> ack": "You have no open lifeline page; nothing changed.",
        "@rae dm> call cancel": "You have no open lifeline request; nothing changed.",
    }
    for line, expected in cases.items():
        said = await run_lines(console, line)
        assert said == [f"[reply @{line[1:4].rstrip()}] {expected}"], line
    said = await run_lines(console, "@rae dm> call")
    taker, other = paged(said)
    await run_lines(console, f"@{taker} dm> ack 1")
    said = await run_lines(console, f"@{other} dm> ack 1")
    assert said == [f"[reply @{other}] Thank you: {taker} already has request #1, so nothing "
                    "changed."]
    said = await run_lines(console, "@alice dm> decline 1")
    assert said == ["[reply @alice] You weren't paged for request #1; nothing changed."]
    said = await run_lines(console, "@zed dm> call")
    assert said[0].startswith("[reply @zed] You're not in a circle yet")
    assert "emergency number" in said[0]
    said = await run_lines(console, "@zed> call")
    # Typed in the room, the lifeline's answer goes to zed alone.
    assert said[0].startswith("[dm @zed] You're not a member of Riverbend yet")
    assert "Samaritans 116 123" in said[0]


async def test_report_matches_a_scenario_computed_by_hand(console: ConsoleSession) -> None:
    # Everyone reachable 00:00-20:00 UTC: 4 uncovered hours a day, 28 a week.
    await members(console, {n: "daily 00:00-20:00 UTC" for n in
                            ("bob", "carol", "dan", "erin", "fay", "gus", "hal", "ivy")})
    await run_lines(console, "@alice> circle settings give_up_minutes:6 wave_minutes:4")
    # r1 at 04:00Z: claimed after 2 min, connected after 5 min; 2 pages.
    said = await run_lines(console, "@rae dm> call")
    t1 = paged(said)[0]
    await run_lines(console, f":advance 2m\n@{t1} dm> ack\n:advance 3m\n@rae dm> call connected"
                    "\n@rae dm> call resolve")
    # r2 at 05:00Z: the first wave declines at 1 min, the second claims at 3, connected at 12.
    await run_lines(console, ":at 2026-11-22T05:00:00Z")
    said = await run_lines(console, "@rae dm> call")
    w1 = paged(said)
    said = await run_lines(console, f":advance 1m\n@{w1[0]} dm> decline\n@{w1[1]} dm> decline")
    t2 = paged(said)[0]
    await run_lines(console, f":advance 2m\n@{t2} dm> ack\n:advance 9m\n@{t2} dm> call connected"
                    f"\n@{t2} dm> call resolve")
    # r3 at 06:00Z: waves at 0 and 4 min, no answer, fallback at 6: 4 pages.
    await run_lines(console, ":at 2026-11-22T06:00:00Z")
    await run_lines(console, "@rae dm> call\n:advance 6m\n@rae dm> call cancel")
    said = await run_lines(console, ":at 2026-11-22T07:00:00Z\n@alice> lifeline report")
    assert said[0].split(" | ") == [
        "[reply @alice] Lifeline in Riverbend, last 7 days: 3 requests.",
        "Time to first page: p50 0 s, p90 0 s (3 requests).",
        "Time to claim: p50 2 min, p90 3 min (2 requests).",
        "Time to connected: p50 5 min, p90 12 min (2 requests).",
        "Fallback rate: 33% (1 request reached no one in time).",
        "Pages per request: 3.3.",
        "Coverage gaps: 28 hours per week with no reachable member (by today's availability).",
    ]
    said = await run_lines(console, "@bob> lifeline report")
    assert said == ["[reply @bob] Only a steward can use lifeline report; ask your circle's "
                    "steward."]


async def test_a_member_of_several_circles_is_not_asked_which_at_4am(
        console: ConsoleSession) -> None:
    await members(console, {"bob": "daily any"})
    core = console.core
    assert core is not None
    hill = Place(RoomRef("console", "hillside"))
    for name, line in (("alice", "circle setup name:Hillside timezone:UTC"), ("rae", "join"),
                       ("cy", "join"), ("di", "join")):
        await core.handle_text(line, UserRef("console", name, name), hill)
    for name in ("cy", "di"):
        await core.handle_text("available set daily any circle:Hillside",
                               UserRef("console", name, name), Place.direct())
    await console.drain()
    console.take()
    said = await run_lines(console, "@rae dm> call")
    assert "I'm asking in Hillside, where most peers are reachable now." in said[0]
    assert sorted(paged(said)) == ["cy", "di"]


async def test_a_call_seen_late_asks_before_paging(console: ConsoleSession) -> None:
    await members(console, {"bob": "daily any"})
    core = console.core
    assert core is not None
    rae = UserRef("console", "rae", "rae")
    sent = console.clock.now() - timedelta(minutes=16)
    reply = await core.handle_text("call", rae, Place.direct(), "ev1", sent_at=sent)
    assert "Samaritans" in reply.text and "Do you still need someone?" in reply.text
    await console.drain()
    assert paged(console.take()) == []
    reply = await core.handle_text("call", rae, Place.direct(), "ev2",
                                   sent_at=console.clock.now() - timedelta(minutes=14))
    await console.drain()
    assert paged(console.take()) == ["bob"]


async def test_notes_are_forgotten_and_followups_can_be_declined(
        console: ConsoleSession) -> None:
    await members(console, {"bob": "daily any"})
    await fast_lines(console, "@rae dm> call the note\n@bob dm> ack\n@rae dm> call connected\n"
                    "@rae dm> call resolve followup:no")
    said = await fast_lines(console, ":advance 2d")
    assert not any("Checking in after yesterday" in line for line in said)
    core = console.core
    assert core is not None
    async with core.db.transaction() as s:
        req = (await s.execute(select(LifelineRequest))).scalar_one()
    assert req.state == "RESOLVED" and req.note == "the note"
    await fast_lines(console, ":advance 5d")  # lifeline_note_days defaults to 7
    async with core.db.transaction() as s:
        req = (await s.execute(select(LifelineRequest))).scalar_one()
    assert req.note is None
    # With the follow-up left on, it comes the next day, once.
    await fast_lines(console, "@rae dm> call\n@bob dm> ack\n@bob dm> call resolve")
    said = await fast_lines(console, ":advance 3d")
    assert sum("[dm @rae] Checking in after yesterday" in line for line in said) == 1


async def test_an_unanswered_request_closes_after_a_day(console: ConsoleSession) -> None:
    await members(console, {"bob": "daily any"})
    said = await run_lines(console, "@rae dm> call\n:advance 25h")
    assert any(line.startswith("[edit dm @bob] Lifeline page #1: no longer needed")
               for line in said)
    said = await run_lines(console, "@rae dm> call")
    assert "request #2" in said[0]
