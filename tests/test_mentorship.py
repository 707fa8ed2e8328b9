"""Mentorship through the core and the console, with a fake clock: who is asked and why, the
first yes, the introduction, rounds after ask_hours (across restarts), mentor-only check-ins,
the lifeline's first wave, nudges, no-fault ends, leaving and forgetting."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.console import ConsoleSession
from bot.context import Ctx
from bot.features.mentorship.matching import MentorCandidate, Schedule, overlap_hours, rank
from bot.features.mentorship.models import MentorAsk, MentorPairing, MentorRequest
from bot.outbox import OutboxWriter
from bot.texts import Texts
from storage.models import OutboxMessage, Person
from tests.conftest import run_lines
from tests.simulation import fast_lines
from tests.test_bad_input import snapshot

SETUP = "@alice> circle setup name:Riverbend timezone:Europe/Madrid\n"
ASK = re.compile(r"^\[dm @(\w+)\] Mentor request #(\d+) from Riverbend")


def asked(lines: list[str]) -> list[str]:
    return [m.group(1) for line in lines if (m := ASK.match(line))]


def to(lines: list[str], name: str) -> list[str]:
    """What reached a member by DM, onboarding's welcome and follow-ups aside."""
    onboarding = ("Welcome to Riverbend", "Hi from Riverbend", "A week in Riverbend")
    return [line for line in lines if line.startswith(f"[dm @{name}]")
            and not any(o in line for o in onboarding)]


# -- ranking, as a person would do it ---------------------------------------------------------
MADRID = Schedule("", "Europe/Madrid")  # no windows said: waking hours, 08:00-22:00 there
NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def mentor(member_id: int, tags: set[str], schedule: Schedule, capacity: int = 2,
           mentees: int = 0) -> MentorCandidate:
    return MentorCandidate(member_id=member_id, capacity=capacity, mentees=mentees,
                           tags=frozenset(tags), schedule=schedule)


SIX = {
    # Both tags asked for, same city, nobody yet: the obvious first.
    "ana": mentor(1, {"spanish", "housing"}, MADRID),
    # Spanish, in Mexico City: seven hours apart, still about seven waking hours a day
    # together; nobody yet.
    "bea": mentor(2, {"spanish"}, Schedule("", "America/Mexico_City")),
    # Spanish, same city, but already walking alongside someone: after bea (spread the load).
    "cruz": mentor(3, {"spanish"}, MADRID, capacity=3, mentees=1),
    # Spanish, nobody yet, but only around from 01:00 to 05:00: no time together at all, so
    # after everyone who shares a tag and can actually be reached.
    "dee": mentor(4, {"spanish"}, Schedule("daily 01:00-05:00", "Europe/Madrid")),
    # No shared tag at all: still someone with room, asked last.
    "eli": mentor(5, set(), MADRID),
    # Both tags, same city, but full (one mentee, room for one): never asked.
    "fay": mentor(6, {"spanish", "housing"}, MADRID, capacity=1, mentees=1),
}
NAMES = {c.member_id: name for name, c in SIX.items()}


def order(excluded: set[int] | None = None) -> list[str]:
    ranked = rank(list(SIX.values()), request_id=7, requester_member_id=99,
                  tags=["spanish", "housing"], schedule=MADRID, excluded=excluded or set(),
                  now=NOW)
    return [NAMES[r.candidate.member_id] for r in ranked]


def test_six_mentors_are_ranked_as_a_person_would() -> None:
    assert overlap_hours(MADRID, SIX["bea"].schedule, NOW) == 49  # 7 h a day
    assert overlap_hours(MADRID, SIX["dee"].schedule, NOW) == 0
    assert order() == ["ana", "bea", "cruz", "dee", "eli"]  # fay is full
    # Someone who passed on this person (or shared a pairing with them) is never asked.
    assert order(excluded={1, 3}) == ["bea", "dee", "eli"]
    # The tie-break is seeded by the request: the same request always asks the same people.
    twins = [mentor(10 + i, {"spanish"}, MADRID) for i in range(6)]
    runs = {tuple(r.candidate.member_id for r in rank(
        twins, request_id=3, requester_member_id=None, tags=["spanish"], schedule=MADRID,
        excluded=set(), now=NOW)) for _ in range(3)}
    assert len(runs) == 1


