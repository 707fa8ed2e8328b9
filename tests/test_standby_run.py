"""An active bot and a hot standby: two `peercircle run` processes with one config, one
PostgreSQL database and a real Synapse. Exactly one leads and answers; the other takes over
when the leader is killed, frozen or cut off from the database, and a leader that woke from a
freeze sends and writes nothing. On SQLite a second process refuses to start."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select, text

from storage.db import Database
from storage.models import Leader
from tests.conftest import POSTGRES_URL
from tests.matrix_fixtures import Member, marker, members, unique
from tests.standby_processes import (
    FIRST_SYNC,
    LEADS,
    STANDBY,
    STEPS_DOWN,
    processes,
    start,
    write_config,
)
from tests.synapse_server import SynapseServer, is_available

AVAILABLE = is_available()
pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason=AVAILABLE.reason),
    pytest.mark.asyncio(loop_scope="module"),
]
START = 60.0  # a cold process start on a busy 2-core machine: imports, migrations, first sync
UNDECRYPTABLE = "I couldn't read an encrypted message here"


@pytest_asyncio.fixture(loop_scope="module")
async def pg_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: PEERCIRCLE_TEST_POSTGRES_URL is not set")
    pg = request.getfixturevalue("_pg_databases")
    url = await pg.create()
    try:
        yield url
    finally:
        pg.drop(url)


async def _room_with_bot(member: Member, bot_id: str) -> str:
    room = await member.create_room([bot_id], encrypted=True)
    await member.wait_member(room, bot_id)
    return room


async def _answered_once(member: Member, room: str, bot_id: str, asked: list[str]) -> None:
    """Each command has exactly one answer, and no one was told the bot could not read it.
    The marker is answered after everything before it, so nothing more can come in late."""
    await marker(member, room, bot_id)
    for event_id in asked:
        replies = [s for s in member.from_user(bot_id, room)
                   if s.content.get("m.relates_to", {}).get("m.in_reply_to", {})
                   .get("event_id") == event_id]
        assert len(replies) == 1, [r.body[:60] for r in replies]
    assert not any(UNDECRYPTABLE in s.body for s in member.from_user(bot_id))


async def _epoch_and_holder(pg_url: str) -> tuple[int, str | None]:
    db = Database(pg_url)
    try:
        async with db.transaction() as s:
            row = (await s.execute(select(Leader))).scalar_one()
            return row.epoch, row.holder
    finally:
        await db.dispose()


async def _outbox(pg_url: str) -> list[tuple[str, bool]]:
    db = Database(pg_url)
    try:
        async with db.transaction() as s:
            rows = (await s.execute(text(
                "SELECT key, sent_at IS NOT NULL FROM outbox ORDER BY key"))).all()
            return [(r[0], r[1]) for r in rows]
    finally:
        await db.dispose()


async def test_active_and_standby_take_over_from_a_kill_a_freeze_and_a_cut(
        synapse: SynapseServer, pg_url: str, tmp_path: Path) -> None:
    """One scenario, so that each new standby starts while the previous step is checked
    (a cold process start is most of the time here): two started at once; kill -9 of the
    leader; SIGSTOP of the next; its lock connection terminated for the third; every
    connection cut (a PostgreSQL restart) for the fourth."""
    bot = await synapse.register(unique("pairbot"))
    config = write_config(tmp_path, synapse, bot, pg_url)
    async with processes(tmp_path, config, bot) as runs, \
            members(synapse, tmp_path, unique("pairmember")) as (ana,):
        # 1. Started at the same instant: exactly one syncs, every command answered once.
        a, b = await asyncio.gather(start(runs, "a", tmp_path, config, bot),
                                    start(runs, "b", tmp_path, config, bot))
        waits = [asyncio.ensure_future(r.wait_log(FIRST_SYNC, START)) for r in (a, b)]
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for w in pending:
            w.cancel()
        done.pop().result()
        leader, standby = (a, b) if a.find(FIRST_SYNC) is not None else (b, a)
        await standby.wait_log(STANDBY, 10)
        room = await _room_with_bot(ana, bot.user_id)
        asked = [await ana.say(room, "!think"),
                 await ana.say(room, "!circle setup name:Harbour timezone:Europe/Berlin"),
                 await ana.say(room, "!think")]
        await _answered_once(ana, room, bot.user_id, asked)
        assert standby.find(FIRST_SYNC) is None and standby.find(LEADS) is None
        # The setup's welcome post went out through the outbox, once.
        await ana.wait_for(lambda s: s.source.get("sender") == bot.user_id
                           and s.body.startswith("Welcome to Harbour"), what="the welcome")

        # 2. kill -9 of the leader: the standby answers within 5 s, what came meanwhile too.
        killed = leader.signal(signal.SIGKILL)
        during = await ana.say(room, "!think")  # sent while no one leads
        synced = await standby.wait_log(FIRST_SYNC, 15)
        print(f"takeover after kill -9: {synced - killed:.2f} s to the first sync")
        assert synced - killed <= 5.0, standby.log()
        leader, c = standby, await start(runs, "c", tmp_path, config, bot)
        asked = [during, await ana.say(room, "!help")]  # in the Megolm session of before
        await _answered_once(ana, room, bot.user_id, asked)
        # A new Megolm session, its key sent to the new leader's device over Olm: read too.
        ana.client.invalidate_outbound_session(room)
        fresh = await ana.say(room, "!think")
        await _answered_once(ana, room, bot.user_id, [fresh])
        sessions = {(await ana.raw_event(room, e))["content"]["session_id"]
                    for e in (during, fresh)}
        assert len(sessions) == 2
        await c.wait_log(STANDBY, START)

        # 3. SIGSTOP (a frozen host): the standby leads within 15 s; after SIGCONT the old
        # leader sends and writes nothing, says so, and exits for its restart as a standby.
        stopped = leader.signal(signal.SIGSTOP)
        during = await ana.say(room, "!think")  # the frozen one's sync may hold it on waking
        synced = await c.wait_log(FIRST_SYNC, 20)
        print(f"takeover after SIGSTOP: {synced - stopped:.2f} s to the first sync")
        assert synced - stopped <= 15.0, c.log()
        await ana.reply_to(during, bot.user_id, within=15)
        leader.signal(signal.SIGCONT)
        await leader.wait_log(STEPS_DOWN, 10)
        assert await leader.exited(15) == 3, leader.log()
        assert "sends and writes nothing more" in leader.log()
        d = await start(runs, "d", tmp_path, config, bot)
        await _answered_once(ana, room, bot.user_id, [during, await ana.say(room, "!help")])
        epoch, holder = await _epoch_and_holder(pg_url)
        assert epoch == 3 and holder is not None and holder.endswith(f":{c.proc.pid}")
        await d.wait_log(STANDBY, START)

        # 4. The leader's lock connection terminated from PostgreSQL: it stops leading within
        # 2 s, and the new leader's first sync comes after that.
        db = Database(pg_url)
        try:
            async with db.transaction() as s:
                cut_at = time.monotonic()
                ended = (await s.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND "
                    "application_name LIKE 'peercircle leader %'"))).scalar_one()
        finally:
            await db.dispose()
        assert ended == 1
        down = await c.wait_log(STEPS_DOWN, 5)
        assert down - cut_at <= 2.0, c.log()
        synced = await d.wait_log(FIRST_SYNC, 20)
        assert synced > down
        assert await c.exited(15) == 3, c.log()
        e = await start(runs, "e", tmp_path, config, bot)
        await _answered_once(ana, room, bot.user_id, [await ana.say(room, "!think")])
        assert (await _epoch_and_holder(pg_url))[0] == 4
        await e.wait_log(STANDBY, START)

        # 5. Every connection to the database cut at once, as a PostgreSQL restart does: one
        # leader afterwards (the old one exits for its restart as a standby), outbox unchanged.
        before = await _outbox(pg_url)
        assert before and all(sent for _key, sent in before)
        db = Database(pg_url)
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
                await conn.commit()
        finally:
            await db.dispose()
        assert await d.exited(15) == 3, d.log()
        await e.wait_log(FIRST_SYNC, 20)
        assert await _outbox(pg_url) == before
        assert (await _epoch_and_holder(pg_url))[0] == 5
        await _answered_once(ana, room, bot.user_id, [await ana.say(room, "!think")])
        assert sum(r.proc.returncode is None for r in runs) == 1  # e, alone, leads
        welcomes = [x for x in ana.from_user(bot.user_id, room)
                    if x.body.startswith("Welcome to Harbour")]
        assert len(welcomes) == 1
        # Each new leader went on with its predecessor's keys: no one-time-key upload failed.
        for run in runs:
            assert "key upload failed" not in "\n".join(line for _at, line in run.lines)
    # Every leader used the one end-to-end store in the database, none a file store.
    assert not list((tmp_path / "matrix-store").glob("*.db"))
    db = Database(pg_url)
    try:
        async with db.transaction() as s:
            keys = (await s.execute(text(
                "SELECT count(*) FROM matrix_e2e_group_sessions"))).scalar_one()
    finally:
        await db.dispose()
    assert keys >= 1


def _locked(path: Path) -> bool:
    if not path.exists():
        return False
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


async def test_on_sqlite_a_second_run_refuses_to_start(tmp_path: Path) -> None:
    """No Synapse needed: the first process waits for an unreachable homeserver."""
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"},
        "matrix": {"enabled": True, "homeserver": "http://127.0.0.1:9", "user_id": "@b:x",
                   "device_id": "DEV", "store_path": str(tmp_path / "store")},
    }))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "PEERCIRCLE_MATRIX__ACCESS_TOKEN": "t", "PEERCIRCLE_MATRIX__PICKLE_KEY": "k"}

    async def run(stderr: int) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.cli", "run", "--config", str(config),
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr)

    first = await run(asyncio.subprocess.DEVNULL)
    second = None
    try:
        # The lock is taken before anything else: wait until the first process holds it.
        lock = tmp_path / ".bot.db.run-lock"
        deadline = time.monotonic() + START
        while not _locked(lock):
            assert first.returncode is None and time.monotonic() < deadline
            await asyncio.sleep(0.05)
        second = await run(asyncio.subprocess.PIPE)
        _out, err = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 2
        message = err.decode().strip()
        assert message.count("\n") == 0, message
        assert "another `peercircle run` is already using the database" in message
        assert "PostgreSQL" in message
    finally:
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()


async def test_kill_9_in_the_middle_of_a_paging_wave_the_standby_pages_the_next_one(
        synapse: SynapseServer, pg_url: str, tmp_path: Path) -> None:
    """A lifeline call pages two members (a wave); the leader is killed as the first page
    arrives, with the next wave due. The standby sends the next wave within 5 s of the kill;
    every page arrives once, decrypts, and can be answered."""
    bot = await synapse.register(unique("wavebot"))
    me = bot.user_id
    config = write_config(tmp_path, synapse, bot, pg_url)
    async with processes(tmp_path, config, bot) as runs, \
            members(synapse, tmp_path, unique("ana"), unique("ben"), unique("cai"),
                    unique("dee")) as (ana, ben, cai, dee):
        a, b = await asyncio.gather(start(runs, "a", tmp_path, config, bot),
                                    start(runs, "b", tmp_path, config, bot))
        waits = [asyncio.ensure_future(r.wait_log(FIRST_SYNC, START)) for r in (a, b)]
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for w in pending:
            w.cancel()
        done.pop().result()
        leader, standby = (a, b) if a.find(FIRST_SYNC) is not None else (b, a)
        room = await ana.create_room([me, ben.user_id, cai.user_id, dee.user_id],
                                     encrypted=True)
        for m in (ben, cai, dee):
            await m.client.join(room)
        for who in (me, ben.user_id, cai.user_id, dee.user_id):
            await ana.wait_member(room, who)
        sent = await ana.say(room, "!circle setup name:Riverbend timezone:Europe/Berlin")
        await ana.reply_to(sent, me, within=30)
        peers = (ben, cai, dee)
        dms: dict[str, str] = {}
        for m in peers:
            await m.reply_to(await m.say(room, "!join"), me)
        for m in peers:
            welcome = await m.wait_for(lambda s: s.source.get("sender") == me
                                       and "pact" in s.body.lower(), what="the welcome DM")
            dms[m.user_id] = welcome.room_id
            await m.reply_to(await m.say(welcome.room_id, "available set daily any"), me)
        await standby.wait_log(STANDBY, START)

        await ana.say(room, "!call")

        def page(m: Member) -> list[object]:
            return [s for s in m.from_user(me, dms[m.user_id])
                    if s.body.startswith("Lifeline page #")]

        first = await asyncio.wait(
            [asyncio.ensure_future(m.wait_for(lambda s, m=m: s.room_id == dms[m.user_id]
                                              and s.body.startswith("Lifeline page #"),
                                              within=30, what="a page"))
             for m in peers], return_when=asyncio.FIRST_COMPLETED)
        for w in first[1]:
            w.cancel()
        # The next wave is due now (not in wave_minutes), and the leader dies at once.
        db = Database(pg_url)
        try:
            async with db.transaction() as s:
                moved = (await s.execute(text(
                    "UPDATE timers SET due_at = now() WHERE key LIKE 'lifeline:%:wave:2' "
                    "AND fired_at IS NULL AND cancelled_at IS NULL"))).rowcount
            killed = leader.signal(signal.SIGKILL)
        finally:
            await db.dispose()
        assert moved == 1
        for m in peers:
            await m.wait_for(lambda s, m=m: s.room_id == dms[m.user_id]
                             and s.body.startswith("Lifeline page #"), within=15,
                             what="a page")
        paged_all = time.monotonic()
        print(f"every page in within {paged_all - killed:.2f} s of the kill -9")
        assert paged_all - killed <= 5.0, standby.log()
        for m in peers:
            await marker(m, dms[m.user_id], me)
            pages = page(m)
            assert len(pages) == 1, [p.body[:60] for p in pages]  # type: ignore[attr-defined]
        # Pages decrypt and can be answered: one peer takes it.
        taker = ben
        rid = page(taker)[0].body.split("#", 1)[1].split(" ", 1)[0]  # type: ignore[attr-defined]
        took = await taker.say(dms[taker.user_id], f"ack {rid}")
        answer = await taker.reply_to(took, me)
        assert answer.body.startswith("Thank you for taking it"), answer.body
        assert not any(UNDECRYPTABLE in s.body for m in peers for s in m.from_user(me))
