"""Lifeline benchmark: how fast `call` commits its first page, and how late wave timers fire.

    /work/venv/bin/python bench/lifeline.py [--circles 1000 --members 20000 --requests 1000
                                             --concurrent 200 --db PATH] [--quick]

1. Builds a fresh SQLite file through the real migrations with N circles of 20 members whose
   availability (windows in 10 timezones) leaves half of them reachable at the simulated
   instant. Rows are bulk-inserted (setup is not what is measured) but are exactly what the
   commands write; a 1-circle build through the real commands is compared row by row first.
2. `call` -> first page committed: the wall time of `Core.handle_text("call", ...)` in DM. The
   first wave's LifelinePage and priority-0 outbox rows commit in that call's own transaction
   (bot/features/lifeline: call_open -> next_wave -> _page inside Core.invoke's transaction), which
   the bench checks after every call from a separate sqlite3 connection.
3. Wave-timer lateness: M requests opened at the same fake instant (concurrently), the fake
   clock set to their wave deadline, then one `Core.fire_due()` pass; for each wave timer, the
   real time from the start of the pass to the commit of its pages.
4. Baseline from the same run and disk: raw stdlib sqlite3 INSERT+COMMIT (same pragmas), and
   the same through storage.db.Database (SQLAlchemy + aiosqlite), the floor of any core commit.

The core runs on an injected FakeClock (deterministic windows); durations use a real clock.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import math
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import String, event, insert, literal, text, update

from bot.app import open_core
from bot.clock import FakeClock, parse_instant
from bot.config import Settings
from bot.dispatcher import Core
from bot.features.availability.models import Availability
from bot.features.availability.windows import describe, inside_text, parse_windows
from bot.features.lifeline.settings import LifelineSettings
from bot.features.privacy.housekeeping import EVERY_HOUR
from bot.recurring import next_occurrence
from bot.refs import Place, RoomRef, UserRef
from bot.texts import Texts
from storage.db import Database
from storage.migrate import migrate
from storage.models import Circle, Member, OutboxMessage, Person, Timer

PLATFORM = "console"
PER_CIRCLE = 20
# Sunday 2026-11-22 03:00 UTC: 04:00 in Berlin, Saturday 22:00 in New York (the 4am call).
INSTANT = parse_instant("2026-11-22T03:00:00Z")
# The fixture is the state an hour after everyone ran setup/join/available and the sender
# drained the outbox: onboarding timers are pending, but none falls due here.
BUILT_AT = INSTANT - timedelta(hours=1)
SNOOZE = "6h"
CIRCLE_ZONES = ("Europe/Berlin", "America/New_York", "Europe/London", "Australia/Sydney")
SPEC_TARGET_S = 10.0
RAW_COMMITS = 1000


@dataclass(frozen=True)
class Profile:
    """One member's availability, as typed in `available set <windows> timezone:<tz>`."""

    windows: str | None  # None: never ran `available set`
    tz: str = "UTC"
    emergency: bool = False
    after: str | None = None  # "off" | "snooze": a second command; "dm_closed": the sender's
    reachable: bool = False  # what we expect at INSTANT; checked against bot.windows


