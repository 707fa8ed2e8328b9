"""`peercircle run` as real processes sharing one PostgreSQL database: start, read their logs
as they come (with the instant each line arrived), signal, and always kill in `finally`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.synapse_server import RegisteredUser, SynapseServer

LEADS = "leader: this process leads now"
STANDBY = "standby: another process leads"
FIRST_SYNC = "matrix: first sync handled"
STEPS_DOWN = "leader: stepping down"


@dataclass
class Run:
    """One `peercircle run` process and the log lines it wrote, each with its arrival time."""

    name: str
    proc: asyncio.subprocess.Process
    lines: list[tuple[float, str]] = field(default_factory=list)
    _new: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        async def read() -> None:
            assert self.proc.stderr is not None
            async for raw in self.proc.stderr:
                self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip()))
                self._new.set()
            self._new.set()
        self._reader = asyncio.create_task(read())

    def find(self, needle: str) -> float | None:
        """When the first line containing `needle` arrived (None: not yet)."""
        return next((at for at, line in self.lines if needle in line), None)

    async def wait_log(self, needle: str, within: float) -> float:
        deadline = time.monotonic() + within
        while True:
            at = self.find(needle)
            if at is not None:
                return at
            left = deadline - time.monotonic()
            assert left > 0, f"{self.name} never logged {needle!r}; log:\n{self.log()}"
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), min(left, 0.5))

    async def exited(self, within: float) -> int:
        return await asyncio.wait_for(self.proc.wait(), within)

    def log(self) -> str:
        return "\n".join(line for _at, line in self.lines[-40:])

    def signal(self, sig: int) -> float:
        self.proc.send_signal(sig)
        return time.monotonic()

    async def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGCONT)
                self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._reader, 5)


def write_config(work: Path, hs: SynapseServer, bot: RegisteredUser, database_url: str) -> Path:
    config = work / "config.yaml"
    config.write_text(json.dumps({
        "database": {"url": database_url},
        "matrix": {"enabled": True, "homeserver": hs.base_url, "user_id": bot.user_id,
                   "device_id": bot.device_id, "store_path": str(work / "matrix-store")},
    }))
    return config


@contextlib.asynccontextmanager
async def processes(work: Path, config: Path, bot: RegisteredUser
                    ) -> AsyncIterator[list[Run]]:
    """Yields a list; `start(runs, name)` adds a process to it. Every one is killed after."""
    runs: list[Run] = []
    try:
        yield runs
    finally:
        for run in runs:
            await run.kill()


async def start(runs: list[Run], name: str, work: Path, config: Path,
                bot: RegisteredUser) -> Run:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "PEERCIRCLE_MATRIX__ACCESS_TOKEN": bot.access_token,
           "PEERCIRCLE_MATRIX__PICKLE_KEY": "a long random test secret",
           "PYTHONUNBUFFERED": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.cli", "run", "--config", str(config), cwd=work,
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    run = Run(name, proc)
    runs.append(run)
    run.start_reading()
    return run
