"""Building the nio client from the config, and the start-up checks: the encryption store
belongs to the configured device, the token is still good (whoami), the published keys are
the store's. Every failure here is one sentence that says what to do."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    KeysUploadError,
    LoginResponse,
    WhoamiResponse,
)
from nio.api import Api

from adapters.matrix.db_store import StoreConnection, store_class
from bot.config import MatrixSettings

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000


class MatrixStartError(Exception):
    """The adapter cannot start; the message says why and what to do."""


class TokenRevokedError(MatrixStartError):
    pass


def revoked_message(settings: MatrixSettings) -> str:
    return (f"matrix: the homeserver refused the access token of {settings.user_id} "
            "(M_UNKNOWN_TOKEN): it was revoked or logged out. Run `peercircle matrix login` "
            "for a new token and set PEERCIRCLE_MATRIX__ACCESS_TOKEN; the bot has stopped.")


def _store_file(settings: MatrixSettings) -> Path:
    return Path(settings.store_path) / f"{settings.user_id}_{settings.device_id}.db"


def build_client(settings: MatrixSettings,
                 db_store: StoreConnection | None = None) -> tuple[AsyncClient, bool]:
    """The client with its encryption store loaded; returns (client, store_is_new). With
    `db_store` (PostgreSQL) the store is in the database (db_store.py), else in store_path."""
    if not settings.access_token:
        raise MatrixStartError("matrix.access_token is empty; run `peercircle matrix login` and "
                               "set PEERCIRCLE_MATRIX__ACCESS_TOKEN")
    if not settings.pickle_key:
        raise MatrixStartError("matrix.pickle_key is empty; it encrypts the end-to-end keys on "
                               "disk. Set PEERCIRCLE_MATRIX__PICKLE_KEY to a long random secret "
                               "and keep it with your backups")
    store = Path(settings.store_path)
    store.mkdir(parents=True, exist_ok=True)
    mine = _store_file(settings)
    others = sorted(p.name for p in store.glob(f"{settings.user_id}_*.db") if p != mine)
    if others and not mine.exists():
        # A store of another device: starting a fresh identity here would strand every
        # encrypted room the old device was in. Say so instead of guessing.
        raise MatrixStartError(
            f"matrix.store_path {store} holds the keys of another device ({', '.join(others)}) "
            f"but matrix.device_id is {settings.device_id}; set device_id to the device of that "
            "store, or point store_path at this device's store")
    is_new = not mine.exists()
    store_kw: dict[str, Any] = {}
    if db_store is not None:
        probe = store_class(db_store)(settings.user_id, settings.device_id)
        is_new = not probe.has_account()
        if is_new and mine.exists():
            # Starting a fresh identity would strand every encrypted room of the file store.
            raise MatrixStartError(
                f"matrix: the end-to-end keys of {settings.device_id} are in the file store "
                f"{mine}, not yet in the database; stop the bot and run `peercircle matrix "
                "store import` once, then start it again")
        store_kw["store"] = store_class(db_store)
    config = AsyncClientConfig(
        encryption_enabled=True,
        store_sync_tokens=False,  # the token lives in the database, written after handling
        pickle_key=settings.pickle_key,
        max_limit_exceeded=0,  # the paced sender honours rate limits itself
        max_timeouts=0,  # ... and retries; nio must not retry behind its back
        request_timeout=30,
        **store_kw,
    )
    client = AsyncClient(settings.homeserver.rstrip("/"), settings.user_id,
                         device_id=settings.device_id, store_path=str(store), config=config)
    try:
        client.restore_login(settings.user_id, settings.device_id, settings.access_token)
    except Exception as exc:
        raise MatrixStartError(
            f"matrix: cannot open the encryption store "
            f"{'in the database' if db_store else mine} ({type(exc).__name__}); "
            "is matrix.pickle_key the one it was created with?") from None
    return client, is_new


async def whoami_until_up(client: AsyncClient, settings: MatrixSettings, stop: asyncio.Event,
                          *, base: float = 2.0, cap: float = 300.0) -> None:
    """whoami at start, waiting out an unreachable homeserver; a refused token or a token of
    another account or device stops the start with a clear message."""
    attempt = 0
    while not stop.is_set():
        try:
            resp = await client.whoami()
        except Exception as exc:  # unreachable, refused, reset: wait and retry
            resp = exc
        if isinstance(resp, WhoamiResponse):
            if resp.user_id != settings.user_id:
                raise MatrixStartError(f"matrix: the access token belongs to {resp.user_id}, "
                                       f"not matrix.user_id {settings.user_id}")
            if resp.device_id and resp.device_id != settings.device_id:
                raise MatrixStartError(f"matrix: the access token is for device "
                                       f"{resp.device_id}, not matrix.device_id "
                                       f"{settings.device_id}")
            return
        if isinstance(resp, ErrorResponse) and resp.status_code == "M_UNKNOWN_TOKEN":
            raise TokenRevokedError(revoked_message(settings))
        attempt += 1
        delay = jittered(attempt, base, cap)
        log.warning("matrix: homeserver not reachable at start (%s); retrying in %.0fs",
                    getattr(resp, "status_code", None) or type(resp).__name__, delay)
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except TimeoutError:
            pass


def jittered(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: base, 2*base, ... up to cap, each scaled 0.5-1.0."""
    raw = min(base * 2 ** max(attempt - 1, 0), cap)
    return raw * (0.5 + random.random() / 2)