# Twenty profiles, one per member slot (rotated per circle so slots differ between circles).
# Ten are inside a window at INSTANT; the other ten each miss for a different reason.
PROFILES: tuple[Profile, ...] = (
    Profile("daily any", "Europe/Berlin", reachable=True),
    Profile("daily 22:00-06:00", "Europe/Berlin", reachable=True),
    Profile("mon-fri 21:00-02:00, sat-sun any", "America/New_York", reachable=True),
    Profile("daily 18:00-23:30", "America/Chicago", reachable=True),
    Profile("sat-sun any", "America/Los_Angeles", reachable=True),
    Profile("daily 09:00-17:00", "Asia/Tokyo", reachable=True),
    Profile("weekends 10:00-18:00", "Australia/Sydney", reachable=True),
    Profile("daily 06:00-12:00", "Asia/Kolkata", reachable=True),
    Profile("fri-sat 20:00-04:00", "America/Sao_Paulo", reachable=True),
    Profile("daily 00:00-08:00", "UTC", reachable=True),
    Profile("daily 21:00-02:00", "Europe/Berlin"),  # ends before 04:00
    Profile("mon-fri 09:00-17:00", "Europe/London"),  # a weekday window on a Sunday
    Profile("daily 07:00-21:00", "America/New_York"),  # 22:00 there
    Profile("daily 09:00-10:00", "Australia/Sydney", emergency=True),  # emergency wave only
    Profile("daily any", "Europe/Berlin", after="off"),
    Profile("daily any", "Asia/Tokyo", after="snooze"),
    Profile(None),
    Profile("daily any", "America/Chicago", after="dm_closed"),
    Profile("mon-fri 18:00-23:00", "America/Los_Angeles"),
    Profile("daily 01:00-03:00", "UTC", emergency=True),  # the window ends at 03:00
)
assert len(PROFILES) == PER_CIRCLE


def profile_of(circle: int, slot: int) -> Profile:
    return PROFILES[(slot + circle) % PER_CIRCLE]


def user_id(circle: int, slot: int) -> str:
    return f"u{circle + 1}-{slot}"


def room_id(circle: int) -> str:
    return f"room-{circle + 1}"


def circle_name(circle: int) -> str:
    return f"Circle {circle + 1}"


# -- fixture --------------------------------------------------------------------------------
@dataclass
class Rows:
    """Rows per table, each table in the order the commands would insert them."""

    people: list[dict[str, Any]] = field(default_factory=list)
    circles: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    availability: list[dict[str, Any]] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)


def _outbox(cause: str, label: str, kind: str, body: str, *, room: str | None = None,
            user: str | None = None, priority: int = 5) -> dict[str, Any]:
    # Mirrors bot.outbox.OutboxWriter._add: key = "<cause>:<label or sequence number>".
    return {"key": f"{cause}:{label}", "platform": PLATFORM, "kind": kind, "room_id": room,
            "user_id": user, "edit_of": None, "text": body, "meta": {}, "priority": priority,
            "created_at": BUILT_AT, "next_attempt_at": BUILT_AT, "attempts": 0}


def _timer(key: str, kind: str, payload: dict[str, Any], due: datetime) -> dict[str, Any]:
    return {"key": key, "kind": kind, "payload": payload, "due_at": due, "created_at": BUILT_AT,
            "attempts": 0}


def _cause() -> str:
    return f"inv:{PLATFORM}:{uuid.uuid4().hex}"


def plan_start(rows: Rows) -> None:
    """What opening the core writes: the one housekeeping timer."""
    due = next_occurrence(EVERY_HOUR, BUILT_AT)
    rows.timers.append(_timer(f"housekeeping:{due.isoformat()}", "privacy.housekeeping", {},
                              due))


