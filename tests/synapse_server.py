"""Throw-away *real* Synapse homeserver for integration tests.

The core class has no pytest dependency so it can also drive benchmarks::

    async with SynapseServer(rate_limits="high") as hs:
        alice = await hs.register("alice")
        ...                      # talk to hs.base_url with any Matrix client
        await hs.stop()          # server down (connection refused) ...
        await hs.start()         # ... and back on the same port, same SQLite DB

Synapse runs as a subprocess of the *same* interpreter (``sys.executable -m
synapse.app.homeserver``) so the venv that has ``matrix-synapse`` installed is
the one used.  HTTP calls are done with ``urllib`` in a worker thread so that a
server object is not bound to any particular asyncio event loop (pytest-asyncio
may give module-scoped fixtures and tests different loops).
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import hashlib
import hmac
import http.client
import importlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

__all__ = [
    "Availability",
    "RegisteredUser",
    "SynapseError",
    "SynapseHTTPError",
    "SynapseServer",
    "is_available",
]

RateLimitMode = Literal["high", "low"]

# Limits used by rate_limits="high": effectively "never throttle" while still
# being finite numbers Synapse's token bucket maths is happy with.
_HIGH_LIMIT: dict[str, float] = {"per_second": 100_000.0, "burst_count": 1_000_000}
# rate_limits="low" only throttles messages: a client sending > 3 events back to
# back gets M_LIMIT_EXCEEDED, then one event every 2 s is accepted.
LOW_MESSAGE_LIMIT: dict[str, float] = {"per_second": 0.5, "burst_count": 3}

# New-style rc_* keys of Synapse 1.163 (synapse/config/ratelimiting.py). Keys
# with a dot are nested (rc_login: {address: {...}}). The list is unioned with
# whatever is parsed out of the installed Synapse's source (see
# _discover_rc_keys) so a newer Synapse's new limiter is raised too; Synapse
# ignores keys it does not know, so stale entries are harmless.
KNOWN_RC_KEYS: tuple[str, ...] = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_admin_redaction",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_room_creation",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)

_READY_PATH = "/_matrix/client/versions"
_LOG_TAIL_LINES = 60

# PR_SET_PDEATHSIG makes the kernel SIGKILL Synapse if the test process dies
# without running atexit (SIGKILL, OOM, CI timeout), so no orphan keeps the
# port/dir. Done in a tiny bootstrap that then execs Synapse, rather than with
# Popen(preexec_fn=...), which is unsafe once the process has threads.
_BOOTSTRAP = """\
import ctypes, os, signal, sys
if sys.platform.startswith("linux"):
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))
    except Exception:
        pass
    if os.getppid() != int(sys.argv[1]):
        os._exit(3)  # parent already gone before prctl took effect
os.execv(sys.executable,
         [sys.executable, "-m", "synapse.app.homeserver", *sys.argv[2:]])
"""


class SynapseError(RuntimeError):
    """Synapse failed to start/stop; the message carries the log tail."""


class SynapseHTTPError(RuntimeError):
    """Non-2xx answer from Synapse."""

    def __init__(self, status: int, body: Any, method: str, path: str) -> None:
        self.status = status
        self.body = body
        self.errcode: str | None = body.get("errcode") if isinstance(body, dict) else None
        super().__init__(f"{method} {path} -> HTTP {status}: {body!r}")


@dataclass(frozen=True)
class RegisteredUser:
    user_id: str
    access_token: str
    device_id: str
    password: str

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]


@dataclass(frozen=True)
class Availability:
    """Truthy iff Synapse can be used; ``reason`` says why not (for skips)."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


