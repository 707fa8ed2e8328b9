"""The one paced sender every Matrix send goes through (replies, outbox messages, redactions,
edits, images): one request at a time, most urgent first, each response checked.

Why one: Synapse rate-limits per user, so two senders would only trip over each other's
M_LIMIT_EXCEEDED; with one queue an urgent message never waits behind a burst of room posts.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nio import ErrorResponse, LocalProtocolError

log = logging.getLogger(__name__)

PRIORITY_URGENT = 0  # outbox rows the core marks urgent (priority 0) and private answers
PRIORITY_REPLY = 1  # the answer to a member's command
PRIORITY_NORMAL = 5  # room posts, onboarding DMs, reminders

DEFAULT_RATE_LIMIT_WAIT = 1.0  # M_LIMIT_EXCEEDED without retry_after_ms


class SendFailed(Exception):
    """A send the sender gave up on. `permanent`: retrying cannot help (forbidden, unknown
    room); otherwise the caller may retry later (the outbox does, with its own backoff)."""

    def __init__(self, reason: str, *, permanent: bool = False, errcode: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.errcode = errcode
        self.retry_after = retry_after


class TokenRevoked(SendFailed):
    """The homeserver no longer accepts the access token: nothing can be sent; stop."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=True, errcode="M_UNKNOWN_TOKEN")


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    label: str = field(compare=False)
    op: Callable[[], Awaitable[Any]] = field(compare=False)
    future: asyncio.Future[Any] = field(compare=False)
    max_attempts: int | None = field(compare=False)


def _http_status(resp: ErrorResponse) -> int | None:
    transport = getattr(resp, "transport_response", None)
    return getattr(transport, "status", None)


class PacedSender:
    def __init__(self, *, backoff_base: float = 0.5, backoff_max: float = 30.0,
                 lock: asyncio.Lock | None = None,
                 on_token_revoked: Callable[[str], None] | None = None) -> None:
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        # Shared with the sync loop's key upload/query/claim: nio's olm state is not meant to
        # be changed by two requests at once (a second keys_query in flight raises).
        self.lock = lock or asyncio.Lock()
        self.on_token_revoked = on_token_revoked
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._stopping = False
        self.rate_limited = 0  # how many M_LIMIT_EXCEEDED answers were honoured (tests, logs)
        self.sent = 0

    def pending(self) -> int:
        return len(self._heap)

    async def call(self, op: Callable[[], Awaitable[Any]], *, label: str,
                   priority: int = PRIORITY_NORMAL, max_attempts: int | None = None) -> Any:
        """Queue one request; returns its successful response or raises SendFailed.
        `max_attempts` bounds retries of transient errors (None: until the sender stops)."""
        if self._stopping:
            raise SendFailed("the Matrix sender is stopping")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, _Job(priority, next(self._seq), label, op, future,
                                        max_attempts))
        self._wake.set()
        return await future

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                if not self._heap:
                    self._wake.clear()
                    await _wait_any(self._wake, stop)
                    continue
                job = heapq.heappop(self._heap)
                if job.future.done():  # the caller was cancelled
                    continue
                await self._run_job(job, stop)
        finally:
            self._stopping = True
            while self._heap:
                job = heapq.heappop(self._heap)
                if not job.future.done():
                    job.future.set_exception(SendFailed("the Matrix sender stopped"))

    async def _run_job(self, job: _Job, stop: asyncio.Event) -> None:
        attempts = 0
        while True:
            if stop.is_set():
                job.future.set_exception(SendFailed("the Matrix sender stopped"))
                return
            attempts += 1
            try:
                async with self.lock:
                    resp = await job.op()
                error = self._classify(resp)
            except LocalProtocolError as exc:
                # Typically a room nio has not seen in a sync yet (a DM just created).
                error = SendFailed(f"not ready: {exc}")
            except (TimeoutError, OSError) as exc:
                error = SendFailed(f"connection: {type(exc).__name__}")
            except Exception as exc:  # aiohttp errors, and bugs: retried a bounded number of times
                log.warning("matrix send %s raised %s", job.label, type(exc).__name__)
                error = SendFailed(f"error: {type(exc).__name__}")
                if attempts >= (job.max_attempts or 5):
                    error.permanent = True
            if error is None:
                self.sent += 1
                if not job.future.done():
                    job.future.set_result(resp)
                return
            if isinstance(error, TokenRevoked):
                if self.on_token_revoked is not None:
                    self.on_token_revoked(error.reason)
                job.future.set_exception(error)
                return
            if error.errcode == "M_LIMIT_EXCEEDED":
                # Not a failure: wait as told and try the same request again, so order holds.
                self.rate_limited += 1
                wait = error.retry_after if error.retry_after is not None else (
                    DEFAULT_RATE_LIMIT_WAIT)
                log.info("matrix send %s rate-limited; waiting %.2fs", job.label, wait)
                await _sleep(wait, stop)
                attempts -= 1
                continue
            if error.permanent or (job.max_attempts is not None
                                   and attempts >= job.max_attempts):
                log.warning("matrix send %s failed after %d attempt(s): %s", job.label,
                            attempts, error.reason)
                job.future.set_exception(error)
                return
            delay = min(self.backoff_base * 2 ** (attempts - 1), self.backoff_max)
            delay *= 0.5 + random.random() / 2  # jitter: many bots must not retry in step
            log.info("matrix send %s: %s; retrying in %.1fs", job.label, error.reason, delay)
            await _sleep(delay, stop)

    @staticmethod
    def _classify(resp: Any) -> SendFailed | None:
        if not isinstance(resp, ErrorResponse):
            return None
        code = resp.status_code
        status = _http_status(resp)
        reason = f"{code or status}: {resp.message}"
        if code == "M_UNKNOWN_TOKEN":
            return TokenRevoked(reason)
        if code == "M_LIMIT_EXCEEDED" or status == 429:
            after = resp.retry_after_ms
            return SendFailed(reason, errcode="M_LIMIT_EXCEEDED",
                              retry_after=after / 1000 if after is not None else None)
        if status is not None and status >= 500:
            return SendFailed(reason, errcode=code)
        if (status is not None and 400 <= status < 500) or (code or "").startswith("M_"):
            return SendFailed(reason, permanent=True, errcode=code)
        return SendFailed(reason, errcode=code)


async def _wait_any(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def _sleep(seconds: float, stop: asyncio.Event) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0))
    except TimeoutError:
        pass