def plan_circle(rows: Rows, c: int) -> None:
    """What `circle setup`, 19 x `join` and `available set/off/snooze` write for circle c."""
    t = Texts("en")
    cid, name, zone = c + 1, circle_name(c), CIRCLE_ZONES[c % len(CIRCLE_ZONES)]
    base = c * PER_CIRCLE
    for slot in range(PER_CIRCLE):
        uid = user_id(c, slot)
        rows.people.append({"id": base + slot + 1, "platform": PLATFORM, "platform_user_id": uid,
                            "display_name": uid, "language": None, "dm_room_id": None,
                            "dm_closed_at": None, "created_at": BUILT_AT})
    # circle setup (bot/features/circles): circle, founder's membership, room post.
    rows.circles.append({"id": cid, "platform": PLATFORM, "room_id": room_id(c), "name": name,
                         "timezone": zone, "language": "en", "founder_person_id": base + 1,
                         "pact": None, "settings": {}, "created_at": BUILT_AT})
    rows.outbox.append(_outbox(_cause(), "1", "post", t("circle.created_post", name=name,
                                                         timezone=zone), room=room_id(c)))
    pact = t("pact.default", name=name)
    for slot in range(PER_CIRCLE):
        mid = base + slot + 1
        rows.members.append({"id": mid, "circle_id": cid, "person_id": mid,
                             "joined_at": BUILT_AT, "pact_accepted_at": None, "followups": True})
        if slot == 0:
            continue
        # join (bot/circles.py + bot/onboarding.py): room post, welcome DM, two follow-ups.
        cause, uid = _cause(), user_id(c, slot)
        rows.outbox.append(_outbox(cause, "1", "post", t("join.room_post", name=uid,
                                                         circle=name), room=room_id(c)))
        rows.outbox.append(_outbox(cause, "2", "dm", t("onboarding.welcome", name=name,
                                                       pact=pact), user=uid))
        for day in (3, 7):
            rows.timers.append(_timer(f"onboarding:{mid}:day{day}", "onboarding.followup",
                                      {"member_id": mid, "day": day},
                                      BUILT_AT + timedelta(days=day)))
    for slot in range(PER_CIRCLE):
        p = profile_of(c, slot)
        if p.windows is None:
            continue
        # available set (bot/availability.py): the row, and a test page by DM.
        rows.availability.append({
            "member_id": base + slot + 1, "enabled": p.after != "off",
            "windows": describe(parse_windows(p.windows)), "timezone": p.tz,
            "accept_emergency": p.emergency,
            "snoozed_until": BUILT_AT + timedelta(hours=6) if p.after == "snooze" else None,
            "updated_at": BUILT_AT})
        rows.outbox.append(_outbox(_cause(), "test-page", "dm",
                                   t("available.test_page", circle=name),
                                   user=user_id(c, slot), priority=0))


async def insert_rows(db: Database, rows: Rows, chunk: int = 5000) -> None:
    # Core-level executemany through the models' tables: same type processing (UTC instants,
    # JSON) as the ORM, without its per-object cost.
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (Person.__table__, rows.people), (Circle.__table__, rows.circles),
        (Member.__table__, rows.members), (Availability.__table__, rows.availability),
        (Timer.__table__, rows.timers), (OutboxMessage.__table__, rows.outbox)]
    async with db.engine.begin() as conn:
        for table, data in tables:
            for i in range(0, len(data), chunk):
                await conn.execute(insert(table), data[i:i + chunk])


async def settle(db: Database, circles: int) -> None:
    """What happened in the hour before INSTANT: the sender delivered every test page and
    welcome, and found one profile's DMs closed."""
    closed = [c * PER_CIRCLE + slot + 1 for c in range(circles) for slot in range(PER_CIRCLE)
              if profile_of(c, slot).after == "dm_closed"]
    outbox = OutboxMessage.__table__
    async with db.engine.begin() as conn:
        await conn.execute(update(outbox).values(
            sent_at=BUILT_AT + timedelta(seconds=1), attempts=1,
            platform_message_id=literal("console-") + outbox.c.id.cast(String)))
        done = await conn.execute(update(Person.__table__)
                                  .where(Person.__table__.c.id.in_(closed))
                                  .values(dm_closed_at=BUILT_AT + timedelta(seconds=2)))
        assert done.rowcount == circles, done.rowcount  # one such member per circle


async def build_fixture(url: str, circles: int) -> Database:
    db = Database(url)
    await migrate(db)
    rows = Rows()
    plan_start(rows)
    for c in range(circles):
        plan_circle(rows, c)
    await insert_rows(db, rows)
    await settle(db, circles)
    return db


