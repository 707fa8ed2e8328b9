"""How long `health 52` takes for a circle of 200 members with a year of check-ins, lifeline
requests and weekly service terms, end to end through the core (queries, bucketing, drawing
the PNG), beside a baseline measured in the same run: drawing an empty one-panel figure.

    python bench/health.py [--members 200] [--weeks 52] [--runs 5] [--out health.png]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.app import open_core
from bot.clock import FakeClock, parse_instant
from bot.config import Settings
from bot.features.checkins.models import Checkin
from bot.features.lifeline.models import LifelineRequest
from bot.features.rotation.models import RotationRole, RotationSeat
from bot.refs import Place, RoomRef, UserRef
from storage.models import Member, Person

NOW = parse_instant("2026-11-22T12:00:00Z")
ROOM = Place(RoomRef("bench", "circle"))


def baseline_ms() -> float:
    start = time.perf_counter()
    fig = Figure(figsize=(8, 3))
    FigureCanvasAgg(fig)
    fig.subplots().bar([0, 1], [1, 2])
    fig.savefig(io.BytesIO(), format="png")
    return (time.perf_counter() - start) * 1000


async def run(members: int, weeks: int, runs: int, out: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database={"url": f"sqlite+aiosqlite:///{tmp}/h.db"})
        core = await open_core(settings, FakeClock(NOW))
        try:
            founder = UserRef("bench", "u0", "u0")
            await core.handle_text("circle setup name:Bench timezone:Europe/Berlin", founder,
                                   ROOM)
            rng = random.Random(7)
            async with core.db.transaction() as s:
                people = [Person(platform="bench", platform_user_id=f"m{i}",
                                 display_name=f"m{i}", created_at=NOW) for i in range(members)]
                s.add_all(people)
                await s.flush()
                rows = [Member(circle_id=1, person_id=p.id, joined_at=NOW - timedelta(days=800))
                        for p in people]
                s.add_all(rows)
                await s.flush()
                # Five weekly roles of two seats: the balance line has a year of terms.
                roles = [RotationRole(circle_id=1, name=f"role{r}", seats=2, position=r,
                                      term=weeks, term_start=NOW, term_end=NOW + timedelta(
                                          weeks=1), created_at=NOW) for r in range(5)]
                s.add_all(roles)
                await s.flush()
                for week in range(weeks):
                    start = NOW - timedelta(weeks=week)
                    for role in roles:
                        for seat in range(2):
                            s.add(RotationSeat(circle_id=1, role_id=role.id,
                                               role_name=role.name, term=weeks - week,
                                               seat=seat, member_id=rng.choice(rows).id,
                                               state="serving" if week == 0 else "served",
                                               filled=True, starts_at=start,
                                               ends_at=start + timedelta(weeks=1)))
                    for m in rows:
                        if rng.random() < 0.4:
                            at = NOW - timedelta(weeks=week, hours=rng.randint(0, 160))
                            s.add(Checkin(circle_id=1, member_id=m.id, created_at=at, mood=3,
                                          visibility="circle", anonymous=False))
                    for _ in range(rng.randint(0, 6)):
                        at = NOW - timedelta(weeks=week, hours=rng.randint(0, 160))
                        s.add(LifelineRequest(circle_id=1, requester_member_id=None,
                                              state="RESOLVED", opened_at=at,
                                              first_page_at=at + timedelta(
                                                  seconds=rng.randint(1, 30)),
                                              policy={}))
            times = []
            answer = None
            for _ in range(runs):
                start = time.perf_counter()
                answer = await core.handle_text(f"health {weeks}", founder, ROOM)
                times.append((time.perf_counter() - start) * 1000)
            assert answer is not None and answer.attachments, answer
            assert "Service balance" in answer.text, answer.text
            if out is not None:
                await asyncio.to_thread(out.write_bytes, answer.attachments[0].data)
        finally:
            await core.db.dispose()
    base = statistics.median(baseline_ms() for _ in range(runs))
    med = statistics.median(times)
    print(f"health {weeks} for {members} members: median {med:.0f} ms, max {max(times):.0f} ms"
          f" ({med / base:.1f}x an empty one-panel figure, {base:.0f} ms); target: under "
          "1000 ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--members", type=int, default=200)
    p.add_argument("--weeks", type=int, default=52)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--out", type=Path)
    a = p.parse_args()
    asyncio.run(run(a.members, a.weeks, a.runs, a.out))


if __name__ == "__main__":
    main()