# -- end to end -------------------------------------------------------------------------------
SIX_MENTORS = SETUP + """
@ana> join
@bea> join
@cruz> join
@dee> join
@eli> join
@fay> join
@nina> join
@zed> join
@yan> join
@bea dm> available set daily 08:00-22:00 timezone:America/Mexico_City
@dee dm> available set daily 01:00-05:00
@ana dm> mentor offer 2 spanish housing
@bea dm> mentor offer spanish
@cruz dm> mentor offer 3 spanish
@dee dm> mentor offer spanish
@eli dm> mentor offer
@fay dm> mentor offer 1 tags:spanish,housing
@zed dm> mentor request @cruz
@cruz dm> mentor accept
@yan dm> mentor request @fay
@fay dm> mentor accept
"""


async def test_the_best_placed_are_asked_anonymised_and_the_next_after_ask_hours(
        console: ConsoleSession) -> None:
    await run_lines(console, SIX_MENTORS)
    said = await run_lines(console, "@nina dm> mentor request spanish housing I just moved "
                                    "here and know nobody")
    assert said[0].startswith("[reply @nina] Request #3 is open. I've asked 3 members")
    assert "Tags: spanish, housing." in said[0]
    assert asked(said) == ["ana", "bea", "cruz"]
    asks = [line for line in said if ASK.match(line)]
    # Anonymised: the tags and the note, never the name.
    assert all("nina" not in line for line in asks)
    assert all("“I just moved here and know nobody”" in line for line in asks)
    assert "You share: spanish, housing." in asks[0]
    assert asks[0].endswith("[actions: mentor accept 3 | mentor pass 3]")

    # Half a day, a crash, another half day: the second round, once, and nina hears of it.
    said = await run_lines(console, ":advance 12h\n:restart\n:advance 11h59m")
    assert asked(said) == []
    said = await run_lines(console, ":advance 1m\n:restart\n:advance 1h")
    assert asked(said) == ["dee", "eli"]
    assert to(said, "nina") == ["[dm @nina] Nobody has said yes to your request #3 yet. "
                                "I've asked 2 more members with room (without your name)."]
    # Nobody left to ask: said honestly; the request stays open.
    said = await run_lines(console, ":advance 1d\n:restart\n:advance 1d")
    assert asked(said) == []
    assert to(said, "nina") == ["[dm @nina] Nobody has said yes to your request #3 yet. "
                                "There's nobody else in Riverbend with room right now. Your "
                                "request stays open, and I'll ask as soon as someone offers."]
    said = await run_lines(console, "@nina dm> mentor status")
    assert "Nobody has room right now" not in said[0]  # five asks are still open
    # Someone new offers: asked at once, and nina hears.
    said = await run_lines(console, "@gus> join\n@gus dm> mentor offer spanish")
    assert asked(said) == ["gus"]
    assert to(said, "nina") == ["[dm @nina] Someone in Riverbend has room now: I've asked "
                                "1 member about your request #3."]
    core = console.core
    assert core is not None
    async with core.db.transaction() as s:
        counted = (await s.execute(select(MentorAsk.member_id, func.count())
                                   .where(MentorAsk.request_id == 3)
                                   .group_by(MentorAsk.member_id))).all()
    assert len(counted) == 6 and all(n == 1 for _, n in counted)  # nobody asked twice
    # An ask from the first round can still say yes, days later.
    said = await run_lines(console, "@ana dm> mentor accept 3")
    assert said[0] == ("[reply @ana] Thank you for saying yes to request #3: you're now "
                       "nina's mentor in Riverbend. I've introduced you to each other.")
    edits = sorted(line.split("]")[0] for line in said if line.startswith("[edit dm"))
    assert edits == ["[edit dm @bea", "[edit dm @cruz", "[edit dm @dee", "[edit dm @eli",
                     "[edit dm @gus"]
    assert ("[room mentor#3 @nina @ana] A private room for nina and ana, mentor and mentee "
            "in Riverbend.") in " ".join(said)
    intro = to(said, "nina")
    assert len(intro) == 1 and intro[0].startswith(
        "[dm @nina] ana said yes to being your mentor in Riverbend. Reach them at @ana")
    assert "A few first questions" in intro[0]
    assert to(said, "ana")[0].startswith("[dm @ana] You're now nina's mentor in Riverbend.")


