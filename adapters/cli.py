"""The `peercircle` command: console, run, migrate, check-config, matrix and discord tasks."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, config_path, load_settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="peercircle",
                                description="A peer-support circle bot for Discord and Matrix.")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("console", help="a local circle in the terminal (SQLite, no network)")
    c.add_argument("--db", default="peercircle-console.db", help="SQLite file to use")
    c.add_argument("--script", help="run lines from FILE instead of the keyboard")
    c.add_argument("--clock", help="simulated start instant, e.g. 2026-11-22T04:00:00Z")
    c.add_argument("--show-time", action="store_true", help="prefix output with the instant")
    for name, text in (("run", "start the adapters enabled in the config"),
                       ("migrate", "bring the database schema up to date"),
                       ("check-config", "validate the config and name every wrong setting"),
                       ("status", "which process leads (PostgreSQL: active and standby)")):
        sp = sub.add_parser(name, help=text)
        sp.add_argument("--config", help="config file (default ./config.yaml or "
                                         "$PEERCIRCLE_CONFIG)")
    from adapters.matrix.login import add_cross_sign_parser, add_login_parser

    mx = sub.add_parser("matrix", help="Matrix account tasks")
    matrix_sub = mx.add_subparsers(dest="matrix_cmd", required=True)
    add_login_parser(matrix_sub)
    add_cross_sign_parser(matrix_sub)
    from adapters.matrix.store_import import add_store_parser

    add_store_parser(matrix_sub)
    from adapters.discord.cli import add_sync_parser

    dc = sub.add_parser("discord", help="Discord application tasks")
    discord_sub = dc.add_subparsers(dest="discord_cmd", required=True)
    add_sync_parser(discord_sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cmd == "console":
        # The console's output is the conversation; only warnings belong beside it.
        logging.basicConfig(level=logging.WARNING)
        _set_level(logging.WARNING)
        return _console(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s")
    path = config_path(args.config)
    named = args.config is not None or bool(os.environ.get("PEERCIRCLE_CONFIG"))
    try:
        settings = load_settings(path, must_exist=named)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config: {problem}", file=sys.stderr)
        return 2
    _set_level(logging.getLevelNamesMapping()[settings.logging.level])
    if args.cmd == "matrix":
        from adapters.matrix.login import run_cross_sign, run_login

        if args.matrix_cmd == "store":
            from adapters.matrix.store_import import run_store_import

            return run_store_import(args, settings)
        return (run_login if args.matrix_cmd == "login" else run_cross_sign)(args, settings)
    if args.cmd == "discord":
        from adapters.discord.cli import run_sync

        return _until_done(run_sync(args, settings))
    if args.cmd == "check-config":
        return _check_config(settings, path)
    if args.cmd == "migrate":
        return _until_done(_migrate(settings))
    if args.cmd == "status":
        return _until_done(_status(settings))
    if not (settings.matrix.enabled or settings.discord.enabled):
        if not path.exists():
            print(f"No adapter is enabled and there is no config file at {path.resolve()}; "
                  "copy config.example.yaml there (or pass --config FILE) and enable matrix "
                  "or discord.", file=sys.stderr)
        else:
            print(f"No adapter is enabled in {path}: set matrix.enabled or discord.enabled, "
                  "or try `peercircle console`.", file=sys.stderr)
        return 2
    if settings.discord.enabled and not settings.discord.token:
        from adapters.discord.cli import NO_TOKEN

        print(NO_TOKEN, file=sys.stderr)
        return 2
    return _until_done(_run(settings))


def _set_level(level: int) -> None:
    logging.getLogger().setLevel(level)
    # Alembic reports every start at INFO; for a bot's log that is DEBUG detail. Set before
    # alembic is imported: it logs as it loads its plugins.
    logging.getLogger("alembic").setLevel(logging.DEBUG if level <= logging.DEBUG
                                          else max(level, logging.WARNING))


def _until_done(work: Coroutine[Any, Any, int]) -> int:
    """Run a command; a database that cannot be opened or Ctrl-C ends it in one line."""
    from storage.db import DatabaseUnavailableError

    try:
        return asyncio.run(work)
    except DatabaseUnavailableError as exc:
        logging.getLogger(__name__).debug("database unavailable", exc_info=exc)
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(file=sys.stderr)  # end the ^C line
        return 130


def _console(args: argparse.Namespace) -> int:
    from adapters.console import clock_for, run_interactive, run_script

    settings = Settings(database={"url": f"sqlite+aiosqlite:///{Path(args.db).resolve()}"})
    try:
        clock = clock_for(args.clock)
    except ValueError:
        print(f"--clock needs an instant like 2026-11-22T04:00:00Z, not {args.clock!r}",
              file=sys.stderr)
        return 2
    # Member names and notes are printed as given; a terminal that cannot show a character
    # gets an escape, not a traceback.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    if args.script:
        try:
            # Bytes: each line is decoded on its own, so one bad line is reported by number.
            lines = Path(args.script).read_bytes().splitlines()
        except OSError as exc:
            print(f"cannot read script {args.script}: {exc.strerror}", file=sys.stderr)
            return 2
        if args.clock is None:
            from datetime import UTC, datetime

            from bot.clock import FakeClock

            clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
        return _until_done(run_script(settings, lines, clock=clock, show_time=args.show_time,
                                      out=sys.stdout, err=sys.stderr))
    if hasattr(sys.stdin, "reconfigure"):  # a bad byte becomes a one-line error, not a crash
        sys.stdin.reconfigure(errors="surrogateescape")
    return _until_done(run_interactive(settings, args.db, sys.stdin, sys.stdout, clock))


def _check_config(settings: Settings, path: Path) -> int:
    problems: list[str] = []
    if settings.matrix.enabled:
        if not settings.matrix.access_token:
            problems.append("matrix.access_token: empty; set PEERCIRCLE_MATRIX__ACCESS_TOKEN")
        if not settings.matrix.user_id.startswith("@") or ":" not in settings.matrix.user_id:
            problems.append("matrix.user_id: should look like @peercircle:example.org")
        if not settings.matrix.homeserver.startswith(("http://", "https://")):
            problems.append("matrix.homeserver: should start with https://")
    if settings.discord.enabled and not settings.discord.token:
        problems.append("discord.token: empty; set PEERCIRCLE_DISCORD__TOKEN")
    for problem in problems:
        print(f"config: {problem}", file=sys.stderr)
    if problems:
        return 2
    where = path if path.exists() else "defaults and environment (no file)"
    print(f"config OK ({where})")
    return 0


async def _migrate(settings: Settings) -> int:
    from storage.db import Database
    from storage.migrate import SchemaTooNewError, migrate

    db = Database(settings.database.url,
                  sqlite_synchronous=settings.database.sqlite_synchronous)
    try:
        revision = await migrate(db)
    except SchemaTooNewError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        await db.dispose()
    print(f"database is at revision {revision}")
    return 0


async def _status(settings: Settings) -> int:
    """Who leads (PostgreSQL), since when, the last heartbeat, and the processes waiting."""
    from storage.db import Database, is_sqlite
    from storage.leadership import read_status
    from storage.migrate import migrate

    if is_sqlite(settings.database.url):
        print("database: SQLite; one `peercircle run` at a time, no standby "
              "(use PostgreSQL for an active bot and a hot standby)")
        return 0
    db = Database(settings.database.url)
    try:
        await migrate(db)
        async with db.transaction() as s:
            st = await read_status(s)
    finally:
        await db.dispose()
    leaders = [h for role, h in st.processes if role == "leader"]
    standbys = [h for role, h in st.processes if role == "standby"]
    if st.epoch == 0:
        print("leader: none yet (no `peercircle run` has led on this database)")
    else:
        beat = (f"{st.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"{(st.db_now - st.heartbeat_at).total_seconds():.1f} s ago"
                if st.heartbeat_at else "never")
        state = "leading" if leaders else "not connected: a standby takes over"
        print(f"leader: {st.holder} ({state}), epoch {st.epoch}, "
              f"since {st.since:%Y-%m-%d %H:%M:%S} UTC; last heartbeat {beat}")
    print(f"standby: {', '.join(standbys) if standbys else 'none'}")
    return 0


async def _run(settings: Settings) -> int:
    from adapters.run import run_bot

    return await run_bot(settings)


if __name__ == "__main__":
    sys.exit(main())
