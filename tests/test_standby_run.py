"""An active bot and a hot standby: two `peercircle run` processes with one config, one
PostgreSQL database and a real Synapse. Exactly one leads and answers; the other takes over
when the leader is killed, frozen or cut off from the database, and a leader that woke from a
freeze sends and writes nothing. On SQLite a second process refuses to start."""

from __future__ import annotations

import asyncio
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


async def test_two_started_at_once_one_leads_and_every_command_is_answered_once(
        synapse: SynapseServer, pg_url: str, tmp_path: Path) -> None:
    bot = await synapse.register(unique("pairbot"))
    config = write_config(tmp_path, synapse, bot, pg_url)
    async with processes(tmp_path, config, bot) as runs:
        a, b = await asyncio.gather(start(runs, "a", tmp_path, config, bot),
                                    start(runs, "b", tmp_path, config, bot))
        waits = [asyncio.ensure_future(r.wait_log(FIRST_SYNC, START)) for r in (a, b)]
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for w in pending:
            w.cancel()
        done.pop().result()
        leader, standby = (a, b) if a.find(FIRST_SYNC) is not None else (b, a)
        await standby.wait_log(STANDBY, 10)
        async with members(synapse, tmp_path, unique("pairmember")) as (ana,):
            room = await _room_with_bot(ana, bot.user_id)
            asked = [await ana.say(room, "!think"), await ana.say(room, "!help"),
                     await ana.say(room, "!think")]
            await _answered_once(ana, room, bot.user_id, asked)
        assert standby.find(FIRST_SYNC) is None and standby.find(LEADS) is None
        assert leader.proc.returncode is None and standby.proc.returncode is None


async def _leader_and_standby(runs: list, tmp_path: Path, config: Path, bot: object
                              ) -> tuple:
    a = await start(runs, "a", tmp_path, config, bot)  # type: ignore[arg-type]
    await a.wait_log(FIRST_SYNC, START)
    b = await start(runs, "b", tmp_path, config, bot)  # type: ignore[arg-type]
    await b.wait_log(STANDBY, START)
    return a, b


async def test_kill_9_of_the_leader_the_standby_answers_within_5_seconds(
        synapse: SynapseServer, pg_url: str, tmp_path: Path) -> None:
    bot = await synapse.register(unique("killbot"))
    config = write_config(tmp_path, synapse, bot, pg_url)
    async with processes(tmp_path, config, bot) as runs, \
            members(synapse, tmp_path, unique("killmember")) as (ana,):
        a, b = await _leader_and_standby(runs, tmp_path, config, bot)
        room = await _room_with_bot(ana, bot.user_id)
        before = await ana.say(room, "!think")
        await ana.reply_to(before, bot.user_id, within=30)
        killed = a.signal(signal.SIGKILL)
        during = await ana.say(room, "!think")  # sent while no one leads
        synced = await b.wait_log(FIRST_SYNC, 15)
        took = synced - killed
        print(f"takeover after kill -9: {took:.2f} s to the new leader's first sync")
        assert took <= 5.0, b.log()
        after = await ana.say(room, "!help")
        await _answered_once(ana, room, bot.user_id, [before, during, after])


async def test_a_frozen_leader_is_replaced_and_after_waking_sends_and_writes_nothing(
        synapse: SynapseServer, pg_url: str, tmp_path: Path) -> None:
    bot = await synapse.register(unique("frozenbot"))
    config = write_config(tmp_path, synapse, bot, pg_url)
    async with processes(tmp_path, config, bot) as runs, \
            members(synapse, tmp_path, unique("frozenmember")) as (ana,):
        a, b = await _leader_and_standby(runs, tmp_path, config, bot)
        room = await _room_with_bot(ana, bot.user_id)
        first = await ana.say(room, "!think")
        await ana.reply_to(first, bot.user_id, within=30)
        stopped = a.signal(signal.SIGSTOP)
        # Sent while the old leader is frozen: its sync may hand it this command on waking.
        during = await ana.say(room, "!think")
        synced = await b.wait_log(FIRST_SYNC, 20)
        took = synced - stopped
        print(f"takeover after SIGSTOP: {took:.2f} s to the new leader's first sync")
        assert took <= 15.0, b.log()
        await ana.reply_to(during, bot.user_id, within=15)
        a.signal(signal.SIGCONT)
        await a.wait_log(STEPS_DOWN, 10)
        assert await a.exited(15) == 3, a.log()
        after = await ana.say(room, "!help")
        await _answered_once(ana, room, bot.user_id, [first, during, after])
        db = Database(pg_url)
        try:
            async with db.transaction() as s:
                row = (await s.execute(select(Leader))).scalar_one()
        finally:
            await db.dispose()
        assert row.epoch == 2 and row.holder and row.holder.endswith(f":{b.proc.pid}")
        assert "sends and writes nothing more" in a.log()


async def test_the_lock_connection_cut_from_postgres_stops_the_leader_within_2_seconds(
        synapse: SynapseServer, pg_url: str, tmp_path: Path) -> None:
    bot = await synapse.register(unique("cutbot"))
    config = write_config(tmp_path, synapse, bot, pg_url)
    async with processes(tmp_path, config, bot) as runs, \
            members(synapse, tmp_path, unique("cutmember")) as (ana,):
        a, b = await _leader_and_standby(runs, tmp_path, config, bot)
        db = Database(pg_url)
        try:
            async with db.transaction() as s:
                cut_at = time.monotonic()
                ended = (await s.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name LIKE 'peercircle leader %'"))).scalar_one()
        finally:
            await db.dispose()
        assert ended == 1
        down = await a.wait_log(STEPS_DOWN, 5)
        assert down - cut_at <= 2.0, a.log()
        synced = await b.wait_log(FIRST_SYNC, 20)
        assert synced > down
        assert await a.exited(15) == 3, a.log()
        room = await _room_with_bot(ana, bot.user_id)
        asked = await ana.say(room, "!think")
        await _answered_once(ana, room, bot.user_id, [asked])


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

    async def run() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.cli", "run", "--config", str(config),
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)

    first = await run()
    second = None
    try:
        assert first.stderr is not None
        async for line in first.stderr:  # up and waiting for the homeserver
            if b"homeserver not reachable" in line:
                break
        second = await run()
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
