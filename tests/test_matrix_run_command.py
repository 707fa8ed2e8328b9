"""The host's path: `peercircle run --config FILE` as its own process, in an empty working
directory, against a real Synapse. It migrates a fresh database, creates store_path, answers a
member, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from tests.matrix_fixtures import members
from tests.synapse_server import SynapseServer, is_available

AVAILABLE = is_available()
pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason=AVAILABLE.reason),
    pytest.mark.asyncio(loop_scope="module"),
]



async def test_peercircle_run_answers_and_stops_cleanly(synapse: SynapseServer,
                                                        tmp_path: Path) -> None:
    bot = await synapse.register("runbot")
    work = tmp_path / "host"
    work.mkdir()
    config = work / "config.yaml"
    # JSON is YAML; the secrets come from the environment, as the README says.
    config.write_text(json.dumps({
        "database": {"url": "sqlite+aiosqlite:///peercircle.db"},
        "matrix": {"enabled": True, "homeserver": synapse.base_url, "user_id": bot.user_id,
                   "device_id": bot.device_id, "store_path": "./matrix-store"},
    }))
    env = {"PATH": "/usr/bin:/bin", "PEERCIRCLE_MATRIX__ACCESS_TOKEN": bot.access_token,
           "PEERCIRCLE_MATRIX__PICKLE_KEY": "a long random test secret"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.cli", "run", "--config", str(config), cwd=work, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with members(synapse, tmp_path, "runmember") as (ana,):
            room = await ana.create_room([bot.user_id], encrypted=True)
            await ana.wait_member(room, bot.user_id)
            asked = await ana.say(room, "!circle setup name:Harbour timezone:Europe/Berlin")
            reply = await ana.reply_to(asked, bot.user_id, within=30)
            assert "Harbour is set up here (Europe/Berlin)" in reply.body
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert (work / "peercircle.db").exists() and (work / "matrix-store").is_dir()
    assert "Harbour" not in err.decode()  # no message content in the logs
