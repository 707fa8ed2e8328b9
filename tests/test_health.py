"""`health`: the circle's weekly figures as a picture, never a name, small weeks held back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from adapters.console import ConsoleSession
from bot.features.checkins.models import Checkin
from bot.features.health.commands import week_starts
from bot.features.health.series import weekly_counts
from tests.conftest import run_lines
from tests.rotation_helpers import SIX_WEEKLY


async def test_the_picture_and_its_figures_match_the_database(
        console: ConsoleSession, tmp_path: Path) -> None:
    console.files_dir = tmp_path
    setup = ["@alice> circle setup name:Riverbend timezone:Europe/Berlin"]
    await run_lines(console, "\n".join(setup + [f"@m{i}> join" for i in range(6)]))
    # Week by week: 5 check-ins, then 2 (held back), then 0, then 4. The clock jumps a week
    # at a time (no hourly housekeeping stepped through: only check-ins count here).
    for week, n in enumerate((5, 2, 0, 4)):
        await run_lines(console, "\n".join(f"@m{i}> checkin 3 week {week} from m{i}"
                                           for i in range(n)))
        console.clock.advance(timedelta(days=7))  # type: ignore[attr-defined]
    said = await run_lines(console, "@alice> health 5")
    text = said[0]
    core = console.core
    assert core is not None
    async with core.db.transaction() as s:
        created = list((await s.execute(select(Checkin.created_at))).scalars())
    weeks = week_starts(console.clock.now(), "Europe/Berlin", 5)
    counts = weekly_counts(created, weeks)
    shown = [str(c) if c == 0 or c >= 3 else "fewer than 3" for c in counts]
    assert "Check-ins per week: " + ", ".join(shown) in text
    assert "fewer than 3" in text and ", 2," not in text
    assert not any(f"m{i}" in text for i in range(6))  # counts, never names
    png = (tmp_path / "health.png").read_bytes()
    assert said[1] == f"[reply @alice] [file: {tmp_path / 'health.png'}]"
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


async def test_health_bad_input(console: ConsoleSession) -> None:
    await run_lines(console, "@alice> circle setup name:Riverbend timezone:Europe/Berlin")
    for line, expected in (("health 0", "weeks 0 is out of range; use a number from 1 to 104."),
                           ("health 600",
                            "weeks 600 is out of range; use a number from 1 to 104.")):
        said = await run_lines(console, f"@alice> {line}")
        assert said == [f"[reply @alice] {expected}"]


def test_weeks_start_on_monday_in_the_circles_zone() -> None:
    from bot.clock import parse_instant

    weeks = week_starts(parse_instant("2026-11-25T12:00:00Z"), "Asia/Tokyo", 2)
    assert [w.isoformat() for w in weeks] == ["2026-11-15T15:00:00+00:00",
                                             "2026-11-22T15:00:00+00:00"]
    assert weeks[1] - weeks[0] == timedelta(weeks=1)


async def test_the_service_balance_per_week_matches_the_database(
        console: ConsoleSession, tmp_path: Path) -> None:
    """The balance line: for the end of each week (this week: now), 1 − Gini of the service
    of those who could serve then, computed here straight from the seats."""
    from bot.features.rotation.models import RotationPause, RotationSeat
    from storage.models import Member
    from tests.rotation_helpers import jump, next_boundary

    console.files_dir = tmp_path
    await run_lines(console, SIX_WEEKLY + "@alice> roles remove repair team")
    said = await run_lines(console, "@alice> health 3")
    assert not any("Service balance" in line for line in said)  # no term has started yet
    for week in range(5):
        await jump(console, await next_boundary(console))
        if week == 1:
            await run_lines(console, "@erin dm> pause 2w")
    said = await run_lines(console, "@alice> health 6")
    line = next(x for x in said[0].split(" | ") if x.startswith("Service balance"))
    now = console.clock.now()
    weeks = week_starts(now, "Europe/Berlin", 6)
    core = console.core
    assert core is not None
    async with core.db.transaction() as s:
        members = (await s.execute(select(Member.id, Member.joined_at))).all()
        pauses = (await s.execute(select(RotationPause))).scalars().all()
        seats = (await s.execute(
            select(RotationSeat.member_id, RotationSeat.starts_at)
            .where(RotationSeat.member_id.is_not(None),
                   RotationSeat.state.in_(("serving", "served"))))).all()
    expected = []
    for end in [*weeks[1:], now]:
        able = [m for m, joined in members if joined <= end and not any(
            p.member_id == m and p.since <= end and (p.until is None or p.until > end)
            for p in pauses)]
        given = [sum(1 for who, start in seats if who == m
                     and end - timedelta(days=365) < start <= end) for m in able]
        total = sum(given)
        if not able or total == 0:
            expected.append("-")
            continue
        gini = sum(abs(a - b) for a in given for b in given) / (2 * len(given) * total)
        expected.append(f"{round((1 - gini) * 100)}")
    assert line == "Service balance (100 = evenly spread): " + ", ".join(expected)
    assert expected[0] == "-" and len(set(expected[1:])) > 1  # before the first term; then moving
    balance = await run_lines(console, "@alice> roles balance")
    assert f"over the last 12 months is {expected[-1]}% even" in balance[0]
