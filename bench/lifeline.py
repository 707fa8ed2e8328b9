"""Lifeline benchmark: how fast `call` commits its first page, and how late wave timers fire.

    python bench/lifeline.py [--circles 1000 --members 20000 --requests 1000 --concurrent 200
                              --backlog 10000 --postgres URL --db PATH] [--quick]

1. Builds a fresh SQLite file through the real migrations with N circles of 20 members whose
   availability (windows in 10 timezones) leaves half of them reachable at the simulated
   instant. Rows are bulk-inserted (setup is not what is measured) but are exactly what the
   commands write; a 1-circle build through the real commands is compared row by row first.
2. `call` -> first page committed: the wall time of `Core.handle_text("call", ...)` in DM. The
   first wave's LifelinePage and priority-0 outbox rows commit in that call's own transaction
   (bot/features/lifeline: call_open -> next_wave -> _page inside Core.invoke's transaction), which
   the bench checks after every call from a separate connection. With --postgres, the same
   calls on a fresh PostgreSQL database, printed beside.
3. Wave-timer lateness: M requests opened at the same fake instant (concurrently), the fake
   clock set to their wave deadline, then one `Core.fire_due()` pass; for each wave timer, the
   real time from the start of the pass to the commit of its pages. Then again with --backlog
   overdue onboarding timers queued (due before the waves), and the watchdog's log lines.
4. Start-up drain: --backlog overdue onboarding timers, the core opened, one fire_due() pass
   (a bot that ran before the downtime: its own start-up rows, rotation roles, exist).
5. Baselines from the same run and disk: raw stdlib sqlite3 INSERT+COMMIT with
   synchronous=FULL (the store's default; the goals are ratios to it), taken in RAW_BLOCKS
   blocks spread over the run (and, as earlier runs took it, in one block at the end), and
   with NORMAL; and one INSERT through storage.db.Database, the floor of any core commit.

The core runs on an injected FakeClock (deterministic windows); durations use a real clock.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import math
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import String, event, insert, literal, text, update
from sqlalchemy.engine import make_url

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
# The raw FULL baseline is taken in this many blocks spread over the run (before the calls,
# after them, after the waves, after the drain), into one file. How fast this shared machine's
# disk commits moves from one moment to the next: one block of 0.3 s gave a p99 anywhere from
# 0.30 to 0.48 ms between runs of the same code, which decided the ratio more than the code.
RAW_BLOCKS = 4


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
        # BEGIN is no statement SQLAlchemy executes (SQLite: storage.db's hook calls the
        # driver; PostgreSQL: asyncpg issues it), but it is a round trip all the same.
        event.listen(db.engine.sync_engine, "begin", self._on)

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


async def measure_calls(url: str, path: Path | None, requests: int) -> tuple[Stat, int, int]:
    """Sequential calls in distinct circles; returns latencies, statements per call, pages.
    Each call's page is read back from another connection (a file reader on SQLite, a second
    engine on PostgreSQL): only committed rows count."""
    clock = FakeClock(INSTANT)
    core = await open_bench_core(url, clock)
    counter = StatementCounter(core.db)
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True) if path else None
    other = None if path else Database(url)
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
            if reader is not None:
                pages += check_first_page(reader, reply.text)
            else:
                assert other is not None
                pages += await check_first_page_pg(other, reply.text)
    finally:
        if reader is not None:
            reader.close()
        if other is not None:
            await other.dispose()
        await core.db.dispose()
    return Stat("call -> first page committed", latencies), round(pct(statements, 50)), pages


async def check_first_page_pg(db: Database, reply_text: str) -> int:
    m = _REQUEST.search(reply_text)
    assert m, f"no request id in the reply: {reply_text[:200]!r}"
    async with db.transaction() as s:
        pages = (await s.execute(text(
            "SELECT count(*) FROM lifeline_pages p JOIN outbox o ON o.key = p.outbox_key "
            "WHERE p.request_id = :r AND o.priority = 0 AND o.kind = 'dm'"),
            {"r": int(m.group(1))})).scalar_one()
    assert pages >= 1, f"request {m.group(1)}: no committed page with a priority-0 DM"
    return int(pages)


# -- PostgreSQL ---------------------------------------------------------------------------------
@asynccontextmanager
async def pg_database(admin_url: str) -> AsyncIterator[str]:
    """A fresh database on the server of `admin_url`, dropped afterwards."""
    import asyncpg

    url = make_url(admin_url)
    name = f"peercircle_bench_{uuid.uuid4().hex[:12]}"
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def build_fixture_pg(url: str, circles: int) -> None:
    db = await build_fixture(url, circles)
    try:
        async with db.engine.begin() as conn:  # the rows came with their ids
            for table in ("people", "circles", "members"):
                await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', "
                                        f"'id'), (SELECT max(id) FROM {table}))"))
    finally:
        await db.dispose()


async def pg_raw_commits(url: str, n: int) -> Stat:
    """asyncpg alone: INSERT + COMMIT, one round trip each, the floor of a PostgreSQL commit."""
    import asyncpg

    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql")
                                 .render_as_string(hide_password=False))
    try:
        await conn.execute("CREATE TABLE bench_t (id bigserial PRIMARY KEY, v text NOT NULL)")
        values: list[float] = []
        for i in range(n):
            start = time.perf_counter()
            async with conn.transaction():
                await conn.execute("INSERT INTO bench_t (v) VALUES ($1)", f"row {i}")
            values.append(time.perf_counter() - start)
        return Stat("baseline: raw asyncpg INSERT+COMMIT", values)
    finally:
        await conn.close()


@dataclass
class WaveResult:
    open_calls: Stat
    open_wall: float
    lateness: Stat
    fire_wall: float
    fired: int
    pages: int
    outbox: int
    watchdog_lines: int


async def counts(db: Database) -> tuple[int, int]:
    async with db.transaction() as s:
        pages = (await s.execute(text("SELECT count(*) FROM lifeline_pages"))).scalar_one()
        out = (await s.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    return int(pages), int(out)


async def add_backlog(db: Database, circles: int, n: int, due: datetime) -> None:
    """n overdue onboarding follow-ups (as after days of downtime), spread over the members
    who joined; each sends its member a DM when it fires."""
    members = [c * PER_CIRCLE + slot + 1 for c in range(circles) for slot in range(1, PER_CIRCLE)]
    rows = [_timer(f"bench-backlog:{i}", "onboarding.followup",
                   {"member_id": members[i % len(members)], "day": 3}, due)
            for i in range(n)]
    async with db.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            await conn.execute(insert(Timer.__table__), rows[i:i + 5000])


class WatchdogLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "watchdog" in record.getMessage():
            self.lines.append(record.getMessage())


async def measure_waves(url: str, path: Path, concurrent: int, circles: int,
                        backlog: int = 0) -> WaveResult:
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
        # Each from the burst's start: a call that has not begun yet waits all the same.
        async def one(c: int) -> tuple[float, str]:
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
        if backlog:  # overdue before the waves fall due: claimed in due order, they'd go first
            await add_backlog(core.db, circles, backlog, INSTANT - timedelta(days=2))

        # Which request's wave each commit holds: the handler names its request, and the
        # next commit takes every wave run since the last one (the timers of one claim may
        # commit together).
        kind = core.features.timers["lifeline.wave"]
        handler = kind.handler
        current: list[int] = []
        committed: dict[int, float] = {}

        async def traced(due: list[tuple[Any, Any]]) -> None:
            current.extend(payload.request_id for _, payload in due)
            await handler(due)  # type: ignore[call-arg,arg-type]

        def on_commit(_timers_changed: bool) -> None:
            now = time.perf_counter()
            for request_id in current:
                committed[request_id] = now
            current.clear()

        core.features.timers["lifeline.wave"] = dataclasses.replace(kind, handler=traced)
        core.on_commit(on_commit)
        pages_before, outbox_before = await counts(core.db)
        # The waves fall due together (the hourly housekeeping timer may be due too).
        due = INSTANT + timedelta(minutes=LifelineSettings().wave_minutes)
        clock.set(due)
        watchdog = WatchdogLines()
        logging.getLogger("bot.timers").addHandler(watchdog)
        start = time.perf_counter()
        try:
            fired = await core.fire_due()
        finally:
            logging.getLogger("bot.timers").removeHandler(watchdog)
        fire_wall = time.perf_counter() - start
        pages_after, outbox_after = await counts(core.db)
        assert len(committed) == concurrent, (len(committed), concurrent)
        return WaveResult(Stat("call, while M open at once", [d for d, _ in opened]), open_wall,
                          Stat("wave timer lateness", [t - start for t in committed.values()]),
                          fire_wall, fired, pages_after - pages_before,
                          outbox_after - outbox_before, len(watchdog.lines))
    finally:
        await core.db.dispose()


@dataclass
class Drain:
    timers: int
    wall: float
    fired: int
    watchdog_lines: int


async def measure_drain(url: str, circles: int, backlog: int) -> Drain:
    """Start-up after downtime: `backlog` overdue onboarding follow-ups, the core opened, one
    fire_due() pass (what the runtime's first tick runs). The bot ran before the downtime,
    so its own start-up state (each circle's rotation roles) is there already."""
    core = await open_bench_core(url, FakeClock(BUILT_AT))
    await core.db.dispose()
    db = Database(url)
    await add_backlog(db, circles, backlog, INSTANT - timedelta(days=2))
    await db.dispose()
    watchdog = WatchdogLines()
    logging.getLogger("bot.timers").addHandler(watchdog)
    try:
        start = time.perf_counter()
        core = await open_bench_core(url, FakeClock(INSTANT))
        try:
            fired = await core.fire_due()
        finally:
            await core.db.dispose()
        wall = time.perf_counter() - start
    finally:
        logging.getLogger("bot.timers").removeHandler(watchdog)
    return Drain(backlog, wall, fired, len(watchdog.lines))


def raw_commits(path: Path, n: int, synchronous: str = "FULL") -> Stat:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
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
    ap.add_argument("--backlog", type=int, default=10_000,
                    help="overdue onboarding timers: drained at start-up, and queued beside "
                    "the waves")
    ap.add_argument("--postgres", metavar="URL", default=None,
                    help="also run the sequential calls on PostgreSQL (postgresql+asyncpg://"
                    "...); a fresh database is made on that server and dropped afterwards")
    ap.add_argument("--quick", action="store_true",
                    help="100 circles, 2,000 members, 100 requests, 50 concurrent, backlog "
                    "1,000")
    args = ap.parse_args(argv)
    if args.quick:
        args.circles, args.members, args.requests, args.concurrent = 100, 2000, 100, 50
        args.backlog = 1000
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
    """Next to the fixture, so the baseline measures the same disk: the wave-test copies, the
    start-up drain copy and the three baseline files."""
    return [fixture.with_name(f"{fixture.stem}-{what}.db")
            for what in ("waves", "backlog", "drain", "raw", "raw-normal", "floor")]


def remove_db(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


async def run(args: argparse.Namespace, workdir: Path) -> list[str]:
    fixture = args.db or workdir / "lifeline-bench.db"
    fixture.parent.mkdir(parents=True, exist_ok=True)
    scratch = scratch_files(fixture)
    wave_copy, backlog_copy, drain_copy, raw_file, normal_file, floor_file = scratch
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
        # Pristine copies for the wave and drain measurements, so the sequential calls' timers
        # and caps stay out of them.
        for copy in (wave_copy, backlog_copy, drain_copy):
            with sqlite3.connect(fixture) as src, sqlite3.connect(copy) as dst:
                src.backup(dst)
        build_s = time.perf_counter() - t0

        blocks = [raw_commits(raw_file, RAW_COMMITS // RAW_BLOCKS)]
        t1 = time.perf_counter()
        calls, statements, pages = await measure_calls(f"sqlite+aiosqlite:///{fixture}",
                                                       fixture, args.requests)
        calls_wall = time.perf_counter() - t1
        blocks.append(raw_commits(raw_file, RAW_COMMITS // RAW_BLOCKS))
        waves = await measure_waves(f"sqlite+aiosqlite:///{wave_copy}", wave_copy,
                                    args.concurrent, args.circles)
        behind = await measure_waves(f"sqlite+aiosqlite:///{backlog_copy}", backlog_copy,
                                     args.concurrent, args.circles, backlog=args.backlog)
        blocks.append(raw_commits(raw_file, RAW_COMMITS // RAW_BLOCKS))
        drain = await measure_drain(f"sqlite+aiosqlite:///{drain_copy}", args.circles,
                                    args.backlog)
        blocks += [raw_commits(raw_file, RAW_COMMITS // RAW_BLOCKS)
                   for _ in range(RAW_BLOCKS - len(blocks))]
        raw = Stat("raw", [v for block in blocks for v in block.values])
        # What earlier runs took as the baseline: one block of RAW_COMMITS after the drain.
        raw_once = raw_commits(raw_file, RAW_COMMITS)
        raw_normal = raw_commits(normal_file, RAW_COMMITS, "NORMAL")
        floor = await framework_commits(floor_file, RAW_COMMITS)
        pg: tuple[Stat, int, Stat] | None = None
        if args.postgres:
            async with pg_database(args.postgres) as pg_url:
                await build_fixture_pg(pg_url, args.circles)
                pg_calls, pg_statements, _ = await measure_calls(pg_url, None, args.requests)
                pg = (pg_calls, pg_statements, await pg_raw_commits(pg_url, RAW_COMMITS))
    finally:
        for path in scratch:
            remove_db(path)

    m = args.concurrent
    calls.name = "call -> first page committed"
    waves.open_calls.name = f"call, {m} opened at the same moment"
    waves.lateness.name = f"wave timer lateness, {m} due at once"
    behind.lateness.name = f"  the same, {args.backlog} overdue timers queued too"
    raw.name = f"baseline: raw sqlite3 INSERT+COMMIT (synchronous=FULL, {RAW_BLOCKS} blocks)"
    raw_once.name = "  (one block of the same after the drain)"
    raw_normal.name = "  (the same with synchronous=NORMAL)"
    floor.name = "baseline: storage.db transaction, 1 INSERT"
    per_fire = waves.fire_wall / waves.fired
    stats = [calls, waves.open_calls, waves.lateness, behind.lateness, raw, raw_once,
             raw_normal, floor]
    if pg is not None:
        pg[0].name = "PostgreSQL: call -> first page committed"
        stats[1:1] = [pg[0], pg[2]]
    out = [
        f"peercircle lifeline benchmark: {args.circles} circles, {args.members} members, "
        f"SQLite (WAL, synchronous=FULL, the default), Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end",
        f"  fixture {fixture}: built through the migrations and checked in {build_s:.1f} s; "
        f"{share:.0%} of members reachable at {INSTANT:%Y-%m-%d %H:%M} UTC (Sunday; 10 "
        "timezones)",
        f"  bulk rows equal the rows the commands write (1 circle, row by row: {detail})",
        "",
        *table(stats),
        "",
        f"  calls: {args.requests} in sequence, one per circle, in {calls_wall:.1f} s; the first "
        f"(cold) took {dur(calls.values[0])}; {statements} SQL statements each (p50, BEGIN "
        "included); each call's page and its priority-0 DM were read back from another "
        f"connection ({pages} page rows)",
        f"  burst: {m} calls opened concurrently at one fake instant took {waves.open_wall:.2f} s "
        "of wall time in all",
        f"  wave timers: one fire_due() pass fired {waves.fired} in {waves.fire_wall:.2f} s "
        f"({dur(per_fire)} each), writing {waves.pages} page rows and {waves.outbox} outbox "
        "rows; lateness = real time from the pass's start to the commit of that timer's pages",
        f"  with {args.backlog} overdue onboarding timers queued (due before the waves): the "
        f"pass fired {behind.fired} in {behind.fire_wall:.2f} s, the waves' worst lateness "
        f"{dur(behind.lateness.max)}; watchdog lines: {behind.watchdog_lines}",
        f"  start-up drain: {drain.timers} overdue onboarding timers, core opened and one "
        f"fire_due() pass: {drain.fired} fired in {drain.wall:.2f} s; watchdog lines: "
        f"{drain.watchdog_lines}",
        f"  raw FULL baseline: {RAW_BLOCKS} blocks of {RAW_COMMITS // RAW_BLOCKS} commits into one "
        "file (before the calls, after them, after the waves, after the drain), p99 each: "
        + " / ".join(dur(b.p99) for b in blocks),
    ]
    if pg is not None:
        out.append(f"  PostgreSQL: the same {args.requests} calls on a fresh database on that "
                   f"server; {pg[1]} SQL statements each (p50)")
    out += [
        "",
        "ratios",
        f"  call p50 / raw FULL commit p50   {calls.p50 / raw.p50:8.1f}x",
        f"  call p99 / raw FULL commit p99   {calls.p99 / raw.p99:8.1f}x   (goal: <= 25x)",
        f"    (against the one block after the drain: {calls.p99 / raw_once.p99:.1f}x)",
        f"  storage.db floor p50 / raw p50   {floor.p50 / raw.p50:8.1f}x",
        f"  call p50 / storage.db floor p50  {calls.p50 / floor.p50:8.1f}x",
        f"  one wave fire / raw commit p50   {per_fire / raw.p50:8.1f}x",
    ]
    if pg is not None:
        out += [f"  PostgreSQL call p50 / SQLite p50 {pg[0].p50 / calls.p50:8.2f}x",
                f"  PostgreSQL call p99 / SQLite p99 {pg[0].p99 / calls.p99:8.2f}x",
                f"  PostgreSQL call p50 / raw asyncpg commit p50 {pg[0].p50 / pg[2].p50:.1f}x"]
    out += [
        "",
        "goals (issue 18)",
        f"  call p99 <= 25x raw FULL commit p99: {calls.p99 / raw.p99:.1f}x (baseline in "
        f"{RAW_BLOCKS} blocks; one block after the drain: {calls.p99 / raw_once.p99:.1f}x)",
        f"  {m} waves due at once, p99 lateness <= 1 s: {dur(waves.lateness.p99)}; with "
        f"{args.backlog} other timers queued, worst wave {dur(behind.lateness.max)}",
        f"  {drain.timers} overdue timers drained at start-up <= 10 s: {drain.wall:.2f} s; "
        f"one watchdog line per pass: {drain.watchdog_lines} line(s)",
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