async def published_device_keys(client: AsyncClient) -> dict[str, Any] | None:
    """This device's keys as the homeserver has them (None when none are published)."""
    assert client.user_id and client.device_id
    # nio's Api puts the token in the query string; an Authorization header beside it makes
    # Synapse refuse the request (M_MISSING_TOKEN), so none is added here.
    method, path, data = Api.keys_query(client.access_token, {client.user_id})
    resp = await client.send(method, path, data, {"Content-Type": "application/json"})
    try:
        body = json.loads(await resp.text())
    except ValueError:
        body = {}
    if resp.status != 200 or not isinstance(body, dict):
        # Never read an error as "no keys yet": that would skip the check it guards.
        errcode = body.get("errcode") if isinstance(body, dict) else None
        raise MatrixStartError(
            f"matrix: could not read the published keys of device {client.device_id} "
            f"(HTTP {resp.status}{', ' + errcode if errcode else ''}); the start-up check "
            "that the encryption store belongs to this device cannot run. Try again; if it "
            "persists, check the homeserver")
    return body.get("device_keys", {}).get(client.user_id, {}).get(client.device_id)


async def check_store_matches_server(client: AsyncClient, settings: MatrixSettings) -> None:
    """The store's identity keys must be the ones published for this device, or members'
    clients would reject (or fail to decrypt for) the bot's messages."""
    assert client.olm is not None
    published = await published_device_keys(client)
    if not published:
        return  # a fresh device: keys_upload publishes the store's keys
    ours = client.olm.account.identity_keys["ed25519"]
    theirs = published.get("keys", {}).get(f"ed25519:{settings.device_id}")
    if theirs != ours:
        raise MatrixStartError(
            f"matrix: device {settings.device_id} already has end-to-end keys on the homeserver "
            f"that are not the ones in {settings.store_path} (was the store lost or replaced?). "
            "Restore the store from the backup, or run `peercircle matrix login` with a new "
            "device_id")


async def upload_keys(client: AsyncClient) -> None:
    if client.should_upload_keys:
        resp = await client.keys_upload()
        if isinstance(resp, KeysUploadError):
            log.warning("matrix: key upload failed: %s", resp.status_code)


async def password_login(homeserver: str, user_id: str, password: str,
                         device_id: str) -> LoginResponse:
    """Exchange the password once for an access token on the fixed device id."""
    client = AsyncClient(homeserver.rstrip("/"), user_id, device_id=device_id,
                         config=AsyncClientConfig(encryption_enabled=False))
    try:
        resp = await client.login(password=password, device_name="peercircle")
    finally:
        await client.close()
    if not isinstance(resp, LoginResponse):
        raise MatrixStartError(f"matrix login failed: {getattr(resp, 'message', resp)}")
    return resp
