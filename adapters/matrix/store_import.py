"""`peercircle matrix store import`: move the end-to-end file store (matrix.store_path) into
the database once, when the bot moves to PostgreSQL for an active bot and a standby."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import Settings


def add_store_parser(matrix_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sp = matrix_sub.add_parser("store", help="the end-to-end key store")
    store_sub = sp.add_subparsers(dest="store_cmd", required=True)
    ip = store_sub.add_parser("import", help="copy the file store into the database (once, "
                                             "with the bot stopped; PostgreSQL only)")
    ip.add_argument("--config", help="config file (database, user_id, device_id, store)")


def run_store_import(_args: argparse.Namespace, settings: Settings) -> int:
    from storage.db import DatabaseUnavailableError

    try:
        message = asyncio.run(_import(settings))
    except (ImportFailed, DatabaseUnavailableError) as exc:
        print(f"matrix store import: {exc}", file=sys.stderr)
        return 2
    print(f"matrix store import: {message}")
    return 0


class ImportFailed(Exception):
    pass


async def _import(settings: Settings) -> str:
    from sqlalchemy import text

    from adapters.matrix.client import _store_file
    from storage.db import Database, is_sqlite
    from storage.leadership import APP_LEADER
    from storage.migrate import migrate

    cfg = settings.matrix
    if is_sqlite(settings.database.url):
        raise ImportFailed("the database is SQLite, where the file store stays in use; "
                           "set database.url to PostgreSQL first")
    if not cfg.pickle_key:
        raise ImportFailed("matrix.pickle_key is empty; set PEERCIRCLE_MATRIX__PICKLE_KEY to "
                           "the key the file store was created with")
    source = _store_file(cfg)
    if not source.exists():
        raise ImportFailed(f"there is no file store for device {cfg.device_id} at {source}")
    db = Database(settings.database.url)
    try:
        await migrate(db)
        async with db.transaction() as s:
            running = (await s.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name LIKE :a"),
                {"a": f"{APP_LEADER} %"})).scalar_one()
    finally:
        await db.dispose()
    if running:
        raise ImportFailed("a `peercircle run` is leading on this database; stop every "
                           "`peercircle run` first, so that no keys change during the copy")
    return await asyncio.to_thread(_copy, settings)


def _copy(settings: Settings) -> str:
    from nio.store import DefaultStore

    from adapters.matrix.client import _store_file
    from adapters.matrix.db_store import StoreConnection, store_class

    cfg = settings.matrix
    conn = StoreConnection(settings.database.url, None)
    try:
        target = store_class(conn)(cfg.user_id, cfg.device_id, cfg.store_path, cfg.pickle_key)
        if target.has_account():
            raise ImportFailed(f"the database already holds the end-to-end keys of device "
                               f"{cfg.device_id}; nothing was changed")
        try:
            source = DefaultStore(cfg.user_id, cfg.device_id, cfg.store_path, cfg.pickle_key)
            account = source.load_account()
        except Exception as exc:
            raise ImportFailed(f"cannot read {_store_file(cfg)} ({type(exc).__name__}); is "
                               "matrix.pickle_key the one it was created with?") from None
        if account is None:
            raise ImportFailed(f"{_store_file(cfg)} holds no account for device "
                               f"{cfg.device_id}")
        sessions = source.load_sessions()
        olm = 0
        for sender_key, listed in sessions.items():
            for session in listed:
                target.save_session(sender_key, session)
                olm += 1
        groups = list(source.load_inbound_group_sessions())
        for group in groups:
            target.save_inbound_group_session(group)
        devices = list(source.load_device_keys())
        target._save_devices(devices)
        requests = source.load_outgoing_key_requests()
        for request in requests.values():
            target.add_outgoing_key_request(request)
        rooms = source.load_encrypted_rooms()
        target.save_encrypted_rooms(rooms)
        target.save_account(account)  # last: its row marks the import as done
    finally:
        conn.close()
    return (f"copied the keys of device {cfg.device_id} into the database: {olm} Olm "
            f"session(s), {len(groups)} room key(s), {len(devices)} device(s), "
            f"{len(rooms)} encrypted room(s). The bot now uses the database; keep "
            f"{_store_file(cfg)} as a backup, unused")
