"""Cross-signing of the bot's own device: pure crypto helpers + a real Synapse."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest
import vodozemac
from nio import AsyncClient, AsyncClientConfig

from adapters.matrix.cross_signing import (
    CROSS_SIGN_HINT,
    CrossSigningError,
    CrossSigningKeys,
    CrossSigningStatus,
    b64_decode,
    b64_encode,
    canonical_json,
    ed25519_public_key,
    ensure_cross_signed,
    key_store_file,
    load_keys,
    save_keys,
    sign_json,
    signable_bytes,
    verify_json,
    verify_signature,
)
from tests.synapse_server import RegisteredUser, SynapseServer, is_available

# RFC 8032 section 7.1, TEST 1 (empty message).
RFC_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIG = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def vodozemac_verify(obj: dict[str, Any], user: str, key_id: str, public: str) -> bool:
    """Second, independent check: Rust ed25519 over json.dumps canonicalisation."""
    message = json.dumps(
        {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    signature = obj["signatures"][user][key_id]
    try:
        vodozemac.Ed25519PublicKey.from_base64(public).verify_signature(
            message, vodozemac.Ed25519Signature.from_base64(signature)
        )
    except vodozemac.SignatureException:
        return False
    return True


# ----------------------------------------------------------------------- canonical JSON


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Examples from the spec appendix "Canonical JSON".
        ({}, b"{}"),
        ({"one": 1, "two": "Two"}, b'{"one":1,"two":"Two"}'),
        ({"b": "2", "a": "1"}, b'{"a":"1","b":"2"}'),
        (
            {
                "auth": {
                    "success": True,
                    "mxid": "@john.doe:example.com",
                    "profile": {
                        "display_name": "John Doe",
                        "three_pids": [{"medium": "email", "address": "j@x.org"}],
                    },
                }
            },
            b'{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",'
            b'"three_pids":[{"address":"j@x.org","medium":"email"}]},"success":true}}',
        ),
        ({"a": "日本語"}, '{"a":"日本語"}'.encode()),
        ({"本": 2, "日": 1}, '{"日":1,"本":2}'.encode()),
        ({"a": "\u65e5"}, '{"a":"日"}'.encode()),
        ({"a": None}, b'{"a":null}'),
        ({"a": -(2**53) + 1, "b": [True, False]}, b'{"a":-9007199254740991,"b":[true,false]}'),
        ({"ctl": '\x00\n"\\'}, b'{"ctl":"\\u0000\\n\\"\\\\"}'),
    ],
)
def test_canonical_json_spec_examples(value: Any, expected: bytes) -> None:
    assert canonical_json(value) == expected


@pytest.mark.parametrize("bad", [{"f": 1.5}, {"n": 2**53}, {1: "x"}, {"s": {1, 2}}])
def test_canonical_json_rejects_non_canonical_values(bad: Any) -> None:
    with pytest.raises(ValueError):
        canonical_json(bad)


def test_canonical_json_matches_synapse_canonicaljson() -> None:
    canonicaljson = pytest.importorskip("canonicaljson")
    sample = {"z": [1, {"y": "ü", "x": None}], "a": {"c": "\u2028", "b": -5}, "é": ""}
    assert canonical_json(sample) == canonicaljson.encode_canonical_json(sample)


def test_signable_bytes_strips_only_top_level_signatures_and_unsigned() -> None:
    obj = {
        "b": 1,
        "signatures": {"x": {}},
        "unsigned": {"age": 3},
        "inner": {"signatures": "kept", "unsigned": "kept"},
    }
    assert signable_bytes(obj) == (b'{"b":1,"inner":{"signatures":"kept","unsigned":"kept"}}')


def test_base64_is_unpadded_and_tolerant() -> None:
    assert b64_encode(b"\x00") == "AA"
    assert b64_decode("AA") == b64_decode("AA==") == b"\x00"
    with pytest.raises(ValueError):
        b64_decode("!!")


# ---------------------------------------------------------------------------- ed25519


def test_rfc8032_known_answer() -> None:
    assert ed25519_public_key(RFC_SEED) == b64_encode(RFC_PUBLIC)
    assert verify_signature(b"", b64_encode(RFC_SIG), b64_encode(RFC_PUBLIC))
    assert not verify_signature(b"x", b64_encode(RFC_SIG), b64_encode(RFC_PUBLIC))
    assert not verify_signature(b"", "not base64!", b64_encode(RFC_PUBLIC))
    with pytest.raises(ValueError):
        ed25519_public_key(b"short")


def test_sign_json_verifies_independently() -> None:
    seed = bytes(range(32))
    public = ed25519_public_key(seed)
    key_id = f"ed25519:{public}"
    obj = {
        "user_id": "@bot:hs",
        "usage": ["self_signing"],
        "keys": {key_id: public},
        "unsigned": {"note": "not signed"},
        "signatures": {"@other:hs": {"ed25519:D": "s"}},
    }
    signed = sign_json(obj, "@bot:hs", key_id, seed)

    assert obj["signatures"] == {"@other:hs": {"ed25519:D": "s"}}  # input untouched
    assert signed["signatures"]["@other:hs"] == {"ed25519:D": "s"}  # others kept
    assert verify_json(signed, "@bot:hs", key_id, public)
    assert vodozemac_verify(signed, "@bot:hs", key_id, public)

    # unsigned is outside the signature; any signed field is not.
    assert verify_json({**signed, "unsigned": {"changed": 1}}, "@bot:hs", key_id, public)
    tampered = {**signed, "usage": ["master"]}
    assert not verify_json(tampered, "@bot:hs", key_id, public)
    assert not vodozemac_verify(tampered, "@bot:hs", key_id, public)
    other = ed25519_public_key(bytes(32))
    assert not verify_json(signed, "@bot:hs", key_id, other)
    assert not verify_json(signed, "@bot:hs", "ed25519:missing", public)
    assert not verify_json({"a": 1}, "@bot:hs", key_id, public)


def test_sign_json_matches_synapse_signedjson() -> None:
    # Ed25519 is deterministic: PyNaCl + canonicaljson must give the same bytes.
    sj_key = pytest.importorskip("signedjson.key")
    sj_sign = pytest.importorskip("signedjson.sign")
    seed = bytes(range(1, 33))
    public = ed25519_public_key(seed)
    nacl_key = sj_key.decode_signing_key_base64("ed25519", public, b64_encode(seed))
    obj = {"device_id": "DEV", "keys": {"ed25519:DEV": "k"}, "user_id": "@bot:hs"}
    theirs = sj_sign.sign_json(dict(obj), "@bot:hs", nacl_key)
    ours = sign_json(obj, "@bot:hs", f"ed25519:{public}", seed)
    assert ours == theirs
    sj_sign.verify_signed_json(ours, "@bot:hs", sj_key.get_verify_key(nacl_key))


# ---------------------------------------------------------------------------- key store


def test_key_store_roundtrip_private_and_checked(tmp_path: Path) -> None:
    store = tmp_path / "keys"
    keys = CrossSigningKeys.generate("@bot:example.org")
    path = save_keys(store, keys)
    assert path == key_store_file(store, "@bot:example.org")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert load_keys(store, "@bot:example.org") == keys
    assert load_keys(store, "@other:example.org") is None
    assert b64_encode(keys.master) not in repr(keys)
    assert list(store.iterdir()) == [path]  # no temp file left behind

    data = json.loads(path.read_text())
    data["user_id"] = "@evil:example.org"
    path.write_text(json.dumps(data))
    with pytest.raises(CrossSigningError):
        load_keys(store, "@bot:example.org")
    path.write_text("{not json")
    with pytest.raises(CrossSigningError):
        load_keys(store, "@bot:example.org")


# ------------------------------------------------------------------------- real Synapse

AVAILABLE = is_available()
synapse_test = pytest.mark.skipif(not AVAILABLE, reason=AVAILABLE.reason)



class RecordingClient(AsyncClient):
    """nio client that remembers every (method, path, status) it sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, str, int]] = []

    async def send(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        resp = await super().send(method, path, *args, **kwargs)
        self.calls.append((method, path.split("?")[0], resp.status))
        return resp

    def paths(self, suffix: str) -> list[int]:
        return [status for _m, path, status in self.calls if path.endswith(suffix)]


async def bot_client(hs: SynapseServer, user: RegisteredUser, store: Path) -> RecordingClient:
    await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
    client = RecordingClient(
        hs.base_url,
        user.user_id,
        device_id=user.device_id,
        store_path=str(store),
        config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
    )
    client.restore_login(user.user_id, user.device_id, user.access_token)
    if client.should_upload_keys:
        await client.keys_upload()
    return client


async def watcher_query(hs: SynapseServer, watcher: RegisteredUser, user_id: str) -> Any:
    return await hs.request(
        "POST",
        "/_matrix/client/v3/keys/query",
        {"device_keys": {user_id: []}},
        access_token=watcher.access_token,
    )


def only_key(obj: dict[str, Any]) -> str:
    (public,) = obj["keys"].values()
    assert obj["keys"] == {f"ed25519:{public}": public}
    return str(public)


def assert_cross_signed(query: Any, user_id: str, device_ids: list[str]) -> tuple[str, str]:
    """Independent check (signedjson/PyNaCl if present, else vodozemac) of the chain."""
    master_obj = query["master_keys"][user_id]
    ssk_obj = query["self_signing_keys"][user_id]
    assert master_obj["usage"] == ["master"]
    assert ssk_obj["usage"] == ["self_signing"]
    master, ssk = only_key(master_obj), only_key(ssk_obj)
    assert vodozemac_verify(ssk_obj, user_id, f"ed25519:{master}", master)
    for device_id in device_ids:
        device = query["device_keys"][user_id][device_id]
        assert vodozemac_verify(device, user_id, f"ed25519:{ssk}", ssk), device_id
        # ...and the device's own self-signature survived our upload.
        own = device["keys"][f"ed25519:{device_id}"]
        assert vodozemac_verify(device, user_id, f"ed25519:{device_id}", own)
    try:
        from signedjson.key import decode_verify_key_bytes
        from signedjson.sign import verify_signed_json
    except ImportError:
        return master, ssk
    verify_signed_json(
        ssk_obj, user_id, decode_verify_key_bytes(f"ed25519:{master}", base64_raw(master))
    )
    return master, ssk


def base64_raw(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


@synapse_test
@pytest.mark.asyncio(loop_scope="module")
async def test_setup_then_restart_is_a_no_op(synapse: SynapseServer, tmp_path: Path) -> None:
    bot = await synapse.register("clibot")
    watcher = await synapse.register("cliwatcher")
    key_store = tmp_path / "cross-signing"

    client = await bot_client(synapse, bot, tmp_path / "nio")
    try:
        result = await ensure_cross_signed(client, bot.password, key_store_path=key_store)
    finally:
        await client.close()
    assert result.status is CrossSigningStatus.CREATED, result
    assert result.ok
    # Synapse (MSC3967) takes the first upload without UIA; then one signature upload.
    assert client.paths("/keys/device_signing/upload") == [200]
    assert client.paths("/keys/signatures/upload") == [200]

    query = await watcher_query(synapse, watcher, bot.user_id)
    master, ssk = assert_cross_signed(query, bot.user_id, [bot.device_id])
    assert (master, ssk) == (result.master_key, result.self_signing_key)
    # The master key also carries the device's signature (lets own sessions trust it).
    device_key = query["device_keys"][bot.user_id][bot.device_id]["keys"][
        f"ed25519:{bot.device_id}"
    ]
    assert vodozemac_verify(
        query["master_keys"][bot.user_id], bot.user_id, f"ed25519:{bot.device_id}", device_key
    )
    # The user-signing key is only shown to the owner; it must be signed by master too.
    own = await watcher_query(synapse, bot, bot.user_id)
    usk_obj = own["user_signing_keys"][bot.user_id]
    assert only_key(usk_obj) == result.user_signing_key
    assert vodozemac_verify(usk_obj, bot.user_id, f"ed25519:{master}", master)

    stored = key_store_file(key_store, bot.user_id)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert bot.password not in stored.read_text()

    # "Restart": new client object, same nio store, same key store, no password.
    again = await bot_client(synapse, bot, tmp_path / "nio")
    try:
        second = await ensure_cross_signed(again, None, key_store_path=key_store)
    finally:
        await again.close()
    assert second.status is CrossSigningStatus.ALREADY, second
    assert second.master_key == master
    assert not again.paths("/keys/device_signing/upload")
    assert not again.paths("/keys/signatures/upload")
    assert again.paths("/keys/upload") == []  # device keys were already published


@synapse_test
@pytest.mark.asyncio(loop_scope="module")
async def test_without_password_reports_not_set_up(synapse: SynapseServer, tmp_path: Path) -> None:
    bot = await synapse.register("csnopw")
    client = await bot_client(synapse, bot, tmp_path / "nio")
    try:
        result = await ensure_cross_signed(client, None, key_store_path=tmp_path / "ks")
    finally:
        await client.close()
    assert result.status is CrossSigningStatus.NOT_SET_UP
    assert not result.ok
    assert CROSS_SIGN_HINT in result.detail
    assert not client.paths("/keys/device_signing/upload")
    assert not (tmp_path / "ks").exists()
    query = await watcher_query(synapse, bot, bot.user_id)
    assert bot.user_id not in query.get("master_keys", {})


@synapse_test
@pytest.mark.asyncio(loop_scope="module")
async def test_foreign_keys_are_replaced_only_with_uia(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    bot = await synapse.register("csreset")
    watcher = await synapse.register("csresetwatch")
    # "Another client" set up cross-signing; its seeds are not in our key store.
    first = await bot_client(synapse, bot, tmp_path / "nio")
    try:
        foreign = await ensure_cross_signed(first, bot.password, key_store_path=tmp_path / "other")
    finally:
        await first.close()
    assert foreign.status is CrossSigningStatus.CREATED

    ours = tmp_path / "ours"
    client = await bot_client(synapse, bot, tmp_path / "nio")
    try:
        no_pw = await ensure_cross_signed(client, None, key_store_path=ours)
        assert no_pw.status is CrossSigningStatus.NOT_SET_UP
        assert "not in our key store" in no_pw.detail
        assert no_pw.master_key == foreign.master_key

        with pytest.raises(CrossSigningError, match="password was rejected") as bad:
            await ensure_cross_signed(client, "wrong-password", key_store_path=ours)
        assert "wrong-password" not in str(bad.value)

        client.calls.clear()
        result = await ensure_cross_signed(client, bot.password, key_store_path=ours)
    finally:
        await client.close()
    assert result.status is CrossSigningStatus.CREATED
    assert result.master_key != foreign.master_key
    # Replacing keys: 401 with the UIA flows, then 200 with m.login.password.
    assert client.paths("/keys/device_signing/upload") == [401, 200]

    query = await watcher_query(synapse, watcher, bot.user_id)
    master, _ssk = assert_cross_signed(query, bot.user_id, [bot.device_id])
    assert master == result.master_key


@synapse_test
@pytest.mark.asyncio(loop_scope="module")
async def test_new_device_is_signed_with_stored_keys(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    bot = await synapse.register("csnewdev")
    watcher = await synapse.register("csnewdevwatch")
    key_store = tmp_path / "ks"
    client = await bot_client(synapse, bot, tmp_path / "nio1")
    try:
        created = await ensure_cross_signed(client, bot.password, key_store_path=key_store)
    finally:
        await client.close()
    assert created.status is CrossSigningStatus.CREATED

    # Lost nio store -> a new device; the cross-signing key store survived.
    second = await synapse.login(bot)
    assert second.device_id != bot.device_id
    client2 = await bot_client(synapse, second, tmp_path / "nio2")
    try:
        result = await ensure_cross_signed(client2, None, key_store_path=key_store)
    finally:
        await client2.close()
    assert result.status is CrossSigningStatus.DEVICE_SIGNED, result
    assert result.master_key == created.master_key
    assert not client2.paths("/keys/device_signing/upload")

    query = await watcher_query(synapse, watcher, bot.user_id)
    assert_cross_signed(query, bot.user_id, [bot.device_id, second.device_id])


@synapse_test
@pytest.mark.asyncio(loop_scope="module")
async def test_the_cross_sign_command_then_the_bot_start(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    """`peercircle matrix cross-sign` once with the password; the bot's own start after it
    finds everything in place ("already") without one."""
    from adapters.matrix.login import _cross_sign
    from tests.matrix_fixtures import bot_settings

    bot = await synapse.register("cmdbot")
    watcher = await synapse.register("cmdwatcher")
    settings = bot_settings(synapse, bot, tmp_path)
    created = await _cross_sign(settings, bot.password)
    assert created.status.value == "created"
    assert_cross_signed(await watcher_query(synapse, watcher, bot.user_id), bot.user_id,
                        [bot.device_id])
    again = await _cross_sign(settings, bot.password)
    assert again.status.value == "already"
