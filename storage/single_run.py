"""One `peercircle run` per SQLite database and per Matrix store: SQLite is the one-process
set-up, so a second process on the same files refuses to start instead of answering every
command twice and corrupting the end-to-end keys. The lock is the kernel's (flock), so a
crashed process never leaves it behind."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url


class AlreadyRunningError(RuntimeError):
    """The message is the one sentence for the host."""


def sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    return Path(database).resolve() if database and database != ":memory:" else None


def hold(path: Path, what: str, *, folder: bool = False) -> IO[str]:
    """Hold the lock beside `path` (inside it, for a folder) for the life of the process:
    keep the returned file open."""
    lock = path / ".run-lock" if folder else path.parent / f".{path.name}.run-lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    handle = lock.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunningError(
            f"another `peercircle run` is already using {what} {path}: on SQLite only one may "
            "run, or every command is answered twice; stop the other one, or use PostgreSQL "
            "to run an active bot with a hot standby (README, \"Active and standby\")"
        ) from None
    return handle


def hold_for_run(database_url: str, matrix_store: str | None) -> list[IO[str]]:
    """The locks of one SQLite `peercircle run`: its database file and its Matrix store."""
    held: list[IO[str]] = []
    try:
        db_file = sqlite_file(database_url)
        if db_file is not None:
            held.append(hold(db_file, "the database"))
        if matrix_store is not None:
            held.append(hold(Path(matrix_store).resolve(), "the Matrix store", folder=True))
    except AlreadyRunningError:
        for handle in held:
            handle.close()
        raise
    return held
