"""The Matrix end-to-end store in PostgreSQL: matrix-nio's store interface (`MatrixStore`),
backed by the project's own tables (storage/models.py, matrix_e2e_*), so that an active bot
and its standby share one store and a takeover keeps every key.

nio calls its store synchronously and expects a save to be done when it returns (an Olm
session must be stored before the message that used it goes out). So every call is
write-through: it runs on one asyncpg connection owned by a small thread with its own event
loop, and the caller waits for it, as nio's own SQLite store blocks on its file. Each write
checks the leader epoch in the same transaction: a leader that woke from a freeze cannot
overwrite the keys its successor uses."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVar

from nio.crypto import (
    DeviceStore,
    GroupSessionStore,
    InboundGroupSession,
    OlmAccount,
    OlmDevice,
    OutgoingKeyRequest,
    Session,
    SessionStore,
    TrustState,
)

from storage.leadership import FencedError, asyncpg_dsn

log = logging.getLogger(__name__)

T = TypeVar("T")
CALL_TIMEOUT = 30.0


def owner_of(user_id: str, device_id: str) -> str:
    return f"{user_id}|{device_id}"


class StoreConnection:
    """One asyncpg connection on a thread of its own; `call` runs a coroutine there and waits.
    `epoch`: the leader epoch every write must still see (None: no fence, e.g. the import)."""

    def __init__(self, url: str, epoch: int | None) -> None:
        self.dsn = asyncpg_dsn(url)
        self.epoch = epoch
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="e2e-store",
                                        daemon=True)
        self._thread.start()
        self._conn: Any = None

    def call(self, work: Callable[[Any], Awaitable[T]]) -> T:
        async def run() -> T:
            if self._conn is None or self._conn.is_closed():
                import asyncpg

                self._conn = await asyncpg.connect(self.dsn, timeout=10, server_settings={
                    "application_name": "peercircle e2e store"})
            return await work(self._conn)

        future: Future[T] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return future.result(CALL_TIMEOUT)

    def write(self, work: Callable[[Any], Awaitable[None]]) -> None:
        """A write in one transaction, refused once another leader raised the epoch."""
        epoch = self.epoch

        async def run(conn: Any) -> None:
            async with conn.transaction():
                if epoch is not None:
                    stored = await conn.fetchval(
                        "SELECT epoch FROM leader WHERE id = 1 FOR KEY SHARE")
                    if stored != epoch:
                        log.error("epoch fence: an end-to-end store write of epoch %s was "
                                  "refused (the stored epoch is %s)", epoch, stored)
                        raise FencedError("epoch fence: another process leads now")
                await work(conn)

        self.call(run)

    def close(self) -> None:
        async def shut() -> None:
            if self._conn is not None and not self._conn.is_closed():
                await self._conn.close()

        try:
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(5)
        except Exception as exc:  # closing after a failure: nothing more to keep
            log.debug("e2e store close: %s", type(exc).__name__)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


def store_class(connection: StoreConnection) -> type:
    """The class nio instantiates (AsyncClientConfig.store), bound to `connection`."""

    class BoundStore(DatabaseStore):
        conn = connection

    return BoundStore


class DatabaseStore:
    """nio's MatrixStore interface on the matrix_e2e_* tables. Device trust (verified,
    blacklisted, ignored) is a column of the device row, as in nio's SqliteStore."""

    conn: StoreConnection

    def __init__(self, user_id: str, device_id: str, store_path: str = "",
                 pickle_key: str = "", database_name: str = "") -> None:
        self.user_id = user_id
        self.device_id = device_id
        self.store_path = store_path
        self.pickle_key = pickle_key
        self.owner = owner_of(user_id, device_id)

    # -- reads --------------------------------------------------------------------------------
    def _fetch(self, sql: str, *args: Any) -> list[Any]:
        async def run(conn: Any) -> list[Any]:
            return list(await conn.fetch(sql, self.owner, *args))
        return self.conn.call(run)

    def has_account(self) -> bool:
        return bool(self._fetch("SELECT 1 FROM matrix_e2e_accounts WHERE owner = $1"))

    def load_account(self) -> OlmAccount | None:
        rows = self._fetch("SELECT pickle, shared FROM matrix_e2e_accounts WHERE owner = $1")
        if not rows:
            return None
        account = OlmAccount.from_pickle(rows[0]["pickle"].encode(), self.pickle_key,
                                         rows[0]["shared"])
        if account.upgrade_pickle:
            account.upgrade_pickle = False
            self.save_account(account)
        return account

    def load_sessions(self) -> SessionStore:
        store = SessionStore()
        for row in self._fetch("SELECT sender_key, pickle, creation_time, last_usage "
                               "FROM matrix_e2e_olm_sessions WHERE owner = $1"):
            session = Session.from_pickle(row["pickle"].encode(),
                                          datetime.fromisoformat(row["creation_time"]),
                                          self.pickle_key,
                                          datetime.fromisoformat(row["last_usage"]))
            store.add(row["sender_key"], session)
        return store

    def load_inbound_group_sessions(self) -> GroupSessionStore:
        store = GroupSessionStore()
        for row in self._fetch("SELECT pickle, fp_key, sender_key, room_id, forwarded_chains "
                               "FROM matrix_e2e_group_sessions WHERE owner = $1"):
            store.add(InboundGroupSession.from_pickle(
                row["pickle"].encode(), row["fp_key"], row["sender_key"], row["room_id"],
                self.pickle_key, list(json.loads(row["forwarded_chains"]))))
        return store

    def load_device_keys(self) -> DeviceStore:
        store = DeviceStore()
        for row in self._fetch("SELECT user_id, device_id, display_name, deleted, keys, trust "
                               "FROM matrix_e2e_devices WHERE owner = $1"):
            device = OlmDevice(row["user_id"], row["device_id"], json.loads(row["keys"]),
                               display_name=row["display_name"], deleted=row["deleted"])
            device.trust_state = TrustState(row["trust"])
            store.add(device)
        return store

    def load_encrypted_rooms(self) -> set[str]:
        return {r["room_id"] for r in
                self._fetch("SELECT room_id FROM matrix_e2e_rooms WHERE owner = $1")}

    def load_outgoing_key_requests(self) -> dict[str, OutgoingKeyRequest]:
        rows = self._fetch("SELECT request_id, session_id, room_id, algorithm "
                           "FROM matrix_e2e_key_requests WHERE owner = $1")
        return {r["request_id"]: OutgoingKeyRequest.from_database(SimpleNamespace(**dict(r)))
                for r in rows}

    def load_sync_token(self) -> str | None:
        return None  # the bot keeps its sync token beside its handled events (sync_state.py)

    # -- writes -------------------------------------------------------------------------------
    def _write(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        batch = [(self.owner, *row) for row in rows]
        if not batch:
            return

        async def run(conn: Any) -> None:
            await conn.executemany(sql, batch)
        self.conn.write(run)

    def save_account(self, account: OlmAccount) -> None:
        self._write("INSERT INTO matrix_e2e_accounts (owner, pickle, shared) VALUES ($1, $2, $3) "
                    "ON CONFLICT (owner) DO UPDATE SET pickle = EXCLUDED.pickle, "
                    "shared = EXCLUDED.shared",
                    [(account.pickle(self.pickle_key).decode(), bool(account.shared))])

    def save_session(self, curve_key: str, session: Session) -> None:
        self._write("INSERT INTO matrix_e2e_olm_sessions (owner, session_id, sender_key, pickle, "
                    "creation_time, last_usage) VALUES ($1, $2, $3, $4, $5, $6) "
                    "ON CONFLICT (owner, session_id) DO UPDATE SET pickle = EXCLUDED.pickle, "
                    "last_usage = EXCLUDED.last_usage",
                    [(session.id, curve_key, session.pickle(self.pickle_key).decode(),
                      session.creation_time.isoformat(), session.use_time.isoformat())])

    def save_inbound_group_session(self, session: InboundGroupSession) -> None:
        self._write("INSERT INTO matrix_e2e_group_sessions (owner, session_id, sender_key, "
                    "fp_key, room_id, pickle, forwarded_chains) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) "
                    "ON CONFLICT (owner, session_id) DO UPDATE SET pickle = EXCLUDED.pickle, "
                    "forwarded_chains = EXCLUDED.forwarded_chains",
                    [(session.id, session.sender_key, session.ed25519, session.room_id,
                      session.pickle(self.pickle_key).decode(),
                      json.dumps(list(session.forwarding_chain or [])))])

    def save_device_keys(self, device_keys: dict[str, dict[str, OlmDevice]]) -> None:
        self._save_devices(d for devices in device_keys.values() for d in devices.values())

    def _save_devices(self, devices: Iterable[OlmDevice]) -> None:
        self._write("INSERT INTO matrix_e2e_devices (owner, user_id, device_id, display_name, "
                    "deleted, keys, trust) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                    "ON CONFLICT (owner, user_id, device_id) DO UPDATE SET "
                    "display_name = EXCLUDED.display_name, deleted = EXCLUDED.deleted, "
                    "keys = EXCLUDED.keys, trust = EXCLUDED.trust",
                    [(d.user_id, d.id, d.display_name or "", bool(d.deleted),
                      json.dumps(d.keys), d.trust_state.value) for d in devices])

    def save_encrypted_rooms(self, rooms: Iterable[str]) -> None:
        self._write("INSERT INTO matrix_e2e_rooms (owner, room_id) VALUES ($1, $2) "
                    "ON CONFLICT DO NOTHING", [(room,) for room in rooms])

    def delete_encrypted_room(self, room: str) -> None:
        self._write("DELETE FROM matrix_e2e_rooms WHERE owner = $1 AND room_id = $2", [(room,)])

    def add_outgoing_key_request(self, key_request: OutgoingKeyRequest) -> None:
        self._write("INSERT INTO matrix_e2e_key_requests (owner, request_id, session_id, "
                    "room_id, algorithm) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    [(key_request.request_id, key_request.session_id, key_request.room_id,
                      key_request.algorithm)])

    def remove_outgoing_key_request(self, key_request: OutgoingKeyRequest) -> None:
        self._write("DELETE FROM matrix_e2e_key_requests WHERE owner = $1 AND request_id = $2",
                    [(key_request.request_id,)])

    def save_sync_token(self, token: str) -> None:
        """Never used: AsyncClientConfig.store_sync_tokens is off (sync_state.py holds it)."""

    # -- device trust -------------------------------------------------------------------------
    def _set_trust(self, device: OlmDevice, state: TrustState, *,
                   only_from: TrustState | None = None) -> bool:
        if only_from is not None and device.trust_state != only_from:
            return False
        if device.trust_state == state:
            return False
        device.trust_state = state
        self._save_devices([device])
        return True

    def verify_device(self, device: OlmDevice) -> bool:
        return self._set_trust(device, TrustState.verified)

    def unverify_device(self, device: OlmDevice) -> bool:
        return self._set_trust(device, TrustState.unset, only_from=TrustState.verified)

    def blacklist_device(self, device: OlmDevice) -> bool:
        return self._set_trust(device, TrustState.blacklisted)

    def unblacklist_device(self, device: OlmDevice) -> bool:
        return self._set_trust(device, TrustState.unset, only_from=TrustState.blacklisted)

    def ignore_device(self, device: OlmDevice) -> bool:
        return self._set_trust(device, TrustState.ignored)

    def unignore_device(self, device: OlmDevice) -> bool:
        return self._set_trust(device, TrustState.unset, only_from=TrustState.ignored)

    def ignore_devices(self, devices: list[OlmDevice]) -> None:
        for device in devices:
            device.trust_state = TrustState.ignored
        self._save_devices(devices)

    def is_device_verified(self, device: OlmDevice) -> bool:
        return device.trust_state == TrustState.verified

    def is_device_blacklisted(self, device: OlmDevice) -> bool:
        return device.trust_state == TrustState.blacklisted

    def is_device_ignored(self, device: OlmDevice) -> bool:
        return device.trust_state == TrustState.ignored