# -- the fixture equals what the commands write -------------------------------------------------
async def build_by_commands(url: str) -> None:
    """Circle 0 through the real commands, for the row-by-row comparison."""
    clock = FakeClock(BUILT_AT)
    core = await open_core(Settings(), clock, db=Database(url))
    room = Place(room=RoomRef(PLATFORM, room_id(0)))
    try:
        async def say(slot: int, line: str, place: Place) -> None:
            uid = user_id(0, slot)
            reply = await core.handle_text(line, UserRef(PLATFORM, uid, uid), place)
            if not reply.ok:
                raise SystemExit(f"fixture check: {line!r} failed: {reply.text}")

        await say(0, f'circle setup name:"{circle_name(0)}" timezone:{CIRCLE_ZONES[0]}', room)
        for slot in range(1, PER_CIRCLE):
            await say(slot, "join", room)
        for slot in range(PER_CIRCLE):
            p = profile_of(0, slot)
            if p.windows is None:
                continue
            emergency = " emergency:yes" if p.emergency else ""
            await say(slot, f"available set {p.windows} timezone:{p.tz}{emergency}",
                      Place.direct())
            if p.after == "off":
                await say(slot, "available off", Place.direct())
            elif p.after == "snooze":
                await say(slot, f"available snooze {SNOOZE}", Place.direct())
    finally:
        await core.db.dispose()


_CAUSE = re.compile(r"^inv:[a-z]+:[0-9a-f]{32}:")


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table in ("people", "circles", "members", "availability", "timers", "outbox",
                      "lifeline_requests", "lifeline_pages", "processed_events"):
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            # Outbox keys carry a random per-invocation id; everything else must be equal.
            out[table] = [tuple(_CAUSE.sub("inv:*:", v) if isinstance(v, str) else v
                                for v in row) for row in rows]
        return out
    finally:
        conn.close()


async def check_fixture(workdir: Path) -> tuple[bool, str]:
    by_cmd, bulk = workdir / "check-commands.db", workdir / "check-bulk.db"
    await build_by_commands(f"sqlite+aiosqlite:///{by_cmd}")
    db = Database(f"sqlite+aiosqlite:///{bulk}")
    await migrate(db)
    rows = Rows()
    plan_start(rows)
    plan_circle(rows, 0)
    await insert_rows(db, rows)
    await db.dispose()
    a, b = dump(by_cmd), dump(bulk)
    for table in a:
        if a[table] != b[table]:
            first = next((i for i, (x, y) in enumerate(zip(a[table], b[table], strict=False))
                          if x != y), min(len(a[table]), len(b[table])))
            return False, (f"{table}: commands wrote {len(a[table])} rows, bulk {len(b[table])};"
                           f" first difference at row {first}:\n  commands: "
                           f"{a[table][first] if first < len(a[table]) else None}\n  bulk:     "
                           f"{b[table][first] if first < len(b[table]) else None}")
    counts = ", ".join(f"{t} {len(v)}" for t, v in a.items() if v)
    return True, counts


def reachable_share(circles: int) -> float:
    """Members inside a window at INSTANT and pageable, by the availability windows."""
    yes = 0
    for c in range(circles):
        for slot in range(PER_CIRCLE):
            p = profile_of(c, slot)
            ok = (p.windows is not None and p.after is None
                  and inside_text(describe(parse_windows(p.windows)), p.tz, INSTANT))
            if ok != p.reachable:
                raise SystemExit(f"profile {p} is not {'in' if p.reachable else 'out of'} "
                                 "its window at the simulated instant; fix PROFILES")
            yes += ok
    return yes / (circles * PER_CIRCLE)


# -- measuring ---------------------------------------------------------------------------------
def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Stat:
    name: str
    values: list[float]  # seconds

    @property
    def p50(self) -> float:
        return pct(self.values, 50)

    @property
    def p99(self) -> float:
        return pct(self.values, 99)

    @property
    def max(self) -> float:
        return max(self.values)


class StatementCounter:
    def __init__(self, db: Database) -> None:
        self.count = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._on)

    def _on(self, *_args: Any) -> None:
        self.count += 1


_REQUEST = re.compile(r"request #(\d+)")