async def test_three_candidates_saying_yes_in_turn_make_one_pairing(
        console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@ana> join\n@bea> join\n@cruz> join\n@nina> join\n"
                    "@ana dm> mentor offer\n@bea dm> mentor offer\n@cruz dm> mentor offer\n"
                    "@nina dm> mentor request")
    first = await run_lines(console, "@bea dm> mentor accept")
    assert first[0].startswith("[reply @bea] Thank you for saying yes to request #1")
    assert "[edit dm @ana] Mentor request #1 has found a mentor; thank you." in first
    assert "[edit dm @cruz] Mentor request #1 has found a mentor; thank you." in first
    for who in ("ana", "cruz"):
        said = await run_lines(console, f"@{who} dm> mentor accept 1")
        assert said == [f"[reply @{who}] Request #1 has already found a mentor; thank you "
                        "for saying yes."]
    said = await run_lines(console, "@nina dm> mentor status")
    assert "Your mentor: bea" in said[0]


async def test_a_named_member_may_pass_and_the_circle_is_asked_next(
        console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@dave> join\n@erin> join\n@nina> join\n"
                    "@erin dm> mentor offer")
    said = await run_lines(console, "@nina> mentor request @dave someone who knows the camp")
    # Typed in the room, answered in nina's DM: who asked whom is for them.
    assert said[0].startswith("[dm @nina] Request #1 is open: I've asked dave")
    assert asked(said) == ["dave"]
    assert "would like you, by name" in to(said, "dave")[0] and "nina" not in to(said, "dave")[0]
    said = await run_lines(console, "@dave dm> mentor pass")
    assert said[0] == ("[reply @dave] Passed on request #1. Thank you for saying so; no "
                       "reason needed.")
    assert asked(said) == ["erin"]
    assert to(said, "nina") == ["[dm @nina] dave isn't able to take this on right now, and "
                                "that's okay. I've asked 1 more member with room (without your "
                                "name)."]


# -- bad input: one sentence, nothing changed -------------------------------------------------
BAD_SETUP = SETUP + """
@dave> join
@erin> join
@nina> join
@rae> join
@sam> join
@dave dm> mentor offer 2 spanish
@erin dm> mentor offer 1
@rae dm> mentor request
@dave dm> mentor accept
@nina dm> mentor request something in the room
"""

BAD = [
    ("@dave dm> mentor offer 11", "capacity 11 is out of range; use a number from 1 to 10."),
    ("@dave dm> mentor offer 0 spanish", "capacity 0 is out of range; use a number from 1 to 10."),
    ("@erin dm> mentor accept 1", "Request #1 has already found a mentor; thank you for "
                                  "saying yes."),
    ("@sam dm> mentor accept 1", "Request #1 wasn't asked of you; nothing changed."),
    ("@rae dm> mentor accept 1", "Request #1 is your own; someone else will answer it."),
    ("@sam dm> mentor accept 99", "Request #99 wasn't asked of you; nothing changed."),
    ("@sam dm> mentor accept", "You have no open mentor requests to answer."),
    ("@nina dm> mentor request", "You already have request #2 open. 2 members have been asked "
                                 "so far; no yes yet."),
    ("@rae dm> mentor request", "You already have a mentor here, dave; mentor end first if "
                                "you'd like someone else."),
    ("@sam dm> mentor end", "You have no current mentor pairing in Riverbend; mentor status "
                            "shows what you have."),
    ("@dave dm> mentor end @sam", "You're not paired with @sam; your pairings: rae."),
    ("@sam dm> mentor request @zoe", "@zoe isn't a member of Riverbend; ask someone in the "
                                     "circle, as in mentor request @name."),
    ("@sam dm> mentor request @sam", "You can't be your own mentor; mentor request asks the "
                                     "circle, or @name someone else."),
    ("@sam dm> mentor pause", "You're not offering to mentor in Riverbend; mentor offer "
                              "starts, e.g. mentor offer 2 spanish."),
    ("@sam dm> mentor cancel", "You have no open mentor request."),
    ("@rae dm> mentor nudges maybe", 'state "maybe" is not one of the choices; use one of: '
                                     "on, off."),
    ("@sam> dyads off outreach", "dyads off takes nothing after it."),
    ("@sam> dyads outreach", "To join with those tags, say dyads on outreach."),
    ("@sam dm> mentor offer " + "x" * 40, 'A tag can be up to 32 characters; "' + "x" * 40
     + '" is longer.'),
]


