"""The one paced sender: against Synapse with low rate limits (30 queued messages all arrive, in
order), and with scripted responses for priority, retry_after and transient errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nio import ErrorResponse, RoomSendResponse
from sqlalchemy import select

from adapters.matrix.pacing import (
    PRIORITY_NORMAL,
    PRIORITY_URGENT,
    PacedSender,
    SendFailed,
    TokenRevoked,
)
from storage.models import OutboxMessage
from tests.matrix_fixtures import bot_settings, members, start_bot
from tests.synapse_server import SynapseServer, is_available

AVAILABLE = is_available()


def error(code: str, retry_after_ms: int | None = None) -> ErrorResponse:
    return ErrorResponse(f"{code} happened", code, retry_after_ms)


def ok(event_id: str) -> RoomSendResponse:
    return RoomSendResponse(event_id, "!room:x")


async def run_sender(sender: PacedSender, *calls: Any) -> list[Any]:
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        return await asyncio.gather(*calls, return_exceptions=True)
    finally:
        stop.set()
        await task


async def test_rate_limit_waits_as_told_and_keeps_order() -> None:
    sender = PacedSender(backoff_base=0.01)
    answers = {"a": [error("M_LIMIT_EXCEEDED", 150), ok("$a")], "b": [ok("$b")]}
    order: list[str] = []
    times: dict[str, float] = {}
    loop = asyncio.get_running_loop()

    def op(name: str) -> Any:
        async def send() -> Any:
            order.append(name)
            times[name] = loop.time()
            return answers[name].pop(0)
        return send

    start = loop.time()
    a = sender.call(op("a"), label="a")
    b = sender.call(op("b"), label="b")
    results = await run_sender(sender, a, b)
    assert [r.event_id for r in results] == ["$a", "$b"]
    assert order == ["a", "a", "b"]  # the limited message is retried before the next one
    assert times["b"] - start >= 0.15
    assert sender.rate_limited == 1


async def test_lifeline_goes_first_and_transient_errors_retry() -> None:
    sender = PacedSender(backoff_base=0.01)
    order: list[str] = []
    flaky = [error("M_UNKNOWN_SERVER_ERROR_5XX"), ok("$p")]

    def op(name: str, answer: Any = None) -> Any:
        async def send() -> Any:
            order.append(name)
            if name == "page":
                resp = flaky.pop(0)
                if isinstance(resp, ErrorResponse):
                    raise OSError("connection reset")
                return resp
            return ok("$" + name)
        return send

    # Queued before the sender runs: the page must still be first.
    calls = [sender.call(op(f"post{i}"), label="post", priority=PRIORITY_NORMAL)
             for i in range(3)]
    calls.append(sender.call(op("page"), label="page", priority=PRIORITY_URGENT))
    results = await run_sender(sender, *calls)
    assert all(not isinstance(r, BaseException) for r in results), results
    assert order[:2] == ["page", "page"] and order[2:] == ["post0", "post1", "post2"]


async def test_permanent_errors_and_revoked_token_are_not_retried() -> None:
    revoked: list[str] = []
    sender = PacedSender(backoff_base=0.01, on_token_revoked=revoked.append)
    tries: list[str] = []

    def op(code: str) -> Any:
        async def send() -> Any:
            tries.append(code)
            return error(code)
        return send

    forbidden, token = await run_sender(sender, sender.call(op("M_FORBIDDEN"), label="x"),
                                        sender.call(op("M_UNKNOWN_TOKEN"), label="y"))
    assert isinstance(forbidden, SendFailed) and forbidden.permanent
    assert isinstance(token, TokenRevoked) and revoked
    assert tries == ["M_FORBIDDEN", "M_UNKNOWN_TOKEN"]


async def test_bounded_attempts_give_up_with_reason() -> None:
    sender = PacedSender(backoff_base=0.01)

    async def down() -> Any:
        raise OSError("refused")

    (result,) = await run_sender(sender, sender.call(down, label="x", max_attempts=3))
    assert isinstance(result, SendFailed) and not result.permanent


# -- against Synapse ------------------------------------------------------------------------

@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def slow_synapse() -> AsyncIterator[SynapseServer]:
    # The harness's "low" limits (burst 3, then 0.5/s) with a faster refill, so 30 messages
    # meet M_LIMIT_EXCEEDED many times but the test stays within seconds.
    async with SynapseServer(rate_limits="low", extra_config={
            "rc_message": {"per_second": 6, "burst_count": 3}}) as server:
        yield server


@pytest.mark.skipif(not AVAILABLE, reason=AVAILABLE.reason)
@pytest.mark.asyncio(loop_scope="module")
async def test_thirty_queued_messages_arrive_in_order(slow_synapse: SynapseServer,
                                                      tmp_path: Path) -> None:
    bot_user = await slow_synapse.register("pacebot")
    bot = await start_bot(bot_settings(slow_synapse, bot_user, tmp_path))
    try:
        async with members(slow_synapse, tmp_path, "pia") as (pia,):
            room = await pia.create_room([bot_user.user_id], encrypted=False)
            await pia.wait_member(room, bot_user.user_id)
            now = datetime.now(UTC)
            async with bot.core.db.transaction() as s:
                for i in range(30):
                    s.add(OutboxMessage(key=f"pace:{i}", platform="matrix", kind="post",
                                        room_id=room, text=f"message {i:02d}", meta={},
                                        priority=5, created_at=now, next_attempt_at=now,
                                        attempts=0))
            expected = [f"message {i:02d}" for i in range(30)]
            await pia.wait_for(lambda s: s.body == "message 29", within=30,
                               what="the 30th message")
            bodies = [s.body for s in pia.from_user(bot_user.user_id, room)
                      if s.body.startswith("message ")]
            assert bodies == expected
            assert bot.adapter.sender.rate_limited > 0, "the rate limit was never hit"
            for _ in range(50):  # the row is marked sent just after the member sees it
                async with bot.core.db.transaction() as s:
                    rows = (await s.execute(select(OutboxMessage).where(
                        OutboxMessage.key.startswith("pace:")))).scalars().all()
                if all(r.sent_at is not None for r in rows):
                    break
                await asyncio.sleep(0.1)
            assert all(r.sent_at is not None and r.platform_message_id for r in rows)
            assert not any(r.failed_at for r in rows)
    finally:
        await bot.halt()
