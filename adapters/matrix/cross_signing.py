"""Cross-signing of the bot's own device (Matrix client-server spec, "Cross-signing").

matrix-nio has no cross-signing, so this module implements the small part the bot
needs: a master key, a self-signing key (SSK) and a user-signing key (USK), all
ed25519, uploaded with POST /keys/device_signing/upload, and a signature by the
SSK over the bot's own device keys, uploaded with POST /keys/signatures/upload.
Other users' clients then show the bot's device as "verified by its owner"
instead of warning about an unverified device.

Ed25519 comes from pycryptodome, which matrix-nio already depends on (vodozemac's
Python binding exposes no standalone ed25519 secret key).

The private seeds are kept in ``<key_store_path>/cross-signing-<user>.json``
(mode 0600), so a restart reuses the published identity without the password.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import json
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import nio
from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

__all__ = [
    "CROSS_SIGN_HINT",
    "CrossSigningError",
    "CrossSigningKeys",
    "CrossSigningResult",
    "CrossSigningStatus",
    "b64_decode",
    "b64_encode",
    "canonical_json",
    "ed25519_public_key",
    "ensure_cross_signed",
    "key_store_file",
    "load_keys",
    "save_keys",
    "sign_json",
    "signable_bytes",
    "verify_json",
    "verify_signature",
]

log = logging.getLogger(__name__)

CROSS_SIGN_HINT: Final = (
    "run `peercircle matrix cross-sign` once with the bot account's password to "
    "set up cross-signing"
)

_CLIENT_V3: Final = "/_matrix/client/v3"
_SEED_BYTES: Final = 32
_STORE_VERSION: Final = 1
# Canonical JSON only allows integers in the IEEE-754 safe range (spec appendix).
_MAX_SAFE_INT: Final = 2**53 - 1


class CrossSigningError(RuntimeError):
    """The homeserver refused a step (wrong password, HTTP error, bad key data)."""


class CrossSigningStatus(StrEnum):
    ALREADY = "already"  # everything in place, nothing uploaded
    DEVICE_SIGNED = "device_signed"  # our stored keys were live; only the device was signed
    CREATED = "created"  # keys uploaded (first time or replacing) and the device signed
    NOT_SET_UP = "not_set_up"  # needs the password; see `detail` / CROSS_SIGN_HINT


@dataclass(frozen=True)
class CrossSigningResult:
    status: CrossSigningStatus
    # Public keys (unpadded base64) of the identity now in force, if any.
    master_key: str | None = None
    self_signing_key: str | None = None
    user_signing_key: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when the bot's device is cross-signed after the call."""
        return self.status is not CrossSigningStatus.NOT_SET_UP


# --------------------------------------------------------------------------- pure helpers


def b64_encode(data: bytes) -> str:
    """Matrix's unpadded standard base64."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def b64_decode(text: str) -> bytes:
    """Accept unpadded (Matrix) or padded base64; raise ValueError when malformed."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64: {exc}") from None


def _check_canonical(value: Any, path: str = "$") -> None:
    # json.dumps would happily emit floats and huge ints, which other
    # implementations encode differently, so a signature over them would not verify.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INT:
            raise ValueError(f"{path}: integer {value} outside canonical JSON range")
        return
    if isinstance(value, float):
        raise ValueError(f"{path}: floats are not allowed in canonical JSON")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: object key {key!r} is not a string")
            _check_canonical(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_canonical(item, f"{path}[{index}]")
        return
    raise ValueError(f"{path}: {type(value).__name__} is not JSON")


def canonical_json(value: Any) -> bytes:
    """Matrix canonical JSON: sorted keys, no whitespace, UTF-8 (not \\u-escaped)."""
    _check_canonical(value)
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
    ).encode("utf-8")


def signable_bytes(obj: Mapping[str, Any]) -> bytes:
    """What a signature covers: the object without top-level signatures/unsigned."""
    return canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


