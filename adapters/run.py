"""`peercircle run`: the adapters, the outbox senders and the due-timer loop, in the one
process that leads.

On PostgreSQL any number of processes may run with the same config: each migrates (under a
lock, once), loads its imports, pool and config, and waits as a standby until it holds the
leader lock (storage/leadership.py). Takeover order: lock -> epoch -> the old leader's leases
released -> the adapters (Matrix: store, whoami, sync from the stored token) -> senders and
timers. A leader that loses the lock stops all of that at once and exits with LOST, so the
service manager starts it again as a standby. On SQLite one process runs, and a second one on
the same database or Matrix store refuses to start (storage/single_run.py)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import IO, Any

from bot.config import Settings

log = logging.getLogger(__name__)

LOST = 3  # exit status of a leader that stepped down


async def run_bot(settings: Settings) -> int:
    from bot.app import open_core
    from bot.clock import SystemClock
    from bot.outbox import Deliverer
    from bot.runtime import Runtime
    from storage.db import is_sqlite
    from storage.migrate import SchemaTooNewError
    from storage.single_run import AlreadyRunningError, hold_for_run

    held: list[IO[str]] = []
    if is_sqlite(settings.database.url):
        try:
            held = hold_for_run(settings.database.url,
                                settings.matrix.store_path if settings.matrix.enabled else None)
        except AlreadyRunningError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    try:
        core = await open_core(settings, SystemClock())
    except SchemaTooNewError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Imported before leading, so a takeover does not wait for them.
    if settings.matrix.enabled:
        from adapters.matrix import MatrixAdapter
    if settings.discord.enabled:
        from adapters.discord import DiscordAdapter
    leadership: Any = None
    forward: asyncio.Task[Any] | None = None
    work_stop = stop
    try:
        if not is_sqlite(settings.database.url):
            from storage.leadership import Leadership, release_stale_leases

            leadership = Leadership(settings.database.url)
            if await leadership.acquire(stop) is None:
                return LOST if leadership.lost.is_set() else 0
            core.db.fence, core.db.epoch = leadership.fence, leadership.epoch
            work_stop = asyncio.Event()
            leadership.on_lost(lambda _reason: work_stop.set())
            forward = asyncio.create_task(stop.wait())
            forward.add_done_callback(lambda _t: work_stop.set())
            async with core.db.transaction() as s:
                outbox, timers = await release_stale_leases(s, core.clock.now())
            if outbox or timers:
                log.info("leader: took over %d outbox row(s) and %d timer(s) the old leader "
                         "had claimed", outbox, timers)
        deliverers: list[Deliverer] = []
        adapters: list[Any] = []
        if settings.matrix.enabled:
            matrix = MatrixAdapter(settings, core)
            adapters.append(matrix)
            deliverers.append(matrix.deliverer)
        if settings.discord.enabled:
            # The Discord bot drains its own outbox (adapters/discord/outbox_loop.py): no
            # sender for it in the runtime.
            adapters.append(DiscordAdapter(settings, core))
        runtime = Runtime(core, deliverers)
        try:
            await asyncio.gather(runtime.run(work_stop), *(a.run(work_stop) for a in adapters))
        except BaseException as exc:
            from adapters.discord import DiscordStartError
            from adapters.matrix import MatrixStartError
            from storage.leadership import FencedError

            if isinstance(exc, FencedError) or (leadership and leadership.lost.is_set()):
                if leadership is not None:  # a store write refused: the same step-down
                    leadership.lose(str(exc) or "a write was refused by the epoch fence")
            elif isinstance(exc, MatrixStartError | DiscordStartError):
                print(str(exc), file=sys.stderr)  # a revoked token, a store of another device
                return 2
            else:
                raise
    finally:
        if forward is not None:
            forward.cancel()
        if leadership is not None:
            await leadership.release()
        await core.db.dispose()
        for handle in held:
            handle.close()
    if leadership is not None and leadership.lost.is_set() and not stop.is_set():
        log.error("leader: exiting after stepping down; started again, this process waits "
                  "as a standby")
        return LOST
    return 0
