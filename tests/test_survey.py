"""The pulse survey: withheld at 2 answers, posted at 3, never naming anyone; free text quoted
only when at least 3 wrote one and the circle chose to share; after close the database holds
nothing that links an answer to a person; bad answers change nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, inspect, select

from adapters.console import ROOM, ConsoleSession
from bot.clock import FakeClock
from bot.features.survey.models import PulseAnswer, PulseAnswered, PulseSurvey
from bot.refs import Place
from storage.models import Base
from tests.conftest import DbSpec, run_lines
from tests.meeting_helpers import jump, walk
from tests.test_bad_input import snapshot
from tests.test_lifeline_races import cores, who

NAMES = ("alice", "bob", "carol", "dave")


async def _circle(console: ConsoleSession) -> None:
    console.clock.set(datetime(2026, 12, 1, 17, tzinfo=UTC))  # type: ignore[attr-defined]
    await run_lines(console, "\n".join([
        "@alice> circle setup name:Riverbend timezone:America/New_York",
        *(f"@{n}> join" for n in NAMES[1:])]))


async def _answer(console: ConsoleSession, who: str, survey: int, values: tuple[int, ...],
                  words: str | None) -> list[str]:
    lines = [f"@{who} dm> survey answer {survey} {q} {v}" for q, v in enumerate(values, 1)]
    if words:
        lines.append(f"@{who} dm> survey answer {survey} 5 {words}")
    return await run_lines(console, "\n".join(lines))


async def _close(console: ConsoleSession) -> list[str]:
    said = await walk(console, console.clock.now() + timedelta(days=7, minutes=1))
    return [line for _, line in said if line.startswith("[room]")]


async def test_withheld_at_two_posted_at_three_never_naming_anyone(
        console: ConsoleSession) -> None:
    await _circle(console)
    said = await run_lines(console, "@alice> survey open")
    invites = [line for line in said if line.startswith("[dm @") and "pulse survey" in line]
    assert len(invites) == 4  # every member, by DM, with the answers as actions
    assert all("[actions: survey answer 1 1 1 | survey answer 1 1 2" in i for i in invites)
    await _answer(console, "bob", 1, (4, 3, 2, 5), "thank you all")
    await _answer(console, "carol", 1, (2, 3, 4, 4), "more repair please")
    said = await walk(console, console.clock.now() + timedelta(days=7, minutes=1))
    room = [line for _, line in said if line.startswith("[room]")]
    # One reminder, to those who answered nothing.
    reminded = sorted(line.split("]")[0] for _, line in said if "A gentle reminder" in line)
    assert reminded == ["[dm @alice", "[dm @dave"]
    assert room == ["[room] The pulse survey has closed. Fewer than 3 answered, so no result "
                    "is shown: with so few, answers could be told apart."]

    said = await run_lines(console, "@alice> survey open share:yes")
    assert any("written answers are quoted if at least 3 wrote one" in line for line in said)
    await _answer(console, "bob", 2, (4, 3, 2, 5), "thank you all")
    await _answer(console, "carol", 2, (2, 3, 4, 4), "more repair please")
    await _answer(console, "dave", 2, (5, 5, 4, 4), "glad to be here")
    room = await _close(console)
    assert len(room) == 1
    result = room[0]
    assert result.startswith("[room] The pulse survey has closed: 3 answered, anonymously.")
    assert ("1. How have relational harms been surfaced and healed in our circle? "
            "1: 0  2: 1  3: 0  4: 1  5: 1 (3 answers)") in result
    assert "“glad to be here” | “more repair please” | “thank you all”" in result
    for name in NAMES:
        assert name not in result
    await _assert_unlinked(console)


async def test_free_text_stays_unread_unless_three_wrote_and_the_circle_chose(
        console: ConsoleSession) -> None:
    await _circle(console)
    await run_lines(console, "@alice> survey open share:yes")
    await _answer(console, "bob", 1, (3, 3, 3, 3), "only two wrote")
    await _answer(console, "carol", 1, (3, 3, 3, 3), "so it stays")
    await _answer(console, "dave", 1, (3, 3, 3, 3), None)
    (result,) = await _close(console)
    assert "3 answered" in result and "only two wrote" not in result and "so it stays" \
        not in result
    assert "Written answers are not quoted" in result
    await run_lines(console, "@alice> survey open")  # share not chosen
    for name in ("bob", "carol", "dave"):
        await _answer(console, name, 2, (3, 3, 3, 3), f"words of {name}")
    (result,) = await _close(console)
    assert "words of" not in result
    await _assert_unlinked(console)


async def _assert_unlinked(console: ConsoleSession) -> None:
    """No marks left, no free text left, and the answers table has no column that could
    point at a person or a moment."""
    assert console.core is not None
    async with console.core.db.transaction() as s:
        assert (await s.execute(select(func.count()).select_from(PulseAnswered))).scalar() == 0
        assert (await s.execute(select(func.count()).select_from(PulseAnswer)
                                .where(PulseAnswer.text.is_not(None)))).scalar() == 0
        assert (await s.execute(select(func.count()).select_from(PulseAnswer))).scalar() > 0
        assert all(x.state == "closed" for x in (await s.execute(select(PulseSurvey))).scalars())
    table = Base.metadata.tables["pulse_answers"]
    assert {c.name for c in table.columns} == {"id", "survey_id", "question", "value", "text"}
    assert {fk.column.table.name for c in table.columns for fk in c.foreign_keys} == \
        {"pulse_surveys"}
    assert inspect(PulseAnswer).primary_key[0].name == "id"


async def test_bad_survey_input_changes_nothing(console: ConsoleSession) -> None:
    await _circle(console)
    await run_lines(console, "@alice> survey open\n@bob dm> survey answer 1 1 4")
    cases = [
        ("@alice> survey open",
         "A pulse survey is already open, until Tue 08 Dec 12:00; there is one at a time."),
        ("@carol dm> survey answer 1 2 7",
         '"7" is not an answer to question 2; answer with a number from 1 to 5.'),
        ("@carol dm> survey answer 1 2 0",
         '"0" is not an answer to question 2; answer with a number from 1 to 5.'),
        ("@carol dm> survey answer 1 2 great",
         '"great" is not an answer to question 2; answer with a number from 1 to 5.'),
        ("@bob dm> survey answer 1 1 5",
         "You answered question 1 already; answers can't be changed, since they aren't "
         "linked to you."),
        ("@carol dm> survey answer 9 1 5", "There is no pulse survey 9 in your circles."),
        ("@carol dm> survey answer 0 1 5",
         "survey 0 is out of range; use a whole number from 1 up."),
        ("@bob> survey open", "Only a steward can use survey open; ask"),
    ]
    for line, expected in cases:
        before = await snapshot(console)
        said = await run_lines(console, line)
        assert len(said) == 1, said
        assert said[0].split("] ", 1)[1].startswith(expected), (line, said)
        assert await snapshot(console) == before, line


async def test_paused_and_sleeping_members_get_it_later_or_not_at_all(
        console: ConsoleSession) -> None:
    console.clock.set(datetime(2026, 12, 1, 17, tzinfo=UTC))  # type: ignore[attr-defined]
    said = await run_lines(console, """
        @alice> circle setup name:Riverbend timezone:America/New_York
        @bob> join
        @carol> join
        @bob dm> available set daily any timezone:Asia/Tokyo
        @carol dm> pause 2w
        @alice> survey open
    """.replace("        ", ""))
    assert not any(line.startswith(("[dm @bob]", "[dm @carol]")) and "pulse survey" in line
                   for line in said), said  # 02:00 in Tokyo; carol is away
    later = await jump(console, datetime(2026, 12, 1, 23, tzinfo=UTC))  # 08:00 in Tokyo
    assert [at for at, line in later if line.startswith("[dm @bob]")
            and "pulse survey" in line] == [datetime(2026, 12, 1, 23, tzinfo=UTC)]
    rest = await jump(console, datetime(2026, 12, 9, tzinfo=UTC))
    assert not any(line.startswith("[dm @carol]") and "pulse survey" in line for _, line in rest)



async def test_two_stewards_open_one_survey_and_two_presses_keep_one_answer(
        console: ConsoleSession, db_spec: DbSpec, clock: FakeClock) -> None:
    """Real races on PostgreSQL (each core is its own process); serial on SQLite."""
    await _circle(console)
    async with cores(db_spec, clock, 2) as two:
        room = Place(ROOM, actor_is_room_admin=True)  # alice, and a room admin, at once
        opened = await asyncio.gather(
            two[0].handle_text("survey open", who("alice"), Place(ROOM)),
            two[1].handle_text("survey open", who("bob"), room))
        texts = sorted(a.text for a in opened)
        assert texts[0].startswith("A pulse survey is already open"), texts
        assert texts[1].startswith("Opened."), texts
        answers = await asyncio.gather(*(
            core.handle_text("survey answer 1 1 4", who("carol"), Place.direct())
            for core in two))
        assert sorted(a.text for a in answers) == [
            "Noted, without your name. Thank you.",
            "You answered question 1 already; answers can't be changed, since they aren't "
            "linked to you."]
    assert console.core is not None
    async with console.core.db.transaction() as s:
        assert (await s.execute(select(func.count()).select_from(PulseAnswer))).scalar() == 1
        assert (await s.execute(select(func.count()).select_from(PulseSurvey))).scalar() == 1


async def test_a_spanish_member_is_invited_with_spanish_dates(console: ConsoleSession) -> None:
    await _circle(console)
    said = await run_lines(console, "@bob dm> me language es\n@alice> survey open\n"
                                    "@bob> survey")
    bob = [line for line in said if line.startswith("[dm @bob] Encuesta")]
    assert bob and "abierta hasta el mar 08 dic 12:00" in bob[0]
    assert "[reply @bob] La encuesta de pulso está abierta hasta el mar 08 dic 12:00" \
        in "\n".join(said)
    alice = [line for line in said if line.startswith("[dm @alice]")]
    assert alice and "open until Tue 08 Dec 12:00" in alice[0]


async def test_a_question_fewer_than_three_answered_shows_no_counts(
        console: ConsoleSession) -> None:
    """Three answered the survey, but only Bob went past the first question: the room must
    not learn his answers to the others from counts of one."""
    await _circle(console)
    await run_lines(console, "@alice> survey open")
    await _answer(console, "bob", 1, (4, 2, 5, 1), None)
    await _answer(console, "carol", 1, (3,), None)
    await _answer(console, "dave", 1, (5,), None)
    (result,) = await _close(console)
    assert "3 answered" in result
    assert "1: 0  2: 0  3: 1  4: 1  5: 1 (3 answers)" in result
    assert result.count("Fewer than 3 answered this one, so its counts are not shown.") == 3
    assert "(1 answers)" not in result and "2: 1" not in result