def _private_key(seed: bytes) -> ECC.EccKey:
    if len(seed) != _SEED_BYTES:
        raise ValueError(f"ed25519 seed must be {_SEED_BYTES} bytes, got {len(seed)}")
    return ECC.construct(curve="Ed25519", seed=seed)


def ed25519_public_key(seed: bytes) -> str:
    """Public key (unpadded base64) for a 32-byte ed25519 seed."""
    return b64_encode(_private_key(seed).public_key().export_key(format="raw"))


def sign_json(
    obj: Mapping[str, Any], signing_user: str, key_id: str, seed: bytes
) -> dict[str, Any]:
    """A deep copy of ``obj`` with ``signatures[signing_user][key_id]`` added.

    ``key_id`` is the full id, e.g. ``"ed25519:<public key>"``. Existing
    signatures are kept; ``unsigned`` is kept but, as the spec says, not signed.
    """
    signature = eddsa.new(_private_key(seed), "rfc8032").sign(signable_bytes(obj))
    signed = copy.deepcopy(dict(obj))
    signed.setdefault("signatures", {}).setdefault(signing_user, {})[key_id] = b64_encode(signature)
    return signed


def verify_signature(message: bytes, signature_b64: str, public_key_b64: str) -> bool:
    """Raw ed25519 check; False (never an exception) for any bad input."""
    try:
        public = eddsa.import_public_key(b64_decode(public_key_b64))
        eddsa.new(public, "rfc8032").verify(message, b64_decode(signature_b64))
    except ValueError:
        return False
    return True


def verify_json(
    obj: Mapping[str, Any], signing_user: str, key_id: str, public_key_b64: str
) -> bool:
    """Does ``obj`` carry a valid signature by ``signing_user``/``key_id``?"""
    signatures = obj.get("signatures")
    if not isinstance(signatures, Mapping):
        return False
    by_user = signatures.get(signing_user)
    signature = by_user.get(key_id) if isinstance(by_user, Mapping) else None
    if not isinstance(signature, str):
        return False
    try:
        message = signable_bytes(obj)
    except ValueError:
        return False
    return verify_signature(message, signature, public_key_b64)


# ------------------------------------------------------------------------------ key store


@dataclass(frozen=True)
class CrossSigningKeys:
    """Private seeds of one user's cross-signing identity."""

    user_id: str
    master: bytes
    self_signing: bytes
    user_signing: bytes

    def __repr__(self) -> str:  # never let a seed reach a log line via repr()
        return f"CrossSigningKeys({self.user_id!r}, master={self.master_public})"

    @classmethod
    def generate(cls, user_id: str) -> CrossSigningKeys:
        return cls(
            user_id,
            secrets.token_bytes(_SEED_BYTES),
            secrets.token_bytes(_SEED_BYTES),
            secrets.token_bytes(_SEED_BYTES),
        )

    @property
    def master_public(self) -> str:
        return ed25519_public_key(self.master)

    @property
    def self_signing_public(self) -> str:
        return ed25519_public_key(self.self_signing)

    @property
    def user_signing_public(self) -> str:
        return ed25519_public_key(self.user_signing)


def key_store_file(key_store_path: Path, user_id: str) -> Path:
    """One file per account, so switching the bot's account never mixes identities."""
    safe = re.sub(r"[^A-Za-z0-9._=-]", "_", user_id.lstrip("@"))
    return key_store_path / f"cross-signing-{safe}.json"


def load_keys(key_store_path: Path, user_id: str) -> CrossSigningKeys | None:
    """Stored seeds for ``user_id``; None when absent. Raises on a corrupt file."""
    path = key_store_file(key_store_path, user_id)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
        if data.get("user_id") != user_id:
            raise ValueError("file belongs to another user")
        keys = CrossSigningKeys(
            user_id,
            b64_decode(data["master"]),
            b64_decode(data["self_signing"]),
            b64_decode(data["user_signing"]),
        )
        for seed in (keys.master, keys.self_signing, keys.user_signing):
            _private_key(seed)  # length check
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Refuse to silently replace a published identity because of a bad file.
        raise CrossSigningError(f"unreadable cross-signing key store {path}: {exc}") from None
    return keys