@pytest.mark.parametrize(("line", "sentence"), BAD, ids=[b[0] for b in BAD])
async def test_bad_mentor_input_is_one_sentence_and_changes_nothing(
        console: ConsoleSession, line: str, sentence: str) -> None:
    await run_lines(console, BAD_SETUP)
    before = await snapshot(console)
    said = await run_lines(console, line)
    assert len(said) == 1 and said[0].split("] ", 1)[1] == sentence, said
    assert await snapshot(console) == before


async def test_unknown_tags_are_fine_and_match_nothing(console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@dave> join\n@nina> join\n@dave dm> mentor offer legal")
    said = await run_lines(console, "@nina dm> mentor request tags:Knitting,SPANISH hi")
    assert "Tags: knitting, spanish." in said[0]
    assert asked(said) == ["dave"]  # no tag in common, but dave has room
    assert "You share" not in to(said, "dave")[0]


# -- the pairing at work ----------------------------------------------------------------------
PAIRED = SETUP + """
@dave> join
@erin> join
@nina> join
@dave dm> mentor offer spanish
@nina dm> mentor request spanish
@dave dm> mentor accept
"""


async def test_a_mentor_only_checkin_reaches_the_mentor_and_no_one_else(
        console: ConsoleSession) -> None:
    said = await run_lines(console, SETUP + "@nina> join\n@dave> join\n"
                           "@nina dm> checkin 2 visibility:mentor nobody to tell yet")
    assert said[-1] == ("[reply @nina] Checked in for your mentor only, but you don't have a "
                        "mentor yet, so it stays private, in your journal. mentor request if "
                        "you'd like one.")
    await run_lines(console, "@erin> join\n@dave dm> mentor offer\n@nina dm> mentor request\n"
                    "@dave dm> mentor accept")
    said = await run_lines(console, "@nina dm> checkin 2 visibility:mentor rough first week")
    assert said[0] == ("[reply @nina] Checked in for your mentor only: dave has it, and "
                       "nobody else.")
    carrying = [line for line in said if "rough first week" in line]
    assert carrying == ["[dm @dave] nina checked in for you, as their mentor in Riverbend: "
                        "2/5 — rough first week"]
    said = await run_lines(console, "@erin> checkins\n@dave> checkins")
    assert not any("rough" in line or "nobody to tell" in line for line in said)


async def test_a_mentees_call_pages_the_mentor_first(console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@alice> circle settings wave_size:1\n"
                    "@bob> join\n@carol> join\n@dave> join\n@nina> join\n"
                    "@bob dm> available set daily any\n@carol dm> available set daily any\n"
                    "@dave dm> available set daily any\n"
                    "@dave dm> mentor offer\n@nina dm> mentor request\n@dave dm> mentor accept")
    said = await run_lines(console, "@nina dm> call")
    pages = [line.split("]")[0] for line in said if "Lifeline page #1" in line]
    assert pages == ["[dm @dave"]
    # Not reachable (snoozed): the lifeline goes on as ever, with the others.
    await run_lines(console, "@nina dm> call cancel\n:advance 1h\n@dave dm> available snooze 8h")
    said = await run_lines(console, "@nina dm> call")
    pages = [line.split("]")[0] for line in said if "Lifeline page #2" in line]
    assert len(pages) == 1 and pages[0] in ("[dm @bob", "[dm @carol")


async def test_weekly_nudges_come_in_each_ones_morning_and_each_side_may_stop_them(
        sim: ConsoleSession) -> None:
    console = sim
    console.show_time = True
    await run_lines(console, SETUP + "@dave> join\n@nina> join\n"
                    "@dave dm> available set daily any timezone:Asia/Tokyo\n"
                    "@dave dm> mentor offer\n@nina dm> mentor request\n@dave dm> mentor accept")
    said = await fast_lines(console, ":advance 7d6h")
    nudges = [line for line in said if "talked this week" in line]
    # 10:00 in Tokyo (01:00Z) for dave, 10:00 in Madrid (09:00Z) for nina.
    assert nudges == [
        "2026-11-29T01:00:00Z [dm @dave] Have you and nina talked this week? Even a short "
        "message counts. If these reminders don't help, mentor nudges off stops them; no one "
        "is keeping score.",
        "2026-11-29T09:00:00Z [dm @nina] Have you and dave talked this week? Even a short "
        "message counts. If these reminders don't help, mentor nudges off stops them; no one "
        "is keeping score."]
    said = await fast_lines(console, "@nina dm> mentor nudges off\n:restart\n:advance 7d")
    assert "No more weekly nudges for your pairing with dave." in said[0]
    # nina said no more; dave still gets his (each side's own choice).
    assert [line.split()[2] for line in said if "talked this week" in line] == ["@dave]"]
    said = await fast_lines(console, "@dave dm> mentor end\n:advance 14d")
    assert not any("talked this week" in line for line in said)


async def test_either_side_ends_without_fault_and_a_waiting_request_is_asked(
        console: ConsoleSession) -> None:
    await run_lines(console, PAIRED + "@dave dm> mentor offer 1\n@erin dm> mentor request")
    said = await run_lines(console, "@nina dm> mentor end")
    # No reason given: none is invented. Both thanked.
    assert said[0] == ("[reply @nina] Done: you and dave are no longer paired in Riverbend. No "
                       "fault and no reason needed; thank you for the time you gave each "
                       "other.")
    assert to(said, "dave") == [
        "[dm @dave] nina has ended your mentor pairing in Riverbend. That's no-fault; thank you "
        "for the time you gave each other.",
        "[dm @dave] Mentor request #2 from Riverbend: someone would like a mentor. | You'll "
        "learn who it is if you say yes. mentor accept 2 to say yes, or mentor pass 2; no "
        "reason needed. [actions: mentor accept 2 | mentor pass 2]"]  # room again: erin's
    assert to(said, "erin") == ["[dm @erin] Someone in Riverbend has room now: I've asked 1 "
                                "member about your request #2."]
    said = await run_lines(console, "@dave dm> mentor accept\n@erin dm> mentor end it was kind")
    assert said[-2].startswith("[reply @erin] Done: you and dave are no longer paired")
    assert said[-2].endswith("I passed your words on.")
    assert said[-1] == ("[dm @dave] erin has ended your mentor pairing in Riverbend. That's "
                        "no-fault; thank you for the time you gave each other. | They asked "
                        "me to pass this on: “it was kind”")
    # A week later, one gentle word to each mentee (neither has a mentor again).
    said = await run_lines(console, ":advance 8d")
    for mentee in ("nina", "erin"):
        assert to(said, mentee) == [f"[dm @{mentee}] If you'd like another mentor in Riverbend, "
                                    "mentor request is there whenever you're ready. Nothing is "
                                    "needed."]


async def test_leaving_ends_pairings_and_withdraws_requests(console: ConsoleSession) -> None:
    await run_lines(console, PAIRED + "@erin dm> mentor offer\n@bob> join\n@bob dm> "
                    "mentor request")
    said = await run_lines(console, "@dave> leave")
    assert to(said, "nina") == ["[dm @nina] dave has left Riverbend, so your mentor pairing "
                                "has ended. Thank you for the time you gave each other."]
    said = await run_lines(console, "@bob> leave")
    assert "[edit dm @erin] Mentor request #2 was withdrawn; thank you all the same." in said
    said = await run_lines(console, "@nina dm> mentor status\n@alice> circle info")
    assert "Your mentor" not in said[0]
    assert "Mentors with room: 1" in said[1] and "Requests waiting for a mentor: 0" in said[1]


async def test_circle_info_counts_and_never_names(console: ConsoleSession) -> None:
    said = await run_lines(console, PAIRED + "@erin dm> mentor offer 1\n@bob> join\n"
                           "@bob dm> mentor request\n@alice> circle info")
    info = said[-1]
    assert "Mentors with room: 2" in info and "Requests waiting for a mentor: 1" in info
    assert not any(n in info for n in ("dave", "erin", "nina", "bob"))


async def test_forget_and_export_cover_mentorship(console: ConsoleSession) -> None:
    await run_lines(console, PAIRED + "@erin dm> mentor offer\n"
                    "@nina dm> checkin 3 visibility:mentor fine")
    core = console.core
    assert core is not None
    async with core.db.transaction() as s:
        dave = (await s.execute(select(Person).where(Person.platform_user_id == "dave"))
                ).scalar_one()
        nina = (await s.execute(select(Person).where(Person.platform_user_id == "nina"))
                ).scalar_one()
        ctx = Ctx(core=core, session=s, now=console.clock.now(),
                  out=OutboxWriter(s, console.clock.now(), "test"), texts=Texts())
        exported = (await core.export_person(ctx, nina))["mentorship"]
        assert exported["requests"][0]["tags"] == ["spanish"]
        assert exported["pairings"] == [{"role": "mentee", "started_at": exported["pairings"][0][
            "started_at"], "ended_at": None}]
        assert (await core.export_person(ctx, dave))["mentorship"]["pairings"][0]["role"] == (
            "mentor")
        await core.forget_person(ctx, dave)
    await console.drain()
    said = console.take()
    # nina is told, without a name (dave asked to be forgotten).
    assert to(said, "nina") == ["[dm @nina] Your mentor pairing in Riverbend has ended: the "
                                "other person has left peercircle. Thank you for the time you "
                                "gave each other."]
    async with core.db.transaction() as s:
        assert (await s.execute(select(func.count()).select_from(MentorPairing))
                ).scalar_one() == 0
        assert (await s.execute(select(func.count()).select_from(MentorRequest))
                ).scalar_one() == 1  # nina's, unlinked from dave
        rooms = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "room"))
                 ).scalars().all()
        assert rooms == []


