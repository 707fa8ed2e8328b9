"""Minimal matrix-nio echo bot: the baseline the peercircle bot is benchmarked against.

It joins every room it is invited to and answers each m.text with an m.notice
carrying the same body. Deliberately idiomatic nio (callbacks + sync_forever,
one reply at a time, nio's built-in 429 retry) so the comparison is fair.

    python bench/nio_echo_bot.py --homeserver http://127.0.0.1:8008 \\
        --user-id @echo:localhost --access-token syt_... --device-id ECHO
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    MatrixRoom,
    RoomMessageText,
    SyncError,
)


async def run_echo_bot(
    homeserver: str,
    user_id: str,
    access_token: str,
    device_id: str,
    stop_event: asyncio.Event,
) -> None:
    """Echo until stop_event is set; raises if the initial sync fails."""
    # No E2EE: the benchmark measures plain message round trips.
    client = AsyncClient(
        homeserver,
        user_id,
        device_id=device_id,
        config=AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False),
    )
    client.restore_login(user_id, device_id, access_token)

    async def on_message(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == user_id:
            return  # m.notice replies are not m.text, but be safe anyway
        await client.room_send(
            room.room_id, "m.room.message", {"msgtype": "m.notice", "body": event.body}
        )

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == user_id and event.membership == "invite":
            await client.join(room.room_id)

    try:
        # Catch up first so history from before startup is not echoed.
        first = await client.sync(timeout=0, full_state=True)
        if isinstance(first, SyncError):
            raise RuntimeError(f"initial sync failed: {first.message}")
        for room_id in list(client.invited_rooms):
            await client.join(room_id)
        client.add_event_callback(on_message, RoomMessageText)  # type: ignore[arg-type]
        client.add_event_callback(on_invite, InviteMemberEvent)  # type: ignore[arg-type]

        sync_task = asyncio.create_task(client.sync_forever(timeout=30_000))
        stop_task = asyncio.create_task(stop_event.wait())
        await asyncio.wait({sync_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        for task in (sync_task, stop_task):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sync_task  # surfaces a crash of the sync loop, if any
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--user-id", required=True)
    parser.add_argument("--access-token", required=True)
    parser.add_argument("--device-id", required=True)
    args = parser.parse_args()

    async def _run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_echo_bot(args.homeserver, args.user_id, args.access_token, args.device_id, stop)

    asyncio.run(_run())


if __name__ == "__main__":
    main()