def save_keys(key_store_path: Path, keys: CrossSigningKeys) -> Path:
    """Write the seeds atomically with mode 0600 (the dir is created 0700)."""
    key_store_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = key_store_file(key_store_path, keys.user_id)
    payload = {
        "version": _STORE_VERSION,
        "user_id": keys.user_id,
        "master": b64_encode(keys.master),
        "self_signing": b64_encode(keys.self_signing),
        "user_signing": b64_encode(keys.user_signing),
        # Public halves only for humans inspecting the file.
        "master_public": keys.master_public,
    }
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL + explicit mode: the seeds are never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


# ------------------------------------------------------------------------------------ HTTP


class _HTTPError(CrossSigningError):
    def __init__(self, what: str, status: int, body: Any) -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {}
        errcode = self.body.get("errcode", "")
        error = self.body.get("error", "" if isinstance(body, dict) else str(body)[:200])
        super().__init__(f"{what}: HTTP {status} {errcode} {error}".rstrip())


async def _post(client: nio.AsyncClient, path: str, body: Mapping[str, Any], what: str) -> Any:
    """POST JSON through the nio client's own session (same proxy/SSL settings)."""
    headers = {"Content-Type": "application/json"}
    if client.access_token:
        headers["Authorization"] = f"Bearer {client.access_token}"
    resp = await client.send("POST", _CLIENT_V3 + path, json.dumps(body), headers)
    try:
        try:
            data = await resp.json(content_type=None)
        except (ValueError, UnicodeDecodeError):
            data = None
        if resp.status != 200:
            raise _HTTPError(what, resp.status, data)
        return data
    finally:
        resp.release()


async def _query_own_keys(client: nio.AsyncClient) -> dict[str, Any]:
    return await _post(
        client,
        "/keys/query",
        {"device_keys": {client.user_id: [client.device_id]}},
        "keys/query",
    )


def _single_key(key_obj: Any) -> str | None:
    """The public key of a cross-signing key object ({"keys": {"ed25519:X": "X"}})."""
    if not isinstance(key_obj, Mapping) or not isinstance(key_obj.get("keys"), Mapping):
        return None
    values = [v for k, v in key_obj["keys"].items() if k.startswith("ed25519:")]
    return values[0] if len(values) == 1 and isinstance(values[0], str) else None


@dataclass(frozen=True)
class _ServerState:
    master_obj: dict[str, Any] | None
    ssk_obj: dict[str, Any] | None
    device_obj: dict[str, Any] | None

    @property
    def master(self) -> str | None:
        return _single_key(self.master_obj)

    @property
    def ssk(self) -> str | None:
        return _single_key(self.ssk_obj)


def _server_state(resp: Mapping[str, Any], user_id: str, device_id: str) -> _ServerState:
    def pick(section: str) -> dict[str, Any] | None:
        value = (resp.get(section) or {}).get(user_id)
        return value if isinstance(value, dict) else None

    devices = (resp.get("device_keys") or {}).get(user_id) or {}
    device = devices.get(device_id)
    return _ServerState(
        pick("master_keys"),
        pick("self_signing_keys"),
        device if isinstance(device, dict) else None,
    )


def _ssk_signed_by_master(state: _ServerState, user_id: str) -> bool:
    master, ssk = state.master, state.ssk
    if master is None or ssk is None or state.ssk_obj is None:
        return False
    return verify_json(state.ssk_obj, user_id, f"ed25519:{master}", master)


def _device_signed_by_ssk(state: _ServerState, user_id: str) -> bool:
    ssk = state.ssk
    if ssk is None or state.device_obj is None:
        return False
    return verify_json(state.device_obj, user_id, f"ed25519:{ssk}", ssk)