@functools.cache
def is_available() -> Availability:
    """Can this interpreter run Synapse? Cached; never raises."""
    if importlib.util.find_spec("synapse") is None:
        return Availability(False, f"matrix-synapse is not installed for {sys.executable}")
    try:
        # The package __init__ checks the Rust extension and Python version,
        # which is where broken installs usually fail. It is cheap (~0.4 s);
        # importing synapse.app.homeserver would cost ~1.3 s for little gain.
        importlib.import_module("synapse")
    except Exception as exc:  # any import failure means "skip", never an error
        return Availability(False, f"cannot import synapse: {exc!r}")
    if not hasattr(os, "killpg"):
        return Availability(False, "SynapseServer needs a POSIX platform")
    return Availability(True, "")


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@functools.cache
def _discover_rc_keys() -> tuple[str, ...]:
    """rc_* keys parsed with RatelimitSettings.parse by the installed Synapse."""
    spec = importlib.util.find_spec("synapse")
    if spec is None or not spec.submodule_search_locations:
        return ()
    source = Path(next(iter(spec.submodule_search_locations)), "config", "ratelimiting.py")
    try:
        text = source.read_text(encoding="utf-8")
    except OSError:
        return ()
    found = re.findall(r"RatelimitSettings\.parse\(\s*config,\s*\"(rc_[A-Za-z0-9_.]+)\"", text)
    return tuple(dict.fromkeys(found))


def rate_limit_config(mode: RateLimitMode) -> dict[str, Any]:
    """The rc_* part of homeserver.yaml for ``mode``."""
    if mode not in ("high", "low"):
        raise ValueError(f"rate_limits must be 'high' or 'low', not {mode!r}")
    config: dict[str, Any] = {}
    for key in dict.fromkeys((*KNOWN_RC_KEYS, *_discover_rc_keys())):
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = dict(_HIGH_LIMIT)
    if mode == "low":
        config["rc_message"] = dict(LOW_MESSAGE_LIMIT)
    # Legacy spelling, only read when rc_message is absent; set for old Synapses.
    config["rc_messages_per_second"] = config["rc_message"]["per_second"]
    config["rc_message_burst_count"] = config["rc_message"]["burst_count"]
    return config


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


# Live servers, so an atexit hook can kill whatever a crashed test left running.
_LIVE: weakref.WeakSet[SynapseServer] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_LIVE):
        server._kill_sync(timeout=5.0)
        server._remove_owned_dir()