async def test_a_closed_requests_note_is_kept_no_longer_than_checkin_notes(
        console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@alice> circle settings retention_days:2\n@dave> join\n"
                    "@nina> join\n@dave dm> mentor offer\n@nina dm> mentor request hello there\n"
                    "@erin> join\n@erin dm> mentor request still looking")
    await run_lines(console, "@dave dm> mentor accept 1\n:advance 3d")
    core = console.core
    assert core is not None
    async with core.db.transaction() as s:
        notes = dict((await s.execute(select(MentorRequest.id, MentorRequest.note))).all())
    assert notes == {1: None, 2: "still looking"}  # the open one still needs its words


async def test_the_console_shows_who_a_private_room_is_for(tmp_path: Path) -> None:
    from adapters.console import ConsoleDeliverer
    from bot.outbox import Outgoing

    out: list[str] = []
    deliverer = ConsoleDeliverer(out.append, tmp_path)
    room = Outgoing(id=1, key="k", kind="room", text="hello", room_id=None, user_id=None,
                    meta={"room_label": "mentor#4", "room_members": ["nina", "dave"]},
                    attempts=1)
    await deliverer.deliver(room)
    await deliverer.deliver(Outgoing(id=2, key="e", kind="edit", text="bye", room_id=None,
                                     user_id=None, meta={}, attempts=1, edit_target=room))
    assert out == ["[room mentor#4 @nina @dave] hello", "[edit room mentor#4 @nina @dave] bye"]


