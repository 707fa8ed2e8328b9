"""Meetings on a schedule: the start post and each reminder at the right wall-clock time across
both DST changes, once, through a restart right before one is due and with the bot down across
one; a year of `monthly last fri` and `every 2 weeks` against dates computed here; what is
dropped after long downtime; bad input."""

from __future__ import annotations

import asyncio
import calendar
import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from adapters.console import ROOM, ConsoleSession
from bot.clock import FakeClock
from bot.features.meetings.models import Meeting
from bot.features.meetings.rules import next_start, parse_anchor, parse_rule
from bot.refs import Place
from tests.conftest import DbSpec, run_lines
from tests.simulation import Said, jump, next_due, walk
from tests.test_bad_input import snapshot
from tests.test_lifeline_races import cores, who

NY = ZoneInfo("America/New_York")


def local(day: date, hour: int, minute: int, tz: ZoneInfo = NY) -> datetime:
    """A wall-clock time as a UTC instant, computed without the code under test."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)


def room(said: Said, text: str) -> list[datetime]:
    return [at for at, line in said if line.startswith("[room]") and text in line]


async def test_weekly_at_19_new_york_across_both_dst_changes_with_restart_and_downtime(
        sim: ConsoleSession) -> None:
    sim.clock.set(datetime(2026, 10, 1, 16, tzinfo=UTC))  # type: ignore[attr-defined]
    await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:America/New_York
        @bob> join
        @alice> meeting schedule weekly wed 19:00
    """.replace("        ", ""))
    end = datetime(2027, 3, 31, tzinfo=UTC)
    starts = [local(date(2026, 10, 7) + timedelta(weeks=n), 19, 0) for n in range(27)]
    # A restart a minute before the 1-hour reminder of the first week after the fall-back,
    # and the bot down from 10 minutes before the 24-hour reminder of the first week after
    # spring-forward until 3 hours after it (the meeting is still ahead: it goes out late).
    restart_before = local(date(2026, 11, 4), 18, 0)
    down_from = local(date(2027, 3, 17), 19, 0) - timedelta(hours=24)
    said: Said = []
    while (due := await next_due(sim, "meetings.")) is not None and due <= end:
        if due == restart_before:
            said += await jump(sim, due - timedelta(minutes=1))
            await sim.restart()
        if due == down_from:
            said += await jump(sim, due - timedelta(minutes=10))
            await sim.close()
            sim.clock.set(due + timedelta(hours=3))  # type: ignore[attr-defined]
            await sim.start()  # overdue timers fire at start-up
            said += [(sim.clock.now(), line) for line in sim.take()]
            continue
        said += await jump(sim, due)
    posted = room(said, "the meeting starts now")
    # 19:00 New York time every week, EDT and EST alike.
    assert posted == [s for s in starts if s <= end]
    for at, line in said:
        if "the meeting starts now" in line:
            assert f"({at.astimezone(NY):%a %d %b} 19:00)" in line
    assert {s.astimezone(NY).utcoffset() for s in starts} == {timedelta(hours=-4),
                                                              timedelta(hours=-5)}
    hour_before = room(said, "meets in an hour")
    assert hour_before == [s - timedelta(hours=1) for s in starts if s - timedelta(hours=1) <= end]
    day_before = room(said, "meets tomorrow at this time")
    late = room(said, "(late: the bot was offline)")
    assert late == [down_from + timedelta(hours=3)]
    assert [at for at, line in said if "(late" in line and "meets in 21 hours" in line] == late
    assert sorted([*day_before, down_from]) == [s - timedelta(hours=24) for s in starts
                                                if s - timedelta(hours=24) <= end]
    # Nothing else reached the room from meetings, and nothing twice.
    meeting_lines = [line for _, line in said if "Riverbend" in line and "[room]" in line
                     and ("meets" in line or "meeting starts" in line)]
    assert len(meeting_lines) == len(posted) + len(hour_before) + len(day_before) + 1