class SynapseServer:
    """A single-process Synapse on 127.0.0.1 with a SQLite DB in a temp dir.

    One instance owns one data dir and one port for its whole life: stop() and
    start() again reuse both, so users, rooms and tokens survive a restart.
    """

    def __init__(
        self,
        *,
        server_name: str = "localhost",
        rate_limits: RateLimitMode = "high",
        port: int | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        extra_config: Mapping[str, Any] | None = None,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        python: str | None = None,
        keep_data: bool | None = None,
    ) -> None:
        """
        port: fixed port, else a free one is picked (and re-picked if it was
            stolen before the very first start).
        data_dir: existing dir to use (never deleted); default a fresh temp dir
            removed by close() unless keep_data or $PEERCIRCLE_KEEP_SYNAPSE=1.
        extra_config: deep-merged over the generated homeserver.yaml.
        """
        rate_limit_config(rate_limits)  # validate early
        self.server_name = server_name
        self.rate_limits: RateLimitMode = rate_limits
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.python = python or sys.executable
        self._extra_config = dict(extra_config or {})
        self._fixed_port = port is not None
        self.port: int = port if port is not None else _free_port()
        self._owns_dir = data_dir is None
        self.data_dir = Path(
            data_dir if data_dir is not None else tempfile.mkdtemp(prefix="peercircle-synapse-")
        ).resolve()
        if keep_data is None:
            keep_data = os.environ.get("PEERCIRCLE_KEEP_SYNAPSE", "") not in ("", "0")
        self.keep_data = keep_data
        # Secrets live for the instance; a restart must keep the same ones.
        self.registration_shared_secret = secrets.token_urlsafe(32)
        self._macaroon_secret = secrets.token_urlsafe(32)
        self._form_secret = secrets.token_urlsafe(32)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_fh: IO[bytes] | None = None
        self._paused = False
        self._ever_started = False
        self.last_start_seconds: float | None = None
        # Plain opener without proxies: $http_proxy must not catch 127.0.0.1.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # ------------------------------------------------------------------ paths
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "homeserver.yaml"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "homeserver.db"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "homeserver.log"

    @property
    def media_path(self) -> Path:
        return self.data_dir / "media_store"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def paused(self) -> bool:
        return self._paused

    def user_id(self, localpart: str) -> str:
        return f"@{localpart.lower()}:{self.server_name}"

    # ----------------------------------------------------------------- config
    def build_config(self) -> dict[str, Any]:
        """The homeserver.yaml contents (written as JSON, which is YAML)."""
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "public_baseurl": self.base_url + "/",
            "pid_file": str(self.data_dir / "homeserver.pid"),
            # One plain-HTTP client listener; "client" also serves the media
            # repo (/_matrix/media and /_matrix/client/v1/media). No federation
            # or TLS listener, loopback only.
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            # A file (not :memory:) so state survives stop()/start().
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.db_path)},
            },
            "media_store_path": str(self.media_path),
            "enable_media_repo": True,
            "max_upload_size": "100M",
            "signing_key_path": str(self.data_dir / "signing.key"),
            "macaroon_secret_key": self._macaroon_secret,
            "form_secret": self._form_secret,
            "registration_shared_secret": self.registration_shared_secret,
            "enable_registration": False,
            "report_stats": False,
            "enable_metrics": False,
            # No outbound federation: no key servers, no remote domains, so a
            # bogus remote mxid fails fast instead of doing DNS/HTTP lookups.
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "url_preview_enabled": False,
            # Presence off saves background work and sync noise.
            "presence": {"enabled": False},
            # bcrypt cost 12 takes ~0.25 s per register/login; 4 is ~1 ms.
            "bcrypt_rounds": 4,
        }
        config.update(rate_limit_config(self.rate_limits))
        return _deep_merge(config, self._extra_config)

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.media_path.mkdir(exist_ok=True)
        self.config_path.write_text(json.dumps(self.build_config(), indent=2))

    # -------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> SynapseServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start Synapse and wait until /_matrix/client/versions answers.

        Raises SynapseError (with the log tail) on exit or timeout.
        """
        if self.running:
            raise SynapseError("Synapse is already running")
        attempts = 1 if (self._fixed_port or self._ever_started) else 3
        for attempt in range(1, attempts + 1):
            try:
                await self._start_once()
                self._ever_started = True
                return
            except SynapseError as exc:
                # Only a port picked by us and never bound can be re-picked;
                # after a first start the port is part of the contract.
                if attempt < attempts and "Address already in use" in str(exc):
                    self.port = _free_port()
                    continue
                raise

    async def _start_once(self) -> None:
        began = time.monotonic()
        proc = self._spawn()
        deadline = began + self.startup_timeout
        while True:
            if proc.poll() is not None:
                code = proc.returncode
                self._reap()
                raise SynapseError(
                    f"Synapse exited with code {code} during startup.\n"
                    f"--- tail of {self.log_path} ---\n{self.log_tail()}"
                )
            if await self._is_ready():
                self.last_start_seconds = time.monotonic() - began
                return
            if time.monotonic() > deadline:
                await self._terminate()
                raise SynapseError(
                    f"Synapse not ready on {self.base_url} after "
                    f"{self.startup_timeout:.0f}s.\n"
                    f"--- tail of {self.log_path} ---\n{self.log_tail()}"
                )
            await asyncio.sleep(0.05)

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Deliberately synchronous: fork+exec takes milliseconds, and a plain
        # Popen (unlike asyncio's subprocess transport) is not tied to the
        # event loop that happened to start it.
        self._write_config()
        log_fh = open(self.log_path, "ab")  # closed in _reap()
        log_fh.write(f"\n===== harness: starting Synapse on {self.base_url}\n".encode())
        log_fh.flush()
        self._log_fh = log_fh
        self._proc = subprocess.Popen(
            [
                self.python,
                "-c",
                _BOOTSTRAP,
                str(os.getpid()),
                "-c",
                str(self.config_path),
            ],
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log_fh,
            stderr=subprocess.STDOUT,
            # Own process group: Ctrl-C in the terminal reaches pytest, which
            # then stops Synapse in order, and we can signal the whole group.
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._paused = False
        _LIVE.add(self)
        return self._proc

    async def _is_ready(self) -> bool:
        try:
            await self.request("GET", _READY_PATH, http_timeout=2.0)
        except (OSError, SynapseHTTPError, http.client.HTTPException, ValueError):
            # Not listening yet, or half-started: keep polling.
            return False
        return True

    async def stop(self) -> None:
        """SIGTERM, SIGKILL after stop_timeout. Keeps the data dir and port."""
        await self._terminate()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def close(self) -> None:
        """stop() and delete the temp dir we created (unless keep_data)."""
        await self._terminate()
        self._remove_owned_dir()
        _LIVE.discard(self)

    async def pause(self) -> None:
        """SIGSTOP: the port stays open but nothing answers (a hung server).

        Use stop()/start() to simulate a server that is down (conn refused).
        """
        if not self.running or self._proc is None:
            raise SynapseError("Synapse is not running")
        os.killpg(self._proc.pid, signal.SIGSTOP)
        self._paused = True

    async def resume(self) -> None:
        if self._proc is not None and self._paused:
            os.killpg(self._proc.pid, signal.SIGCONT)
        self._paused = False

    async def _terminate(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._signal(signal.SIGCONT)  # a SIGSTOPped process can't exit cleanly
            self._signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                await asyncio.to_thread(proc.wait)
        self._reap()

    def _signal(self, sig: signal.Signals) -> None:
        if self._proc is None:
            return
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    def _kill_sync(self, timeout: float) -> None:
        """Blocking stop for atexit (no event loop there)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._signal(signal.SIGCONT)
            self._signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                proc.wait()
        self._reap()

    def _reap(self) -> None:
        if self._proc is not None:
            self._proc.poll()
        self._proc = None
        self._paused = False
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None

    def _remove_owned_dir(self) -> None:
        if self._owns_dir and not self.keep_data and not self.running:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"
        return "\n".join(text.splitlines()[-lines:])

    # ------------------------------------------------------------------- HTTP
    async def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        access_token: str | None = None,
        http_timeout: float = 30.0,
    ) -> Any:
        """JSON request to Synapse; returns the decoded body.

        Raises SynapseHTTPError on HTTP errors and OSError if unreachable.
        """
        return await asyncio.to_thread(
            self._request_sync, method, path, body, access_token, http_timeout
        )

    def _request_sync(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        access_token: str | None,
        timeout: float,
    ) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        req = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                err_body: Any = json.loads(raw)
            except ValueError:
                err_body = raw.decode(errors="replace")
            raise SynapseHTTPError(exc.code, err_body, method, path) from None
        except urllib.error.URLError as exc:
            # Normalise to OSError (connection refused, timeouts, ...).
            reason = exc.reason
            raise (reason if isinstance(reason, OSError) else OSError(reason)) from exc
        return json.loads(raw) if raw else {}

    async def register(
        self,
        localpart: str,
        password: str | None = None,
        admin: bool = False,
        *,
        displayname: str | None = None,
    ) -> RegisteredUser:
        """Create a user with the shared-secret admin API (HMAC-SHA1 nonce).

        Not subject to rc_registration and works with enable_registration off.
        """
        if password is None:
            password = f"pw-{localpart}-{secrets.token_hex(4)}"
        path = "/_synapse/admin/v1/register"
        nonce = (await self.request("GET", path))["nonce"]
        mac = hmac.new(self.registration_shared_secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password):
            mac.update(part.encode())
            mac.update(b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        body: dict[str, Any] = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        if displayname is not None:
            body["displayname"] = displayname
        result = await self.request("POST", path, body)
        return RegisteredUser(
            user_id=result["user_id"],
            access_token=result["access_token"],
            device_id=result["device_id"],
            password=password,
        )

    async def login(
        self,
        user: str | RegisteredUser,
        password: str | None = None,
        *,
        device_id: str | None = None,
    ) -> RegisteredUser:
        """Password login -> a new (or the given) device and access token."""
        if isinstance(user, RegisteredUser):
            password = password or user.password
            user = user.user_id
        if password is None:
            raise ValueError("password required")
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
        }
        if device_id is not None:
            body["device_id"] = device_id
        result = await self.request("POST", "/_matrix/client/v3/login", body)
        return RegisteredUser(
            user_id=result["user_id"],
            access_token=result["access_token"],
            device_id=result["device_id"],
            password=password,
        )

    async def whoami(self, access_token: str) -> str:
        """user_id behind a token (raises SynapseHTTPError if invalid)."""
        result = await self.request(
            "GET", "/_matrix/client/v3/account/whoami", access_token=access_token
        )
        return str(result["user_id"])

    def __repr__(self) -> str:
        state = "paused" if self._paused else "running" if self.running else "stopped"
        return f"<SynapseServer {self.server_name} {self.base_url} {state} {self.data_dir}>"
