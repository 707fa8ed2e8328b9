"""Run the Alembic migrations from code (start-up and `peercircle migrate`), and refuse a
database whose schema is newer than this code."""

from __future__ import annotations

from functools import cache
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from storage.db import Database, unavailable
from storage.leadership import MIGRATE_LOCK

# Alembic's default; migrations/env.py does not change it.
VERSION_TABLE = "alembic_version"


class SchemaTooNewError(RuntimeError):
    pass


def alembic_config(url: str = "") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("migrations")))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@cache
def _script() -> ScriptDirectory:
    # Reading the versions directory imports every migration file; once per process is enough.
    return ScriptDirectory.from_config(alembic_config())


@cache
def code_head() -> str:
    head = _script().get_current_head()
    assert head is not None
    return head


def _current(connection: Connection) -> str | None:
    # A plain query, not Alembic's MigrationContext, so the usual start-up (already at head)
    # costs two small queries and never loads migrations/env.py.
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise RuntimeError(f"{VERSION_TABLE} holds several revisions ({', '.join(rows)}); "
                           "peercircle's migrations have a single head")
    return rows[0] if rows else None


def _check_known(revision: str | None) -> None:
    if revision is None:
        return
    try:
        _script().get_revision(revision)
    except Exception as exc:  # alembic raises several kinds for an unknown id
        raise SchemaTooNewError(
            f"the database schema is at revision {revision}, which this version of peercircle "
            "does not know: it was written by newer code. Upgrade peercircle before running it "
            "on this database."
        ) from exc


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


async def migrate(db: Database) -> str:
    """Upgrade to head; returns the revision. Refuses a schema newer than the code, and says in
    one sentence (DatabaseUnavailableError) why a database cannot be opened at all. At head it
    returns after a plain read of alembic_version, without loading Alembic's environment."""
    try:
        current = await current_revision(db)
    except (OSError, DBAPIError) as exc:  # the first connection: wrong file, host or driver
        raise unavailable(db.url, exc) from exc
    if current == code_head():
        return current
    _check_known(current)

    def _upgrade(connection: Connection, cfg: Config) -> None:
        # Two processes starting together (an active bot and its standby): on PostgreSQL the
        # second waits for the first's lock, then finds the schema at head and does nothing.
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATE_LOCK})
            connection.commit()
        try:
            if _current(connection) != code_head():
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
            connection.commit()
        finally:
            if postgres:
                connection.rollback()  # nothing left after the commit; after a failure, undo
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATE_LOCK})
                connection.commit()

    cfg = alembic_config(db.url)
    async with db.engine.connect() as conn:
        await conn.run_sync(_upgrade, cfg)
        await conn.commit()
    return code_head()