def check_first_page(reader: sqlite3.Connection, reply_text: str) -> int:
    """From another connection, so only committed rows count: the request has a page and
    that page's DM is in the outbox at lifeline priority. Returns the pages committed."""
    m = _REQUEST.search(reply_text)
    assert m, f"no request id in the reply: {reply_text[:200]!r}"
    pages = reader.execute(
        "SELECT count(*) FROM lifeline_pages p JOIN outbox o ON o.key = p.outbox_key "
        "WHERE p.request_id = ? AND o.priority = 0 AND o.kind = 'dm'",
        (int(m.group(1)),)).fetchone()[0]
    assert pages >= 1, f"request {m.group(1)}: no committed page with a priority-0 DM"
    return int(pages)


async def open_bench_core(url: str, clock: FakeClock) -> Core:
    return await open_core(Settings(), clock, db=Database(url))


async def measure_calls(url: str, path: Path, requests: int) -> tuple[Stat, int, int]:
    """Sequential calls in distinct circles; returns latencies, statements per call, pages."""
    clock = FakeClock(INSTANT)
    core = await open_bench_core(url, clock)
    counter = StatementCounter(core.db)
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    latencies: list[float] = []
    statements: list[int] = []
    pages = 0
    try:
        for c in range(requests):
            actor = UserRef(PLATFORM, user_id(c, 1), user_id(c, 1))
            before = counter.count
            start = time.perf_counter()
            reply = await core.handle_text("call", actor, Place.direct())
            latencies.append(time.perf_counter() - start)
            statements.append(counter.count - before)
            assert reply.ok, reply.text
            pages += check_first_page(reader, reply.text)
    finally:
        reader.close()
        await core.db.dispose()
    return Stat("call -> first page committed", latencies), round(pct(statements, 50)), pages


@dataclass
class WaveResult:
    open_calls: Stat
    open_wall: float
    lateness: Stat
    fire_wall: float
    fired: int
    pages: int
    outbox: int


async def counts(db: Database) -> tuple[int, int]:
    async with db.transaction() as s:
        pages = (await s.execute(text("SELECT count(*) FROM lifeline_pages"))).scalar_one()
        out = (await s.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    return int(pages), int(out)


async def measure_waves(url: str, path: Path, concurrent: int) -> WaveResult:
    clock = FakeClock(INSTANT)
    core = await open_bench_core(url, clock)
    try:
        # Warm the new engine's statement cache first (a call and its cancel by a member who
        # is not a requester here), so the burst shows contention, not a cold start.
        warm = UserRef(PLATFORM, user_id(0, 2))
        for line in ("call", "call cancel"):
            reply = await core.handle_text(line, warm, Place.direct())
            assert reply.ok, reply.text
        # Open the requests at the same fake instant, all at once, as a burst would.
        async def one(c: int) -> tuple[float, str]:
            start = time.perf_counter()
            reply = await core.handle_text("call", UserRef(PLATFORM, user_id(c, 1)),
                                           Place.direct())
            assert reply.ok, reply.text
            return time.perf_counter() - start, reply.text

        start = time.perf_counter()
        opened = await asyncio.gather(*(one(c) for c in range(concurrent)))
        open_wall = time.perf_counter() - start
        reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for _, reply_text in opened:
                check_first_page(reader, reply_text)
        finally:
            reader.close()

        # Which request's wave each commit belongs to: _fire runs one timer at a time, so the
        # handler names the request and the next commit is its.
        kind = core.features.timers["lifeline.wave"]
        handler = kind.handler
        current: list[int] = []
        committed: dict[int, float] = {}

        async def traced(ctx: Any, payload: Any) -> None:
            current[:] = [payload.request_id]
            await handler(ctx, payload)

        def on_commit(_timers_changed: bool) -> None:
            if current:
                committed[current.pop()] = time.perf_counter()

        core.features.timers["lifeline.wave"] = dataclasses.replace(kind, handler=traced)
        core.on_commit(on_commit)
        pages_before, outbox_before = await counts(core.db)
        # The waves fall due together (the hourly housekeeping timer may be due too).
        due = INSTANT + timedelta(minutes=LifelineSettings().wave_minutes)
        clock.set(due)
        start = time.perf_counter()
        fired = await core.fire_due()
        fire_wall = time.perf_counter() - start
        pages_after, outbox_after = await counts(core.db)
        assert len(committed) == concurrent, (len(committed), concurrent)
        return WaveResult(Stat("call, while M open at once", [d for d, _ in opened]), open_wall,
                          Stat("wave timer lateness", [t - start for t in committed.values()]),
                          fire_wall, fired, pages_after - pages_before,
                          outbox_after - outbox_before)
    finally:
        await core.db.dispose()


def raw_commits(path: Path, n: int) -> Stat:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        values: list[float] = []
        for i in range(n):
            start = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES (?)", (f"row {i}",))
            conn.execute("COMMIT")
            values.append(time.perf_counter() - start)
        return Stat("raw sqlite3 INSERT+COMMIT", values)
    finally:
        conn.close()


async def framework_commits(path: Path, n: int) -> Stat:
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.transaction() as s:
            await s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
        values: list[float] = []
        for i in range(n):
            start = time.perf_counter()
            async with db.transaction() as s:
                await s.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"row {i}"})
            values.append(time.perf_counter() - start)
        return Stat("storage.db transaction, 1 INSERT", values)
    finally:
        await db.dispose()