async def test_downtime_across_a_meeting_drops_what_is_no_longer_useful(
        sim: ConsoleSession, caplog: pytest.LogCaptureFixture) -> None:
    sim.clock.set(datetime(2026, 12, 1, 16, tzinfo=UTC))  # type: ignore[attr-defined]
    await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:America/New_York
        @alice> meeting schedule weekly wed 19:00
    """.replace("        ", ""))
    first, second = local(date(2026, 12, 2), 19, 0), local(date(2026, 12, 9), 19, 0)
    await jump(sim, first - timedelta(hours=2))
    await sim.close()  # down from 17:00 until 21:00: the 1-hour reminder and the start
    sim.clock.set(first + timedelta(hours=2))  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger="bot.features.meetings.timers"):
        await sim.start()
    said = sim.take()
    assert not any("meets in" in line or "starts now" in line or "started at" in line
                   for line in said), said
    assert "reminder for" in caplog.text and "was dropped" in caplog.text
    assert "start post" in caplog.text
    assert await next_due(sim, "meetings.start") is not None
    # Down across the start only briefly: the start post goes out once, marked late.
    await jump(sim, second - timedelta(minutes=61))
    out = await jump(sim, second - timedelta(hours=1))
    assert [line for _, line in out if "meets in an hour" in line]
    await sim.close()
    sim.clock.set(second + timedelta(minutes=20))  # type: ignore[attr-defined]
    await sim.start()
    late = [line for line in sim.take() if "Riverbend" in line]
    assert late == ["[room] Riverbend: the meeting started at Wed 09 Dec 19:00 (late notice: "
                    "the bot was offline). | Round prompt: how are you arriving today? | No one "
                    "is named to facilitate; whoever opens is welcome to. | Before you speak, "
                    "THINK: is it True? Helpful? Inspiring? Necessary? Kind?"]
    await sim.restart()
    assert [line for line in sim.take() if "Riverbend" in line] == []  # never twice


def last_fridays(year_from: date, until: date) -> list[date]:
    found = []
    y, m = year_from.year, year_from.month
    while date(y, m, 1) <= until:
        last = max(d for d in range(1, calendar.monthrange(y, m)[1] + 1)
                   if date(y, m, d).weekday() == calendar.FRIDAY)
        found.append(date(y, m, last))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return found


async def test_a_year_of_monthly_last_friday_and_every_two_weeks(
        sim: ConsoleSession) -> None:
    begin = datetime(2026, 12, 2, 17, tzinfo=UTC)  # a Wednesday
    sim.clock.set(begin)  # type: ignore[attr-defined]
    await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:America/New_York
        @alice> circle settings remind_before:none
        @alice> meeting schedule monthly last fri 20:00 name:monthly
        @alice> meeting schedule every 2 weeks mon 18:30 name:pairs
    """.replace("        ", ""))
    end = begin + timedelta(days=365)
    fridays = [local(d, 20, 0) for d in last_fridays(date(2026, 12, 1), end.date())]
    mondays = [local(date(2026, 12, 7) + timedelta(weeks=2 * n), 18, 30) for n in range(27)]
    said: Said = []
    while (due := await next_due(sim, "meetings.")) is not None and due <= end:
        said += await jump(sim, due)
    assert room(said, "Riverbend · monthly: the meeting starts now") == \
        [f for f in fridays if f <= end]
    assert room(said, "Riverbend · pairs: the meeting starts now") == \
        [m for m in mondays if m <= end]
    assert not room(said, "meets")  # remind_before:none
    # The rule itself, straight: the same dates for two years from any starting point.
    rule = parse_rule("monthly last fri 20:00")
    assert rule is not None
    at, got = begin, []
    for _ in range(24):
        nxt = next_start(rule, "America/New_York", at)
        assert nxt is not None
        got.append(nxt)
        at = nxt
    assert got == [local(d, 20, 0) for d in last_fridays(date(2026, 12, 1), date(2028, 11, 30))]
    biweekly = parse_rule("every 2 weeks mon 18:30")
    assert biweekly is not None
    anchor = parse_anchor("2026-12-07")
    mid = local(date(2027, 6, 15), 12, 0)  # a Tuesday in an "off" week
    assert next_start(biweekly, "America/New_York", mid, anchor) == local(date(2027, 6, 21),
                                                                          18, 30)


async def test_circle_info_next_cancel_and_clear(sim: ConsoleSession) -> None:
    sim.clock.set(datetime(2026, 12, 1, 17, tzinfo=UTC))  # type: ignore[attr-defined]
    said = await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:America/New_York
        @bob> join
        @bob> circle info
        @alice> meeting schedule weekly thu 18:00
        @bob> circle info
        @bob> meeting cancel next
        @alice> meeting cancel next
        @bob> meeting
        @alice> meeting clear
        @bob> meeting next
    """.replace("        ", ""))
    text = "\n".join(said)
    assert "Next meeting: none scheduled" in said[5]
    assert "Next meeting: Thu 03 Dec 18:00 (America/New_York), meeting" in said[7]
    assert "[reply @bob] Only a steward can use meeting cancel" in text
    assert "[room] The meeting on Thu 03 Dec 18:00 (Riverbend) is cancelled; the next one is " \
           "Thu 10 Dec 18:00." in text
    assert "[reply @bob] Next meeting: Thu 10 Dec 18:00 (America/New_York)" in text
    assert "[reply @alice] Removed: meeting (weekly thu 18:00)." in text
    assert said[-1].startswith("[reply @bob] No meeting is scheduled")
    out = await jump(sim, datetime(2026, 12, 31, tzinfo=UTC))
    # Cancelled, then cleared: no reminder and no start post.
    assert not [line for _, line in out if "meets" in line or "meeting start" in line]


async def test_a_once_meeting_happens_once_and_frees_its_name(sim: ConsoleSession) -> None:
    sim.clock.set(datetime(2026, 12, 20, 17, tzinfo=UTC))  # type: ignore[attr-defined]
    await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:Europe/Madrid
        @alice> meeting schedule once 2026-12-24 18:00 name:eve
    """.replace("        ", ""))
    said: Said = []
    while (due := await next_due(sim, "meetings.")) is not None:
        said += await jump(sim, due)
    assert room(said, "eve: the meeting starts now") == [datetime(2026, 12, 24, 17,
                                                                  tzinfo=UTC)]
    assert sim.core is not None
    async with sim.core.db.transaction() as s:
        assert (await s.execute(select(Meeting))).scalars().all() == []