def _keys_match(state: _ServerState, keys: CrossSigningKeys | None) -> bool:
    return (
        keys is not None
        and state.master == keys.master_public
        and state.ssk == keys.self_signing_public
        and _ssk_signed_by_master(state, keys.user_id)
    )


# ------------------------------------------------------------------------------- uploads


def _signing_key_bodies(
    client: nio.AsyncClient, keys: CrossSigningKeys
) -> dict[str, dict[str, Any]]:
    user_id = keys.user_id
    master_id = f"ed25519:{keys.master_public}"

    def key_obj(usage: str, public: str) -> dict[str, Any]:
        return {"user_id": user_id, "usage": [usage], "keys": {f"ed25519:{public}": public}}

    master = key_obj("master", keys.master_public)
    olm = getattr(client, "olm", None)
    if olm is not None:
        # Optional per spec, but lets the bot's other sessions trust the master key
        # (Element does the same).
        device_sig = olm.account.sign(signable_bytes(master).decode("utf-8"))
        master["signatures"] = {user_id: {f"ed25519:{client.device_id}": device_sig}}
    return {
        "master_key": master,
        "self_signing_key": sign_json(
            key_obj("self_signing", keys.self_signing_public), user_id, master_id, keys.master
        ),
        "user_signing_key": sign_json(
            key_obj("user_signing", keys.user_signing_public), user_id, master_id, keys.master
        ),
    }


async def _upload_signing_keys(
    client: nio.AsyncClient, keys: CrossSigningKeys, password: str
) -> None:
    """device_signing/upload with the two-step User-Interactive Auth dance."""
    body: dict[str, Any] = _signing_key_bodies(client, keys)
    what = "keys/device_signing/upload"
    try:
        # Step 1 without auth: Synapse (MSC3967) accepts first-time uploads outright
        # and otherwise answers 401 with the UIA flows and a session id.
        await _post(client, "/keys/device_signing/upload", body, what)
        return
    except _HTTPError as exc:
        if exc.status != 401 or "flows" not in exc.body:
            raise
        challenge = exc.body
    flows = challenge.get("flows") or []
    if not any(flow.get("stages") == ["m.login.password"] for flow in flows):
        offered = [flow.get("stages") for flow in flows]
        raise CrossSigningError(f"{what}: server does not offer m.login.password UIA ({offered})")
    body["auth"] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": keys.user_id},
        "password": password,
        "session": challenge.get("session"),
    }
    try:
        await _post(client, "/keys/device_signing/upload", body, what)
    except _HTTPError as exc:
        if exc.status in (401, 403) and exc.body.get("errcode") == "M_FORBIDDEN":
            raise CrossSigningError(f"{what}: the password was rejected") from None
        raise


async def _sign_device(
    client: nio.AsyncClient, keys: CrossSigningKeys, device_obj: Mapping[str, Any]
) -> None:
    """Sign the device keys exactly as published and upload only the new signature."""
    user_id = keys.user_id
    ssk_id = f"ed25519:{keys.self_signing_public}"
    unsigned_copy = {k: v for k, v in device_obj.items() if k not in ("signatures", "unsigned")}
    signed = sign_json(unsigned_copy, user_id, ssk_id, keys.self_signing)
    resp = await _post(
        client,
        "/keys/signatures/upload",
        {user_id: {str(device_obj["device_id"]): signed}},
        "keys/signatures/upload",
    )
    failures = (resp or {}).get("failures") or {}
    if failures:
        raise CrossSigningError(f"keys/signatures/upload rejected the signature: {failures}")


# ---------------------------------------------------------------------------------- entry


