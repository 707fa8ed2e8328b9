"""`me`, `me export`, `me forget`, `me language`: each member's data in their own hands."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select, text

from adapters.console import ConsoleSession
from bot.features.checkins.models import Checkin
from bot.features.lifeline.models import LifelineRequest
from bot.features.repair.models import RepairRequest
from bot.features.survey.models import PulseTally
from bot.refs import Invocation, Place
from storage.models import Base
from tests.conftest import run_lines
from tests.test_lifeline_races import who

STORY = """
@alice> circle setup name:Riverbend timezone:Europe/Berlin
@bob> join
@carol> join
@bob> checkin 3 open words
@bob dm> checkin 2 private words visibility:private
@bob dm> checkin 2 mentor words visibility:mentor
@bob> checkin 4 anonymous anon words
@carol> checkin 3 carols words
@carol dm> available set daily any
@bob dm> available set daily any
@bob dm> call bobs lifeline note
@carol dm> ack
@carol dm> call carols own call
@bob dm> ack
@bob dm> repair request about:@carol bobs repair note
@bob dm> repair confirm
@bob dm> mentor offer 2 housing
@alice> survey open
@bob dm> survey answer 1 1 4
"""


def _export_file(said: list[str]) -> Path:
    line = next(line for line in said if "[file: " in line)
    return Path(line.split("[file: ", 1)[1].split("]", 1)[0])


async def test_export_holds_everything_of_the_member_and_nothing_of_anyone_else(
        console: ConsoleSession, tmp_path: Path) -> None:
    console.files_dir = tmp_path
    await run_lines(console, STORY)
    said = await run_lines(console, "@bob> me export")
    assert said[0].startswith("[dm @bob] Here is everything")  # typed in the room: private
    data = json.loads(_export_file(said).read_text())
    notes = {c["note"] for c in data["checkins"]["checkins"]}
    assert notes == {"open words", "private words", "mentor words", "anon words"}
    assert data["lifeline"]["requests"][0]["note"] == "bobs lifeline note"
    assert len(data["lifeline"]["pages_received"]) == 1
    assert data["availability"]["availability"][0]["windows"] == "daily any"
    assert data["circles"]["person"]["id"] == "bob"
    [repair] = data["repair"]["repair_requests"]
    assert repair["note"] == "bobs repair note" and repair["state"] == "convened"
    assert [h["state"] for h in repair["history"]] == ["open", "convened"]
    assert data["mentorship"]["offers"][0]["tags"] == ["housing"]
    # The answer itself was never linked to bob; that he answered (while open) is his.
    assert data["survey"] == {"open_surveys_answered": [{"survey": 1, "questions": 1}]}
    dumped = json.dumps(data)
    assert "carol" not in dumped.lower()  # not her name, her words, nor her call


async def test_forget_leaves_nothing_that_names_the_member_and_counts_stay(
        console: ConsoleSession) -> None:
    await run_lines(console, STORY)
    core = console.core
    assert core is not None

    async def counts() -> tuple[int, ...]:
        async with core.db.transaction() as s:
            return tuple([(await s.execute(select(func.count()).select_from(table))
                           ).scalar_one()
                          for table in (Checkin, LifelineRequest, RepairRequest,
                                        PulseTally)])

    before = await counts()
    said = await run_lines(console, "@bob dm> me forget")
    assert said[0].startswith("[reply @bob] This deletes everything")
    assert await counts() == before
    said = await run_lines(console, "@bob dm> me forget confirm")
    assert said[0].startswith("[reply @bob] Done: I no longer hold anything that names you.")
    assert "4 check-ins" in said[0] and "1 repair request" in said[0]
    assert await counts() == before  # the circle's counts are unchanged
    # Table by table: no row holds bob's id, name or words.
    async with core.db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            rows = (await s.execute(text(f'SELECT * FROM "{table.name}"'))).all()
            for row in rows:
                flat = " ".join(str(v) for v in row)
                assert "bob" not in flat, (table.name, flat)
                for words in ("open words", "private words", "mentor words", "anon words",
                              "bobs lifeline note", "bobs repair note"):
                    assert words not in flat, (table.name, words)


async def test_language_is_the_members_own(console: ConsoleSession) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin\n"
                             "@bob> join")
    said = await run_lines(console, "@bob dm> me language klingon")
    assert said == ['[reply @bob] "klingon" is not a language I speak; choose one of: en, es.']
    said = await run_lines(console, "@bob dm> me language es\n@bob dm> checkin 3 bien")
    assert said[0] == "[reply @bob] A partir de ahora te hablaré en es."
    assert said[1].startswith("[reply @bob] Registrado")
    # Every sentence, errors included: availability windows, an unknown command, repair.
    said = await run_lines(console, "@bob dm> available set funday any\n"
                                    "@bob dm> repair confirm\n"
                                    "@bob dm> repair request it hurt")
    assert said[0] == ('[reply @bob] "funday" no es un día; usa mon, tue, wed, thu, fri, sat, '
                       "sun o un intervalo como mon-fri")
    assert said[1].startswith("[reply @bob] No tienes ninguna petición de reparación")
    assert said[2].startswith("[reply @bob] La petición de reparación #1 en Riverbend la "
                              "escucharían: alice.")
    # Dates too: day and month names in the member's language.
    said = await run_lines(console, "@bob dm> available set daily any Europe/Berlin\n"
                                    "@bob dm> available snooze 2h")
    assert "dom 22 nov 07:00" in said[-1], said
    assert console.core is not None
    answer = await console.core.invoke(Invocation("no such", who("bob"), Place.direct()))
    assert answer.text == 'No conozco "no such"; escribe help para ver la lista de comandos.'


async def test_me_names_every_kind_of_thing_in_words_in_the_member_s_language(
        console: ConsoleSession) -> None:
    """`me` counts what is held, each kind said in words: no export key (`open surveys
    answered`, `nudges`), and a mentor request is not called a lifeline request."""
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin\n"
                             "@bob> join\n@bob dm> mentor request housing\n"
                             "@bob dm> nudges on\n@bob dm> meeting remind on\n"
                             "@alice> survey open\n@bob dm> survey answer 1 1 4")
    (said,) = await run_lines(console, "@bob dm> me")
    assert "lifeline" not in said and "- 1 mentor requests" in said
    assert "- 1 nudge choices" in said and "- 1 open pulse surveys you answered" in said
    assert "- 1 circles whose meeting reminders you get by DM" in said
    said = (await run_lines(console, "@bob dm> me language es\n@bob dm> me"))[-1]
    assert "peticiones de mentoría" in said and "encuestas de pulso abiertas" in said
    assert "open surveys" not in said and "nudges" not in said
