"""A ✅ or ❌ reaction on a lifeline page, as the command the member would have typed.

The page's outbox row (found by the event id the reaction names) carries the request id in its
meta; only the member the page was sent to can answer it.
"""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.models import OutboxMessage

PLATFORM = "matrix"
ACTIONS: dict[str, str] = {"✅": "ack", "✔": "ack", "❌": "decline", "✖": "decline"}


def action_for(key: str) -> str | None:
    # Clients differ in whether they add the emoji variation selector (U+FE0F).
    return ACTIONS.get(key.replace("\ufe0f", "").strip())


async def page_command(db: Database, reacted_event_id: str, reactor: str,
                       key: str) -> str | None:
    """The command line (`ack 42`) a reaction stands for, or None when it is not an answer to a
    page sent to this member."""
    action = action_for(key)
    if action is None:
        return None
    async with db.transaction() as s:
        row = (await s.execute(
            select(OutboxMessage).where(OutboxMessage.platform == PLATFORM,
                                        OutboxMessage.platform_message_id == reacted_event_id)
        )).scalars().first()
    if row is None:
        return None
    meta = row.meta or {}
    request = meta.get("lifeline_request")
    if request is None or row.user_id != reactor:
        return None
    allowed = meta.get("actions")
    if isinstance(allowed, list) and action not in allowed:
        return None
    return f"{action} {request}"
