"""The outbox's view of Matrix: one Outgoing row in, one event (or a DeliveryError) out."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from adapters.matrix.formatting import edit_content, message_content
from adapters.matrix.pacing import PRIORITY_NORMAL, PRIORITY_URGENT, SendFailed
from bot.outbox import DeliveryError, Outgoing

if TYPE_CHECKING:
    from adapters.matrix.adapter import MatrixAdapter

READY_WAIT = 10.0
SEND_ATTEMPTS = 6  # then the outbox takes over the retrying, with its own backoff
ACTIONS_KEY = "org.peercircle.actions"  # lets any client offer a message's actions as buttons


def msgtype_for(message: Outgoing) -> str:
    # Direct messages are m.text so they notify (default push rules mute m.notice), which a
    # page at 4am must, and so are posts in a private room opened for a few members; circle
    # room posts are ambient notices.
    return "m.text" if message.kind in ("dm", "room") else "m.notice"


class MatrixDeliverer:
    platform = "matrix"

    def __init__(self, adapter: MatrixAdapter) -> None:
        self.adapter = adapter

    async def deliver(self, message: Outgoing) -> str | None:
        from adapters.matrix.adapter import txn_id

        adapter = self.adapter
        try:
            await asyncio.wait_for(adapter.ready.wait(), timeout=READY_WAIT)
        except TimeoutError:
            raise DeliveryError("matrix is not connected yet", retry_after=5) from None
        try:
            room_id, content = await self._target_and_content(message)
        except SendFailed as exc:  # no direct room could be opened with the member
            raise DeliveryError(exc.reason, permanent=exc.permanent,
                                dm_closed=exc.permanent and message.kind == "dm") from None
        priority = PRIORITY_URGENT if message.priority == 0 else PRIORITY_NORMAL
        try:
            event_id = await adapter.send_event(room_id, content,
                                                txn=txn_id("out", message.key),
                                                priority=priority, label=f"outbox {message.id}",
                                                max_attempts=SEND_ATTEMPTS)
            for n, attachment in enumerate(message.attachments):
                # After the text, each with its own transaction id: a retry is not a double.
                await adapter.send_attachment(room_id, attachment,
                                              txn=txn_id(f"out{n}", message.key),
                                              priority=priority)
            return event_id
        except SendFailed as exc:
            raise DeliveryError(exc.reason, retry_after=exc.retry_after,
                                permanent=exc.permanent) from None

    async def _target_and_content(self, message: Outgoing) -> tuple[str, dict[str, Any]]:
        dms, rooms = self.adapter.dms, self.adapter.rooms
        assert dms is not None and rooms is not None
        if message.kind == "post":
            if not message.room_id:
                raise SendFailed("a room post without a room", permanent=True)
            room_id, content = message.room_id, message_content(message.text)
        elif message.kind == "dm":
            if not message.user_id:
                raise SendFailed("a direct message without a user", permanent=True)
            room_id = await dms.room_for(message.user_id)
            content = message_content(message.text, msgtype="m.text")
        elif message.kind == "room":
            room_id = await self._private_room(message)
            content = message_content(message.text, msgtype="m.text")
        elif message.kind == "edit":
            target = message.edit_target
            if target is None or not target.platform_message_id:
                raise SendFailed("the edited message has no Matrix event", permanent=True)
            if target.kind == "dm":
                assert target.user_id is not None
                room_id = await dms.room_for(target.user_id)
            elif target.kind == "room":
                room_id = await self._private_room(target)
            else:
                assert target.room_id is not None
                room_id = target.room_id
            content = edit_content(target.platform_message_id, message.text,
                                   msgtype=msgtype_for(target))
        else:
            raise SendFailed(f"unknown outbox kind {message.kind}", permanent=True)
        if message.actions:
            content[ACTIONS_KEY] = [{"id": a.id, "command": a.line(), "emoji": a.emoji}
                                    for a in message.actions]
        return room_id, content

    async def _private_room(self, message: Outgoing) -> str:
        rooms = self.adapter.rooms
        assert rooms is not None
        if not message.room_label or not message.room_members:
            raise SendFailed("a private room post without a label or members", permanent=True)
        return await rooms.room_for(message.room_label, list(message.room_members),
                                    message.room_name)
