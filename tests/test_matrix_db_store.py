"""The Matrix end-to-end store in PostgreSQL (adapters/matrix/db_store.py) and
`peercircle matrix store import`: every kind of key nio keeps survives the move from the file
store and a reload, an old leader's store writes are refused by the epoch fence, and a bot on
PostgreSQL with only a file store refuses to start with a new identity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from nio.crypto import InboundGroupSession, OlmAccount, OlmDevice, Session, TrustState
from nio.crypto.sessions import OutboundGroupSession
from nio.store import DefaultStore
from sqlalchemy import text

from adapters.matrix.client import MatrixStartError, build_client
from adapters.matrix.db_store import StoreConnection, store_class
from adapters.matrix.store_import import ImportFailed, _import
from bot.config import Settings
from storage.db import Database
from storage.leadership import FencedError
from tests.conftest import POSTGRES_URL

USER, DEVICE, KEY = "@bot:example.org", "BOTDEV", "a pickle key"
ROOM = "!circle:example.org"


def settings_for(url: str, store: Path) -> Settings:
    return Settings(database={"url": url}, matrix={
        "enabled": True, "homeserver": "http://127.0.0.1:9", "user_id": USER,
        "device_id": DEVICE, "access_token": "token", "store_path": str(store),
        "pickle_key": KEY})


@pytest.fixture
def file_store(tmp_path: Path) -> Iterator[tuple[Path, dict[str, object]]]:
    """A file store as a bot that has been running leaves it: its account, an Olm session
    with a member's device, a room key, the member's device (ignored), a key request, a room."""
    path = tmp_path / "store"
    path.mkdir()
    store = DefaultStore(USER, DEVICE, str(path), KEY)
    account = OlmAccount()
    account.shared = True
    store.save_account(account)
    member = OlmAccount()
    member.generate_one_time_keys(1)
    otk = next(iter(member.one_time_keys["curve25519"].values()))
    session = Session(account.create_outbound_session(member.identity_keys["curve25519"], otk))
    store.save_session(member.identity_keys["curve25519"], session)
    outbound = OutboundGroupSession()
    group = InboundGroupSession(outbound.session_key, member.identity_keys["ed25519"],
                                member.identity_keys["curve25519"], ROOM, ["fwdkey"])
    store.save_inbound_group_session(group)
    device = OlmDevice("@ana:example.org", "ANADEV",
                       {"ed25519": member.identity_keys["ed25519"],
                        "curve25519": member.identity_keys["curve25519"]},
                       display_name="Ana's phone")
    store.save_device_keys({"@ana:example.org": {"ANADEV": device}})
    store.ignore_device(device)
    store.save_encrypted_rooms({ROOM})
    yield path, {"identity": account.identity_keys, "session": session.id,
                 "group": group.id, "sender": member.identity_keys["curve25519"]}


async def test_import_moves_every_key_and_the_bot_loads_them_from_the_database(
        pg_url: str, file_store: tuple[Path, dict[str, object]]) -> None:
    path, made = file_store
    settings = settings_for(pg_url, path)
    message = await _import(settings)
    assert "1 Olm session(s), 1 room key(s), 1 device(s), 1 encrypted room(s)" in message
    with pytest.raises(ImportFailed, match="already holds the end-to-end keys"):
        await _import(settings)

    conn = StoreConnection(pg_url, None)
    try:
        client, is_new = build_client(settings.matrix, conn)
        try:
            assert not is_new
            assert client.olm is not None
            assert client.olm.account.identity_keys == made["identity"]
            assert client.olm.account.shared
            olm = client.olm.session_store.get(str(made["sender"]))
            assert olm is not None and olm.id == made["session"]
            group = client.olm.inbound_group_store.get(ROOM, str(made["sender"]),
                                                       str(made["group"]))
            assert group is not None and group.forwarding_chain == ["fwdkey"]
            ana = client.olm.device_store["@ana:example.org"]["ANADEV"]
            assert ana.display_name == "Ana's phone"
            assert ana.trust_state == TrustState.ignored
            assert client.encrypted_rooms == {ROOM}
        finally:
            await client.close()
    finally:
        conn.close()


async def test_on_postgres_a_file_store_not_imported_yet_stops_the_start(
        pg_url: str, file_store: tuple[Path, dict[str, object]]) -> None:
    path, _made = file_store
    conn = StoreConnection(pg_url, None)
    try:
        with pytest.raises(MatrixStartError, match="peercircle matrix store import"):
            build_client(settings_for(pg_url, path).matrix, conn)
    finally:
        conn.close()


async def test_a_new_device_on_postgres_keeps_its_keys_in_the_database(
        pg_url: str, tmp_path: Path) -> None:
    settings = settings_for(pg_url, tmp_path / "store")
    conn = StoreConnection(pg_url, None)
    try:
        client, is_new = build_client(settings.matrix, conn)
        assert is_new and client.olm is not None
        keys = client.olm.account.identity_keys
        await client.close()
        again, is_new = build_client(settings.matrix, conn)
        assert not is_new and again.olm is not None
        assert again.olm.account.identity_keys == keys
        await again.close()
    finally:
        conn.close()
    assert not list((tmp_path / "store").glob("*.db"))  # nothing in the file store


async def test_an_old_leaders_store_writes_are_refused_by_the_epoch_fence(
        pg_url: str, tmp_path: Path) -> None:
    db = Database(pg_url)
    try:
        async with db.transaction() as s:
            await s.execute(text("UPDATE leader SET epoch = 7"))
    finally:
        await db.dispose()
    settings = settings_for(pg_url, tmp_path / "store")
    old = StoreConnection(pg_url, 6)
    try:
        with pytest.raises(FencedError):
            build_client(settings.matrix, old)  # a new account is saved at once: refused
    finally:
        old.close()
    current = StoreConnection(pg_url, 7)
    try:
        store = store_class(current)(USER, DEVICE, "", KEY)
        assert not store.has_account()  # the refused write left nothing
        client, _ = build_client(settings.matrix, current)
        await client.close()
        assert store.has_account()
    finally:
        current.close()


async def test_import_refuses_sqlite_and_a_missing_store(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="SQLite"):
        await _import(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path))
    if POSTGRES_URL:
        with pytest.raises(ImportFailed, match="no file store"):
            await _import(settings_for(POSTGRES_URL, tmp_path / "nothing"))


def test_the_import_command_says_in_one_line_why_it_cannot_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from adapters.cli import main

    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"database": {"url": f"sqlite+aiosqlite:///{tmp_path}/x.db"},
                                  "matrix": {"user_id": USER, "device_id": DEVICE}}))
    assert main(["matrix", "store", "import", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "SQLite" in err