async def test_a_paused_mentor_is_asked_again_only_after_offering_again(
        console: ConsoleSession) -> None:
    said = await run_lines(console, SETUP + "@dave> join\n@nina> join\n@dave dm> mentor offer\n"
                           "@dave dm> mentor pause\n@nina dm> mentor request")
    assert said[-2] == ("[reply @dave] Paused: nobody new is asked of you until you say mentor "
                        "offer again. Your current pairings go on.")
    assert asked(said) == []
    assert said[-1].startswith("[reply @nina] Request #1 is open, but right now nobody in "
                               "Riverbend has room to mentor.")
    said = await run_lines(console, "@dave dm> mentor offer")
    assert asked(said) == ["dave"]
    said = await run_lines(console, "@dave dm> mentor accept\n@dave dm> mentor stop\n"
                           "@dave dm> mentor status")
    assert said[-2].startswith("[reply @dave] You've stopped offering to mentor in Riverbend")
    assert said[-1] == ("[reply @dave] Mentorship in Riverbend: | You mentor nina (since "
                        "2026-11-22). | You're not offering to mentor.")


async def test_one_offer_reaches_every_waiting_request(console: ConsoleSession) -> None:
    said = await run_lines(console, SETUP + "@nina> join\n@erin> join\n@dave> join\n"
                           "@nina dm> mentor request\n@erin dm> mentor request\n"
                           "@dave dm> mentor offer")
    assert asked(said) == ["dave", "dave"]
    for who, n in (("nina", 1), ("erin", 2)):
        assert to(said, who) == [f"[dm @{who}] Someone in Riverbend has room now: I've asked "
                                 f"1 member about your request #{n}."]
