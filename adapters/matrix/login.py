"""`peercircle matrix login`: exchange the bot account's password once for an access token on a
fixed device id. The bot itself never logs in with a password (no new device each start)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from adapters.matrix.client import MatrixStartError, build_client, password_login, upload_keys
from adapters.matrix.cross_signing import (
    CrossSigningError,
    CrossSigningResult,
    ensure_cross_signed,
)
from bot.config import Settings

PASSWORD_ENV = "PEERCIRCLE_MATRIX_PASSWORD"


def add_login_parser(matrix_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    lp = matrix_sub.add_parser("login", help="exchange the bot account's password once for an "
                                             "access token and device id")
    lp.add_argument("--config", help="config file (homeserver, user_id, device_id)")
    lp.add_argument("--homeserver", help="overrides matrix.homeserver")
    lp.add_argument("--user-id", help="overrides matrix.user_id")
    lp.add_argument("--device-id", help="overrides matrix.device_id")
    lp.add_argument("--write", metavar="FILE",
                    help="also write the PEERCIRCLE_MATRIX__* lines to FILE (mode 600)")


def run_login(args: argparse.Namespace, settings: Settings) -> int:
    m = settings.matrix
    homeserver = args.homeserver or m.homeserver
    user_id = args.user_id or m.user_id
    device_id = args.device_id or m.device_id
    password = _password(user_id)
    if password is None:
        return 2
    try:
        resp = asyncio.run(password_login(homeserver, user_id, password, device_id))
    except MatrixStartError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"matrix login: cannot reach {homeserver}: {exc}", file=sys.stderr)
        return 2
    lines = [f"PEERCIRCLE_MATRIX__ACCESS_TOKEN={resp.access_token}",
             f"PEERCIRCLE_MATRIX__DEVICE_ID={resp.device_id}"]
    if args.write:
        path = Path(args.write)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        with path.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        print(f"wrote the access token and device id to {path}", file=sys.stderr)
    print("\n".join(lines))
    if not m.pickle_key:
        print("also set PEERCIRCLE_MATRIX__PICKLE_KEY to a long random secret (it encrypts "
              "the end-to-end keys in matrix.store_path)", file=sys.stderr)
    return 0


def add_cross_sign_parser(matrix_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cp = matrix_sub.add_parser("cross-sign", help="create the bot account's cross-signing keys "
                                                  "and sign its device (once, with the password)")
    cp.add_argument("--config", help="config file (homeserver, user_id, device_id, token, store)")


def run_cross_sign(args: argparse.Namespace, settings: Settings) -> int:
    password = _password(settings.matrix.user_id)
    if password is None:
        return 2
    try:
        result = asyncio.run(_cross_sign(settings, password))
    except (MatrixStartError, CrossSigningError) as exc:
        print(f"matrix cross-sign: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"matrix cross-sign: cannot reach {settings.matrix.homeserver}: {exc}",
              file=sys.stderr)
        return 2
    print(f"matrix cross-sign: {result.status.value}: {result.detail}")
    return 0 if result.ok else 2


async def _cross_sign(settings: Settings, password: str) -> CrossSigningResult:
    from adapters.matrix.db_store import StoreConnection
    from storage.db import is_sqlite

    e2e = None if is_sqlite(settings.database.url) else StoreConnection(settings.database.url,
                                                                         None)
    try:
        client, _new = build_client(settings.matrix, e2e)
        try:
            await upload_keys(client)
            return await ensure_cross_signed(client, password,
                                             key_store_path=Path(settings.matrix.store_path))
        finally:
            await client.close()
    finally:
        if e2e is not None:
            e2e.close()


def _password(user_id: str) -> str | None:
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            print(f"set {PASSWORD_ENV} or run this in a terminal to type the password",
                  file=sys.stderr)
            return None
        password = getpass.getpass(f"password for {user_id}: ")
    return password
