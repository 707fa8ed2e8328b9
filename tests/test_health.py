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