# -- report ------------------------------------------------------------------------------------
def dur(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def table(stats: Sequence[Stat]) -> list[str]:
    width = max(len(s.name) for s in stats)
    lines = [f"  {'':<{width}}  {'n':>5}  {'p50':>10}  {'p99':>10}  {'max':>10}"]
    lines += [f"  {s.name:<{width}}  {len(s.values):>5}  {dur(s.p50):>10}  {dur(s.p99):>10}  "
              f"{dur(s.max):>10}" for s in stats]
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Lifeline benchmark: call -> first page committed, "
                                 "wave-timer lateness, and the raw SQLite commit baseline.")
    ap.add_argument("--circles", type=int, default=1000)
    ap.add_argument("--members", type=int, default=None,
                    help=f"total members; {PER_CIRCLE} x circles (the default)")
    ap.add_argument("--requests", type=int, default=1000, help="sequential calls, 1 per circle")
    ap.add_argument("--concurrent", type=int, default=200,
                    help="requests opened at once whose wave timers then fire together")
    ap.add_argument("--db", type=Path, default=None,
                    help="fixture file to create and keep (must not exist); default: a "
                    "temporary file, removed afterwards")
    ap.add_argument("--quick", action="store_true",
                    help="100 circles, 2,000 members, 100 requests, 50 concurrent")
    args = ap.parse_args(argv)
    if args.quick:
        args.circles, args.members, args.requests, args.concurrent = 100, 2000, 100, 50
    if args.members is None:
        args.members = args.circles * PER_CIRCLE
    if args.circles < 1 or args.members != args.circles * PER_CIRCLE:
        ap.error(f"--members must be {PER_CIRCLE} x --circles")
    if not 1 <= args.requests <= args.circles or not 1 <= args.concurrent <= args.circles:
        ap.error("--requests and --concurrent must be between 1 and --circles "
                 "(one request per circle)")
    if args.db is not None:
        taken = [p for p in (args.db, *scratch_files(args.db)) if p.exists()]
        if taken:
            ap.error(f"{taken[0]} exists; the fixture must be a fresh file")
    return args


def scratch_files(fixture: Path) -> list[Path]:
    """Next to the fixture, so the baseline measures the same disk: the wave-test copy and the
    two baseline files."""
    return [fixture.with_name(f"{fixture.stem}-{what}.db") for what in ("waves", "raw", "floor")]


