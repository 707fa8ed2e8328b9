"""Repair on a real Synapse: the requester is told who will hear it, `repair confirm` opens a
private encrypted room with exactly them, the member it is about gets nothing, and after the
close the note is in no table."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from storage.models import Base
from tests.matrix_fixtures import (
    bot_settings,
    encrypted_circle,
    members,
    start_bot,
    unique,
)
from tests.synapse_server import SynapseServer, is_available

AVAILABLE = is_available()
pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason=AVAILABLE.reason),
    pytest.mark.asyncio(loop_scope="module"),
]
NOTE = "what was said at the meeting hurt"


async def test_a_repair_room_holds_exactly_the_hearers(synapse: SynapseServer,
                                                      tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    me = bot_user.user_id
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    try:
        async with members(synapse, tmp_path, unique("ana"), unique("dave"),
                           unique("nina")) as (ana, dave, nina):
            room, dms = await encrypted_circle(ana, me, dave, nina)
            nina_dm = dms[nina.user_id]
            dave_seen = len(dave.seen)

            # No one holds the repair team role yet: the steward (ana) hears it; dave, whom
            # it is about, is left out.
            sent = await nina.say(nina_dm, f"repair request about:{dave.user_id} {NOTE}")
            answer = await nina.reply_to(sent, me)
            assert answer.body.startswith("Repair request #1 in Riverbend would be heard by: "
                                          f"{ana.user.user_id.split(':')[0][1:]}")
            assert NOTE not in answer.body
            sent = await nina.say(nina_dm, "repair confirm")
            done = await nina.reply_to(sent, me)
            assert done.body.startswith("Done:")
            note = await ana.wait_for(lambda s: s.source.get("sender") == me
                                      and s.body == f"In their words: {NOTE}",
                                      what="the note in the private room")
            private = note.room_id
            assert private not in (room, nina_dm) and note.event.decrypted
            seen = ana.client.rooms[private]
            assert seen.encrypted and seen.join_rule == "invite"
            await ana.wait_member(private, nina.user_id)
            invited = {s.source.get("state_key") for s in ana.seen
                       if s.room_id == private and s.source.get("type") == "m.room.member"}
            assert dave.user_id not in invited

            # Anyone convened may close it, from the private room too (the answer goes by DM).
            await ana.say(private, "!repair close")
            await ana.wait_for(lambda s: s.room_id == private and s.source.get("sender") == me
                               and "closed repair #1" in s.body, what="the closing post")
            # dave saw nothing of it: no invite, no message naming the request.
            assert not any(s.room_id == private or "epair" in s.body
                           for s in dave.seen[dave_seen:])
            async with bot.core.db.transaction() as s:
                for table in Base.metadata.sorted_tables:
                    rows = (await s.execute(text(f'SELECT * FROM "{table.name}"'))).all()
                    assert not any(NOTE in " ".join(str(v) for v in row) for row in rows), \
                        table.name
    finally:
        await bot.halt()