BAD = [
    ("@alice> meeting schedule fortnightly mon 19:00",
     '"fortnightly mon 19:00" is not a schedule I can read; write one of: weekly wed 19:00; '
     'every 2 weeks mon 18:30; monthly first sat 10:00; monthly last fri 20:00; '
     'once 2026-12-15 18:00.'),
    ("@alice> meeting schedule weekly wed 25:00",
     '"weekly wed 25:00" is not a schedule I can read; write one of: weekly wed 19:00; '
     'every 2 weeks mon 18:30; monthly first sat 10:00; monthly last fri 20:00; '
     'once 2026-12-15 18:00.'),
    ("@alice> meeting schedule once 2026-02-30 18:00",
     '"once 2026-02-30 18:00" is not a schedule I can read; write one of: weekly wed 19:00; '
     'every 2 weeks mon 18:30; monthly first sat 10:00; monthly last fri 20:00; '
     'once 2026-12-15 18:00.'),
    ("@alice> meeting schedule once 2026-11-30 18:00",
     "once 2026-11-30 18:00 is already past in America/New_York; pick a time still ahead."),
    ("@alice> meeting schedule monthly first sat 10:00 name:Weekly",
     "This circle already has a meeting called weekly; give the new one another name "
     "with name:."),
    ("@alice> meeting clear newcomers",
     "There is no meeting called newcomers; the circle's meetings are: weekly."),
    ("@alice> circle settings remind_before:24h,soon",
     '"24h,soon" is not a list of reminder times; write durations like 24h,1h (up to 4, each '
     '1m to 7d) or none.'),
    ("@bob dm> nudges quiet 22:00",
     '"22:00" is not a range of hours; write it like 23:00-09:00 (one that ends before it '
     'starts crosses midnight).'),
]


@pytest.mark.parametrize(("line", "expected"), BAD, ids=[b[0][:40] for b in BAD])
async def test_bad_meeting_input_says_one_sentence_and_changes_nothing(
        sim: ConsoleSession, line: str, expected: str) -> None:
    sim.clock.set(datetime(2026, 12, 1, 17, tzinfo=UTC))  # type: ignore[attr-defined]
    await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:America/New_York
        @bob> join
        @alice> meeting schedule weekly wed 19:00 name:weekly
    """.replace("        ", ""))
    before = await snapshot(sim)
    said = await run_lines(sim, line)
    assert len(said) == 1
    assert said[0].split("] ", 1)[1] == expected
    assert await snapshot(sim) == before


async def test_new_reminder_times_and_a_new_timezone_apply_to_the_next_meeting(
        sim: ConsoleSession) -> None:
    sim.clock.set(datetime(2026, 12, 1, 17, tzinfo=UTC))  # type: ignore[attr-defined]
    await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:America/New_York
        @alice> meeting schedule weekly wed 19:00
        @alice> circle settings remind_before:2h
    """.replace("        ", ""))
    said: Said = []
    await jump(sim, datetime(2026, 12, 1, 18, 7, tzinfo=UTC))  # the hourly sweep
    while (due := await next_due(sim, "meetings.")) is not None and due < datetime(
            2026, 12, 3, tzinfo=UTC):
        said += await jump(sim, due)
    assert [line for _, line in said if "meets" in line] == [
        "[room] Reminder: Riverbend meets in 2 hours, Wed 02 Dec 19:00 (America/New_York). "
        "Come as you are."]
    await run_lines(sim, "@alice> circle settings timezone:Europe/Madrid remind_before:none")
    await jump(sim, datetime(2026, 12, 3, 1, 7, tzinfo=UTC))  # the hourly sweep
    out = await run_lines(sim, "@alice> meeting next")
    assert out == ["[reply @alice] Next meeting: Wed 09 Dec 19:00 (Europe/Madrid), meeting — "
                   "weekly wed 19:00."]
    said = []
    while (due := await next_due(sim, "meetings.")) is not None and due < datetime(
            2026, 12, 10, tzinfo=UTC):
        said += await jump(sim, due)
    assert room(said, "the meeting starts now") == [datetime(2026, 12, 9, 18, tzinfo=UTC)]


