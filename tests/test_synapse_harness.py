"""Proves tests/synapse_server.py: a real Synapse, real matrix-nio clients."""

from __future__ import annotations

import asyncio
import time

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    RoomCreateResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from tests.synapse_server import (
    RegisteredUser,
    SynapseHTTPError,
    SynapseServer,
    is_available,
)

AVAILABLE = is_available()

# One Synapse for the whole module (start is ~1.3 s); every test uses its own
# users so order does not matter. Fixture and tests share the module loop.
pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason=AVAILABLE.reason),
    pytest.mark.asyncio(loop_scope="module"),
]



def nio_client(server: SynapseServer, user: RegisteredUser) -> AsyncClient:
    # Plain (unencrypted) client: this test is about the harness, not E2EE.
    client = AsyncClient(
        server.base_url,
        user.user_id,
        device_id=user.device_id,
        config=AsyncClientConfig(encryption_enabled=False),
    )
    client.restore_login(user.user_id, user.device_id, user.access_token)
    return client


async def test_invite_join_and_receive_message(synapse: SynapseServer) -> None:
    alice = await synapse.register("alice")
    bob = await synapse.register("bob")
    assert alice.user_id == synapse.user_id("alice") == "@alice:localhost"

    a, b = nio_client(synapse, alice), nio_client(synapse, bob)
    try:
        created = await a.room_create(name="harness", invite=[bob.user_id])
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id

        first = await b.sync(timeout=0)
        assert isinstance(first, SyncResponse), first
        assert room_id in first.rooms.invite
        joined = await b.join(room_id)
        assert isinstance(joined, JoinResponse), joined
        await b.sync(timeout=0)  # move bob's sync token past his own join

        sent = await a.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "hello bob"}
        )
        assert isinstance(sent, RoomSendResponse), sent

        # Long-poll until the message shows up (bounded, normally 1 round).
        received: RoomMessageText | None = None
        deadline = time.monotonic() + 10
        while received is None and time.monotonic() < deadline:
            resp = await b.sync(timeout=2000)
            assert isinstance(resp, SyncResponse), resp
            room = resp.rooms.join.get(room_id)
            for event in room.timeline.events if room else []:
                if isinstance(event, RoomMessageText) and event.body == "hello bob":
                    received = event
        assert received is not None, "bob never received alice's message"
        assert received.sender == alice.user_id
        assert received.event_id == sent.event_id
    finally:
        await a.close()
        await b.close()


async def test_stop_start_same_port_keeps_state(synapse: SynapseServer) -> None:
    carol = await synapse.register("carol", admin=True)
    room = await synapse.request(
        "POST", "/_matrix/client/v3/createRoom", {}, access_token=carol.access_token
    )
    port, data_dir = synapse.port, synapse.data_dir

    await synapse.stop()
    assert not synapse.running
    with pytest.raises(OSError):  # really down: connection refused
        await synapse.request("GET", "/_matrix/client/versions", http_timeout=2)

    await synapse.start()
    assert (synapse.port, synapse.data_dir) == (port, data_dir)
    # Same SQLite DB: the old token, the user and the room all survived.
    assert await synapse.whoami(carol.access_token) == carol.user_id
    rooms = await synapse.request(
        "GET", "/_matrix/client/v3/joined_rooms", access_token=carol.access_token
    )
    assert room["room_id"] in rooms["joined_rooms"]
    relogin = await synapse.login(carol)
    assert relogin.user_id == carol.user_id
    with pytest.raises(SynapseHTTPError) as bad:
        await synapse.whoami("syt_not_a_token")
    assert bad.value.status == 401
    assert bad.value.errcode == "M_UNKNOWN_TOKEN"


async def test_pause_resume(synapse: SynapseServer) -> None:
    dave = await synapse.register("dave")
    await synapse.pause()
    try:
        # Hung, not down: the TCP connect succeeds but nothing answers.
        with pytest.raises(OSError):
            await synapse.request("GET", "/_matrix/client/versions", http_timeout=0.5)
    finally:
        await synapse.resume()
    assert await asyncio.wait_for(synapse.whoami(dave.access_token), 10) == dave.user_id


async def test_nio_echo_bot_baseline(synapse: SynapseServer) -> None:
    from bench.nio_echo_bot import run_echo_bot

    echo = await synapse.register("echo")
    frank = await synapse.register("frank")
    stop = asyncio.Event()
    bot = asyncio.create_task(
        run_echo_bot(synapse.base_url, echo.user_id, echo.access_token, echo.device_id, stop)
    )
    f = nio_client(synapse, frank)
    try:
        created = await f.room_create(invite=[echo.user_id])
        assert isinstance(created, RoomCreateResponse), created
        await f.sync(timeout=0)
        # The bot joins on invite; send once it is in the room.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            members = await f.joined_members(created.room_id)
            if echo.user_id in {m.user_id for m in getattr(members, "members", [])}:
                break
            await asyncio.sleep(0.05)
        await f.room_send(created.room_id, "m.room.message", {"msgtype": "m.text", "body": "ping"})
        notice = None
        while notice is None and time.monotonic() < deadline:
            resp = await f.sync(timeout=2000)
            assert isinstance(resp, SyncResponse), resp
            room = resp.rooms.join.get(created.room_id)
            for event in room.timeline.events if room else []:
                if (
                    event.sender == echo.user_id
                    and event.source["content"].get("msgtype") == "m.notice"
                ):
                    notice = event
        assert notice is not None, "echo bot never answered"
        assert notice.source["content"]["body"] == "ping"
    finally:
        stop.set()
        await asyncio.wait_for(bot, 10)
        await f.close()
