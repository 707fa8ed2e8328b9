"""Run the Alembic migrations from code (start-up and `peercircle migrate`), and refuse a
database whose schema is newer than this code."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from storage.db import Database, unavailable


class SchemaTooNewError(RuntimeError):
    pass


def alembic_config(url: str = "") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("migrations")))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def code_head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _check_known(revision: str | None) -> None:
    if revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    try:
        script.get_revision(revision)
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
    one sentence (DatabaseUnavailableError) why a database cannot be opened at all."""
    try:
        revision = await current_revision(db)
    except (OSError, DBAPIError) as exc:  # the first connection: wrong file, host or driver
        raise unavailable(db.url, exc) from exc
    _check_known(revision)

    def _upgrade(connection: Connection, cfg: Config) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    cfg = alembic_config(db.url)
    async with db.engine.connect() as conn:
        await conn.run_sync(_upgrade, cfg)
        await conn.commit()
    return code_head()