async def _device_keys(client: nio.AsyncClient) -> tuple[_ServerState, dict[str, Any]]:
    assert client.user_id and client.device_id
    state = _server_state(await _query_own_keys(client), client.user_id, client.device_id)
    if state.device_obj is None and client.should_upload_keys:
        # A fresh nio store has not published its device keys yet; do it now so
        # there is something to sign.
        upload = await client.keys_upload()
        if isinstance(upload, nio.KeysUploadError):
            raise CrossSigningError(f"keys/upload failed: {upload.message}")
        state = _server_state(await _query_own_keys(client), client.user_id, client.device_id)
    if state.device_obj is None:
        raise CrossSigningError(
            f"device {client.device_id} has no published device keys "
            "(is encryption enabled on the nio client?)"
        )
    return state, state.device_obj


def _result(status: CrossSigningStatus, keys: CrossSigningKeys, detail: str) -> CrossSigningResult:
    return CrossSigningResult(
        status,
        master_key=keys.master_public,
        self_signing_key=keys.self_signing_public,
        user_signing_key=keys.user_signing_public,
        detail=detail,
    )


async def ensure_cross_signed(
    client: nio.AsyncClient, password: str | None, *, key_store_path: Path
) -> CrossSigningResult:
    """Make sure the bot's current device is signed by its own self-signing key.

    ``client`` must be logged in (user id, device id, access token) with an
    encryption-enabled store. Returns NOT_SET_UP (with ``detail``) when that
    needs the password and none was given; raises CrossSigningError when the
    server refuses (wrong password, HTTP errors) or the key store is corrupt.
    """
    if not (client.user_id and client.device_id and client.access_token):
        raise CrossSigningError("the nio client is not logged in")
    user_id = client.user_id
    keys = await asyncio.to_thread(load_keys, key_store_path, user_id)
    state, device_obj = await _device_keys(client)

    if _keys_match(state, keys):
        assert keys is not None
        if _device_signed_by_ssk(state, user_id):
            return _result(CrossSigningStatus.ALREADY, keys, "device already cross-signed")
        # Our identity is live but this device (e.g. a new device id) is not
        # signed yet: signatures/upload needs no UIA, so no password either.
        await _sign_device(client, keys, device_obj)
        log.info("Signed device %s with the stored self-signing key", client.device_id)
        return _result(CrossSigningStatus.DEVICE_SIGNED, keys, "device signed with stored keys")

    if password is None:
        if state.master is None:
            detail = f"cross-signing is not set up for {user_id}; {CROSS_SIGN_HINT}"
        elif keys is None:
            detail = (
                f"{user_id} has cross-signing keys that are not in our key store "
                f"(set up by another client?); {CROSS_SIGN_HINT} to replace them"
            )
        else:
            detail = (
                f"the cross-signing keys of {user_id} on the server differ from our "
                f"key store; {CROSS_SIGN_HINT} to publish ours again"
            )
        return CrossSigningResult(
            CrossSigningStatus.NOT_SET_UP,
            master_key=state.master,
            self_signing_key=state.ssk,
            detail=detail,
        )

    if keys is None:
        keys = CrossSigningKeys.generate(user_id)
    if state.master is not None and state.master != keys.master_public:
        log.warning(
            "Replacing the existing cross-signing identity of %s (master key %s)",
            user_id,
            state.master,
        )
    # Persist before uploading: a crash after the upload must not leave the
    # server with keys whose seeds we lost (the next run re-uses the file).
    await asyncio.to_thread(save_keys, key_store_path, keys)
    await _upload_signing_keys(client, keys, password)
    # Re-query so we sign the device JSON exactly as the server now publishes it.
    state, device_obj = await _device_keys(client)
    if not _keys_match(state, keys):
        raise CrossSigningError("uploaded cross-signing keys are not visible in keys/query")
    await _sign_device(client, keys, device_obj)
    log.info(
        "Cross-signing set up for %s (master key %s), device %s signed",
        user_id,
        keys.master_public,
        client.device_id,
    )
    return _result(CrossSigningStatus.CREATED, keys, "cross-signing keys uploaded, device signed")
