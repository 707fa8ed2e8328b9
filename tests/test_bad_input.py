"""Bad input: one clear sentence, and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from adapters.console import ConsoleSession
from storage.models import Base
from tests.conftest import run_lines


async def snapshot(console: ConsoleSession) -> dict[str, object]:
    """Every row of every table (people's display names aside), to prove nothing changed."""
    state: dict[str, object] = {}
    assert console.core is not None
    async with console.core.db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            if table.name == "people":
                state[table.name] = (await s.execute(
                    select(func.count()).select_from(table))).scalar_one()
                continue
            rows = (await s.execute(select(table))).all()
            state[table.name] = sorted(tuple(map(str, r)) for r in rows)
    return state


CASES = [
    ("@alice> circle setup name:Other timezone:Europe/Berlin",
     "This room already has a circle, Riverbend; use circle settings to change it."),
    ("@alice> circle setup name:x timezone:Europe/Berln",
     'timezone "Europe/Berln" is not a known timezone; try Europe/Berlin.'),
    ("@alice> chekin 3", 'I don\'t know "chekin"; did you mean checkin? Type help for the list.'),
    ("@alice> checkin 0 low", "mood 0 is out of range; use a number from 1 to 5 "
                              "(1 is awful, 5 is great)."),
    ("@alice> checkin 3 " + "word " * 300, "note is 1499 characters; the limit is 1000."),
    ("@dave> checkin 3 hello", "You're not a member of Riverbend yet; type join in its room "
                               "first."),
    ("@alice dm> circle settings retention_days:5",
     "circle settings belongs in the circle's room, not in a direct message."),
    ("@alice dm> join", "join belongs in the circle's room, not in a direct message."),
    ("@bob> circle settings retention_days:5",
     "Only a steward can use circle settings; ask your circle's steward."),
    ("@alice> circle settings retention_days:0",
     "retention_days 0 is out of range; use a number from 1 to 3650."),
    ("@alice> circle settings wave_minutes:30 give_up_minutes:10",
     "give_up_minutes (10) must be at least wave_minutes (30)."),
    ("@alice> followups maybe", 'state "maybe" is not one of the choices; use one of: on, off.'),
    ("@alice> help nosuch", 'I don\'t know "nosuch"; type help for the list of commands.'),
    ("@carol dm> checkin 3", "You're not in a circle yet; type join in a circle's room first."),
    # A timezone said last is blamed for itself, not the windows before it.
    ("@bob dm> available set any Berlin",
     'timezone "Berlin" is not a known timezone; try Europe/Berlin.'),
    ("@bob dm> available set mon-fri 21:00-02:00, sat-sun any london",
     'timezone "london" is not a known timezone; try Europe/London.'),
    ("@bob dm> available set daily any UTC+1",
     'timezone "UTC+1" is not a known timezone; try Europe/Berlin.'),
    ("@bob dm> available set any Berlin timezone:Europe/Berlin",
     'timezone "Berlin" is not a known timezone; try Europe/Berlin.'),
    # A window word is still a window word, whatever the case, and is blamed as one.
    ("@bob dm> available set mon-fri evenings",
     '"evenings" is not a time range; write it like 21:00-02:00'),
    ("@bob dm> available set Funday Any",
     '"funday" is not a day; use mon, tue, wed, thu, fri, sat, sun or a range like mon-fri'),
    # Zone files that name no place: the host's own setting, tzdata's placeholder, and so on.
    ("@bob dm> available set any timezone:localtime",
     'timezone "localtime" is not a known timezone; try Europe/Berlin.'),
    ("@bob dm> available set any timezone:Factory",
     'timezone "Factory" is not a known timezone; try Europe/Berlin.'),
    ("@bob dm> available set any timezone:posixrules",
     'timezone "posixrules" is not a known timezone; try Europe/Berlin.'),
    ("@bob dm> available set any timezone:Etc/Unknown",
     'timezone "Etc/Unknown" is not a known timezone; try Europe/Berlin.'),
    ("@bob dm> available set any localtime",
     'timezone "localtime" is not a known timezone; try Europe/Berlin.'),
    ("@alice> circle settings timezone:Factory",
     'timezone "Factory" is not a known timezone; try Europe/Berlin.'),
    # A snooze into the past says so, with an example a week ahead (05:00 in Berlin now).
    ("@bob dm> available snooze 2020-01-01",
     '"2020-01-01" is in the past; snooze for a while like 8h, until a time like 07:00, or '
     "until a later date like 2026-11-29."),
    ("@bob dm> available snooze 2026-11-22T04:30",
     '"2026-11-22T04:30" is in the past; snooze for a while like 8h, until a time like 07:00, '
     "or until a later date like 2026-11-29."),
    ("@bob dm> available snooze 2027-06-01", "A snooze can last at most 90 days; for longer, "
                                             "use available off."),
    ("@bob dm> available snooze someday",
     '"someday" is not a time I understand; use a duration like 8h or 2d, a time like 07:00, '
     "or a date like 2026-11-29."),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
async def test_bad_input_changes_nothing(console: ConsoleSession, line: str,
                                         expected: str) -> None:
    await run_lines(console, """
        @alice> circle setup name:Riverbend timezone:Europe/Berlin
        @bob> join
        @alice> checkin 3 here
    """.replace("        ", ""))
    before = await snapshot(console)
    said = await run_lines(console, line)
    name = line.split(">")[0].split()[0].lstrip("@")
    # A check-in's rejection can quote what it carried: typed in the room, it is answered
    # in the member's direct conversation, and the room sees nothing.
    in_room = " dm>" not in line
    private = in_room and line.split(">", 1)[1].split()[:1] == ["checkin"]
    assert said == [f"[{'dm' if private else 'reply'} @{name}] {expected}"]
    after = await snapshot(console)
    assert after == before


async def test_no_circle_in_room_says_how_to_start_one(console: ConsoleSession) -> None:
    said = await run_lines(console, "@alice> join")
    assert said == ["[reply @alice] There is no circle here yet; a steward can start one with: "
                    'circle setup name:"Our circle" timezone:Europe/Berlin']


async def test_several_circles_in_a_dm_ask_which(console: ConsoleSession) -> None:
    from bot.refs import Place, RoomRef, UserRef

    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin")
    core = console.core
    assert core is not None
    other = Place(RoomRef("console", "second-room"))
    await core.handle_text("circle setup name:Hillside timezone:UTC",
                           UserRef("console", "alice", "alice"), other)
    await console.drain()
    console.take()
    said = await run_lines(console, "@alice dm> checkin 3")
    assert said == ['[reply @alice] You\'re in several circles (Riverbend, Hillside); add '
                    'circle:"Name" to say which.']
    said = await run_lines(console, "@alice dm> checkin 3 circle:hillside")
    assert said == ["[reply @alice] Checked in; it's posted in Hillside's room for the circle "
                    "to see.",
                    "[room] alice checked in: 3/5"]


async def test_a_crash_on_odd_input_changes_nothing_and_logs_no_content(
        console: ConsoleSession, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import logging

    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin")
    core = console.core
    assert core is not None

    async def broken(ctx: object, args: dict[str, object]) -> str:
        raise ValueError(f"bad value: {args['note']}")  # as a driver error quoting a parameter

    monkeypatch.setitem(core.features.handlers, "checkin", broken)
    before = await snapshot(console)
    with caplog.at_level(logging.INFO):
        said = await run_lines(console, "@alice> checkin 2 my secret sorrow")
    assert said == ["[dm @alice] Something went wrong on my side and nothing was changed; "
                    "please try again in a moment."]
    assert await snapshot(console) == before
    above_debug = [r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG]
    assert any("command checkin failed (ValueError)" in m for m in above_debug)
    assert not any("secret sorrow" in m for m in above_debug)
    assert not any(r.exc_info and "secret sorrow" in str(r.exc_info[1])
                   for r in caplog.records if r.levelno > logging.DEBUG)


async def test_an_overlong_note_in_a_dm_is_given_back(console: ConsoleSession) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin\n"
                             "@bob> join")
    words = "it was a long night " * 60
    said = await run_lines(console, f"@bob dm> checkin 2 {words}")
    assert said[0].startswith("[reply @bob] note is 1199 characters; the limit is 1000. | "
                              "Here is what you wrote, to shorten and send again:")
    assert words.strip() in said[0]
    assert len(said) == 1  # nothing posted, nothing stored
@pytest.mark.parametrize(("line", "stored"), [
    ("available set any Etc/UTC", "daily any (Etc/UTC)"),
    ("available set any timezone:UTC", "daily any (UTC)"),
    ("available set mon-fri 21:00-02:00 utc", "mon-fri 21:00-02:00 (UTC)"),
    ("available set sat-sun any Asia/Tokyo", "sat-sun any (Asia/Tokyo)"),
    ("available set daily any Japan", "daily any (Japan)"),
    ("available set weekends any timezone:Europe/Lisbon", "sat-sun any (Europe/Lisbon)"),
])
async def test_real_timezone_names_still_work(console: ConsoleSession, line: str,
                                              stored: str) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin\n"
                             "@bob> join")
    said = await run_lines(console, f"@bob dm> {line}\n@bob dm> available show")
    assert f"[reply @bob] Lifeline availability: on; windows: {stored};" in said[-1]


async def test_a_snooze_to_a_later_date_is_kept(console: ConsoleSession) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin\n"
                             "@bob> join\n@bob dm> available set daily any")
    said = await run_lines(console, "@bob dm> available snooze 2026-11-25T07:00")
    assert said == ["[reply @bob] Snoozed until Wed 25 Nov 07:00 (Europe/Berlin): no pages "
                    "until then."]
