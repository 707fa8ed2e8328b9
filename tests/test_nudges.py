"""Check-in nudges: one kind DM after `after_days` without a check-in, never in the member's
quiet hours (read in their own timezone), not again until they check in; `pause` silences
nudges and meeting DMs while room posts go on."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.console import ConsoleSession
from tests.conftest import run_lines
from tests.simulation import Said, jump, next_due, say

TOKYO = ZoneInfo("Asia/Tokyo")
NUDGE = "since your last check-in"


async def test_a_member_in_tokyo_is_never_nudged_between_22_and_08_tokyo_time(
        sim: ConsoleSession) -> None:
    start = datetime(2026, 12, 1, 15, tzinfo=UTC)  # 10:00 in New York, 00:00 in Tokyo
    sim.clock.set(start)  # type: ignore[attr-defined]
    await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:America/New_York
        @alice> circle settings after_days:2
        @bob> join
        @bob dm> available set daily any timezone:Asia/Tokyo
        @bob dm> nudges on
    """.replace("        ", ""))
    said: Said = []
    checkins: list[datetime] = []
    end = start + timedelta(days=30)
    step = timedelta(hours=13, minutes=7)  # lands at every hour of the Tokyo day in turn
    n = 0
    while sim.clock.now() < end:
        due = await next_due(sim, "nudges.")
        target = min(due or end, sim.clock.now() + step, end)
        said += await jump(sim, target)
        n += 1
        if n % 7 == 0:  # now and then bob checks in, at whatever hour it is
            said += await say(sim, "@bob dm> checkin 3 visibility:private")
            checkins.append(sim.clock.now())
    nudges = [at for at, line in said if line.startswith("[dm @bob]") and NUDGE in line]
    assert len(nudges) >= 3, said
    for at in nudges:
        hour = at.astimezone(TOKYO).hour
        assert 8 <= hour < 22, f"nudged at {at.astimezone(TOKYO)} Tokyo time"
    # One nudge per silence: between two nudges there is always a check-in.
    for a, b in itertools.pairwise(nudges):
        assert any(a < c < b for c in checkins), (a, b)
    # Each came at least two days after the last check-in (or the opt-in).
    for at in nudges:
        last = max([start, *(c for c in checkins if c < at)])
        assert at - last >= timedelta(days=2)


async def test_quiet_hours_can_be_moved_and_nudges_turned_off(sim: ConsoleSession) -> None:
    start = datetime(2026, 12, 1, 12, tzinfo=UTC)
    sim.clock.set(start)  # type: ignore[attr-defined]
    said = await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:Europe/Madrid
        @alice> circle settings after_days:1
        @bob> join
        @bob> nudges quiet 10:00-20:00
        @bob> nudges on
    """.replace("        ", ""))
    assert said[-2] == ("[dm @bob] Quiet hours: 10:00-20:00 (Europe/Madrid). Nudges, meeting "
                        "reminders by DM and the pulse survey wait until they end.")
    out: Said = []
    while (due := await next_due(sim, "nudges.")) is not None and due < start + timedelta(
            days=2):
        out += await jump(sim, due)
    nudged = [at for at, line in out if NUDGE in line]
    # Due at 13:00 Madrid time the next day, inside the new quiet hours: held until 20:00.
    assert nudged == [datetime(2026, 12, 2, 19, tzinfo=UTC)]
    assert (await run_lines(sim, "@bob dm> nudges off"))[0] == (
        "[reply @bob] Nudges off. No check-in reminders will reach you.")
    await run_lines(sim, "@bob dm> checkin 4")
    out = await jump(sim, start + timedelta(days=10))
    assert not [line for _, line in out if NUDGE in line]


async def test_pause_silences_nudges_and_meeting_dms_but_not_the_room(
        sim: ConsoleSession) -> None:
    start = datetime(2026, 12, 1, 15, tzinfo=UTC)
    sim.clock.set(start)  # type: ignore[attr-defined]
    await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:America/New_York
        @alice> circle settings after_days:2
        @alice> meeting schedule weekly wed 19:00
        @bob> join
        @bob dm> meeting remind on
        @bob dm> nudges on
        @bob dm> pause 2026-12-20
    """.replace("        ", ""))
    said: Said = []
    kinds = ("meetings.", "nudges.")
    while (due := await next_due(sim, *kinds)) is not None and due < datetime(2026, 12, 19,
                                                                             tzinfo=UTC):
        said += await jump(sim, max(due, sim.clock.now()))
    room = [line for _, line in said if line.startswith("[room]") and "Riverbend meets" in line]
    assert len(room) == 6  # three weeks, two reminders each: the room still hears them
    assert not [line for _, line in said if line.startswith("[dm @bob]")
                and ("Riverbend meets" in line or NUDGE in line)]
    # Back from the pause: the next meeting's reminders reach bob by DM, and so does a nudge.
    while (due := await next_due(sim, *kinds)) is not None and due < datetime(2026, 12, 24,
                                                                             tzinfo=UTC):
        said += await jump(sim, max(due, sim.clock.now()))
    after = [line for at, line in said if at >= datetime(2026, 12, 20, 5, tzinfo=UTC)
             and line.startswith("[dm @bob]")]
    assert any("Riverbend meets tomorrow" in line for line in after)
    assert any(NUDGE in line for line in after)