async def test_two_stewards_naming_two_meetings_alike_at_once_make_one(
        console: ConsoleSession, db_spec: DbSpec, clock: FakeClock) -> None:
    """A real race on PostgreSQL (each core is its own process); serial on SQLite."""
    clock.set(datetime(2026, 12, 1, 17, tzinfo=UTC))
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:America/New_York")
    async with cores(db_spec, clock, 2) as two:
        answers = await asyncio.gather(
            two[0].handle_text("meeting schedule weekly wed 19:00 name:circle", who("alice"),
                               Place(ROOM)),
            two[1].handle_text("meeting schedule monthly last fri 18:00 name:circle",
                               who("bob"), Place(ROOM, actor_is_room_admin=True)))
    texts = sorted(a.text for a in answers)
    assert texts[0].startswith("Scheduled circle: ")
    assert texts[1] == ("This circle already has a meeting called circle; give the new one "
                        "another name with name:.")
    assert console.core is not None
    async with console.core.db.transaction() as s:
        assert len((await s.execute(select(Meeting))).scalars().all()) == 1


async def test_a_spanish_reader_gets_spanish_day_and_month_names(sim: ConsoleSession) -> None:
    """Dates are words too: `mié 09 dic`, not `Wed 09 Dec`, for a member who speaks Spanish
    and in the room of a circle that does; an English reader keeps `Wed 09 Dec`."""
    sim.clock.set(datetime(2026, 12, 1, 17, tzinfo=UTC))  # type: ignore[attr-defined]
    said = await run_lines(sim, """
        @alice> circle setup name:Río timezone:Europe/Madrid
        @bob> join
        @bob dm> me language es
        @alice> meeting schedule weekly wed 19:00
        @bob> meeting next
        @bob> meeting list
        @bob> circle info
        @alice> meeting next
        @alice> circle settings language:es
        @alice> meeting cancel next
    """.replace("        ", ""))
    text = "\n".join(said)
    assert "[reply @bob] Próxima reunión: mié 02 dic 19:00 (Europe/Madrid)" in text
    assert "la próxima el mié 02 dic 19:00" in text
    assert "Próxima reunión: mié 02 dic 19:00 (Europe/Madrid), reunión" in text
    assert "[reply @alice] Next meeting: Wed 02 Dec 19:00 (Europe/Madrid)" in text
    room_posts = [line for line in said if line.startswith("[room]")]
    assert "mié 02 dic 19:00" in room_posts[-1] and "mié 09 dic 19:00" in room_posts[-1]
    out = await jump(sim, datetime(2026, 12, 9, 19, tzinfo=UTC))
    posts = [line for _, line in out if line.startswith("[room]")]
    assert posts and all("Wed" not in p and "Dec" not in p for p in posts)
    # The meeting scheduled without a name is `reunión` to a Spanish reader, and that name
    # finds it.
    assert "Próxima reunión: mié 02 dic 19:00 (Europe/Madrid), reunión — weekly wed 19:00." \
        in text
    said = await run_lines(sim, "@bob dm> me language es\n"
                                "@alice> meeting schedule weekly fri 19:00 name:reunión\n"
                                "@alice> meeting clear reunión")
    assert "ya tiene una reunión llamada reunión" in said[-2]
    assert said[-1] == "[reply @alice] Quitadas: reunión (weekly wed 19:00)."


async def test_with_remind_before_none_no_text_promises_a_reminder(sim: ConsoleSession) -> None:
    sim.clock.set(datetime(2026, 12, 1, 17, tzinfo=UTC))  # type: ignore[attr-defined]
    said = await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:America/New_York
        @alice> circle settings remind_before:none
        @alice> meeting schedule weekly thu 18:00
        @alice> meeting list
    """.replace("        ", ""))
    assert said[-2].endswith("no reminders go out before it (remind_before: none).")
    assert said[-1].endswith("No reminders go out before meetings (remind_before: none).")
    assert "Reminders go out none" not in said[-1]
    out = await walk(sim, datetime(2026, 12, 4, tzinfo=UTC))
    assert any("the meeting starts now" in line for _, line in out)
    assert [line for _, line in out if line.startswith("[room]")] == [
        line for _, line in out if "the meeting starts now" in line]