def remove_db(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


async def run(args: argparse.Namespace, workdir: Path) -> list[str]:
    fixture = args.db or workdir / "lifeline-bench.db"
    fixture.parent.mkdir(parents=True, exist_ok=True)
    wave_copy, raw_file, floor_file = scratch_files(fixture)
    checks = workdir / "checks"
    checks.mkdir(exist_ok=True)
    try:
        t0 = time.perf_counter()
        same, detail = await check_fixture(checks)
        if not same:
            raise SystemExit("the bulk fixture differs from what the commands write:\n" + detail)
        share = reachable_share(args.circles)
        db = await build_fixture(f"sqlite+aiosqlite:///{fixture}", args.circles)
        await db.dispose()
        # A pristine copy for the wave measurement, so the sequential calls' timers and caps
        # stay out of it.
        with sqlite3.connect(fixture) as src, sqlite3.connect(wave_copy) as dst:
            src.backup(dst)
        build_s = time.perf_counter() - t0

        t1 = time.perf_counter()
        calls, statements, pages = await measure_calls(f"sqlite+aiosqlite:///{fixture}",
                                                       fixture, args.requests)
        calls_wall = time.perf_counter() - t1
        waves = await measure_waves(f"sqlite+aiosqlite:///{wave_copy}", wave_copy,
                                    args.concurrent)
        raw = raw_commits(raw_file, RAW_COMMITS)
        floor = await framework_commits(floor_file, RAW_COMMITS)
    finally:
        for path in (wave_copy, raw_file, floor_file):
            remove_db(path)

    m = args.concurrent
    calls.name = "call -> first page committed"
    waves.open_calls.name = f"call, {m} opened at the same moment"
    waves.lateness.name = f"wave timer lateness, {m} due at once"
    raw.name = "baseline: raw sqlite3 INSERT+COMMIT"
    floor.name = "baseline: storage.db transaction, 1 INSERT"
    per_fire = waves.fire_wall / waves.fired
    out = [
        f"peercircle lifeline benchmark: {args.circles} circles, {args.members} members, "
        f"SQLite (WAL, synchronous=NORMAL), Python {sys.version.split()[0]}",
        f"  fixture {fixture}: built through the migrations and checked in {build_s:.1f} s; "
        f"{share:.0%} of members reachable at {INSTANT:%Y-%m-%d %H:%M} UTC (Sunday; 10 "
        "timezones)",
        f"  bulk rows equal the rows the commands write (1 circle, row by row: {detail})",
        "",
        *table([calls, waves.open_calls, waves.lateness, raw, floor]),
        "",
        f"  calls: {args.requests} in sequence, one per circle, in {calls_wall:.1f} s; the first "
        f"(cold) took {dur(calls.values[0])}; {statements} SQL statements each (p50); each "
        "call's page and its priority-0 DM were read back from another connection "
        f"({pages} page rows)",
        f"  burst: {m} calls opened concurrently at one fake instant took {waves.open_wall:.2f} s "
        "of wall time in all",
        f"  wave timers: one fire_due() pass fired {waves.fired} in {waves.fire_wall:.2f} s "
        f"({dur(per_fire)} each), writing {waves.pages} page rows and {waves.outbox} outbox "
        "rows; lateness = real time from the pass's start to the commit of that timer's pages",
        "",
        "ratios",
        f"  call p50 / raw commit p50        {calls.p50 / raw.p50:8.0f}x",
        f"  call p99 / raw commit p99        {calls.p99 / raw.p99:8.0f}x",
        f"  storage.db floor p50 / raw p50   {floor.p50 / raw.p50:8.0f}x",
        f"  call p50 / storage.db floor p50  {calls.p50 / floor.p50:8.1f}x",
        f"  one wave fire / raw commit p50   {per_fire / raw.p50:8.0f}x",
        "",
        f'SPEC target: "time to first page under {SPEC_TARGET_S:.0f} s end to end" '
        "(this measures up to the commit; the adapter's send comes after).",
        f"  call p99 {dur(calls.p99)} = {calls.p99 / SPEC_TARGET_S:.2%} of it; worst call in the "
        f"burst {dur(waves.open_calls.max)} = {waves.open_calls.max / SPEC_TARGET_S:.1%}; "
        f"worst wave lateness {dur(waves.lateness.max)} = "
        f"{waves.lateness.max / SPEC_TARGET_S:.1%}",
    ]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    workdir = Path(tempfile.mkdtemp(prefix="peercircle-bench-"))
    try:
        print("\n".join(asyncio.run(run(args, workdir))))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