async def test_export_forget_and_leave_reach_nudges_and_meeting_dms(
        console: ConsoleSession) -> None:
    from sqlalchemy import func, select

    from bot.context import Ctx
    from bot.features.meetings.models import MeetingDm
    from bot.features.nudges.models import NudgePref
    from bot.outbox import OutboxWriter
    from bot.texts import Texts
    from storage.models import Person

    await run_lines(console, """
        @alice> circle setup name:Riverbend timezone:Europe/Madrid
        @bob> join
        @carol> join
        @bob dm> nudges on
        @bob dm> nudges quiet 23:00-07:30
        @bob dm> meeting remind on
        @carol dm> nudges on
        @carol dm> meeting remind on
    """.replace("        ", ""))
    await run_lines(console, "@carol> leave")
    core = console.core
    assert core is not None
    async with core.db.transaction() as s:
        # Leaving took carol's choices with her.
        assert (await s.execute(select(func.count()).select_from(NudgePref))).scalar() == 1
        assert (await s.execute(select(func.count()).select_from(MeetingDm))).scalar() == 1
        bob = (await s.execute(select(Person).where(Person.platform_user_id == "bob"))
               ).scalar_one()
        ctx = Ctx(core=core, session=s, now=console.clock.now(),
                  out=OutboxWriter(s, console.clock.now(), "test"), texts=Texts())
        exported = await core.export_person(ctx, bob)
        assert exported["nudges"]["nudges"] == [{"circle": "Riverbend", "on": True,
                                                 "quiet_hours": "23:00-07:30",
                                                 "last_nudged_at": None}]
        assert exported["meetings"]["meeting_reminders_by_dm"] == ["Riverbend"]
        await core.forget_person(ctx, bob)
    async with core.db.transaction() as s:
        assert (await s.execute(select(func.count()).select_from(NudgePref))).scalar() == 0
        assert (await s.execute(select(func.count()).select_from(MeetingDm))).scalar() == 0


async def test_quiet_hours_written_with_spaces_read_and_a_wrong_range_says_the_form(
        sim: ConsoleSession) -> None:
    sim.clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))  # type: ignore[attr-defined]
    said = await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:Europe/Madrid
        @bob> join
        @bob dm> nudges quiet 21:00 - 09:00
        @bob dm> nudges quiet 25:00-08:00
        @bob dm> nudges
    """.replace("        ", ""))
    assert said[-3] == ("[reply @bob] Quiet hours: 21:00-09:00 (Europe/Madrid). Nudges, "
                        "meeting reminders by DM and the pulse survey wait until they end.")
    assert "write it like 23:00-09:00" in said[-2]
    assert "21:00-09:00" in said[-1]  # the wrong range changed nothing


async def test_nudges_off_stores_nothing_for_someone_who_never_turned_them_on(
        sim: ConsoleSession) -> None:
    sim.clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))  # type: ignore[attr-defined]
    said = await run_lines(sim, """
        @alice> circle setup name:Riverbend timezone:Europe/Madrid
        @bob> join
        @bob dm> nudges off
        @bob dm> me
    """.replace("        ", ""))
    assert said[-2] == "[reply @bob] Nudges off. No check-in reminders will reach you."
    assert "nudge" not in said[-1]
