"""Mentorship on a real Synapse: the request reaches a candidate as an encrypted DM with ✅/❌,
a ✅ reaction accepts, and a private encrypted room opens with both members invited."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import AdapterState
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


async def test_a_reaction_accepts_and_a_private_room_opens(synapse: SynapseServer,
                                                           tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    me = bot_user.user_id
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    try:
        async with members(synapse, tmp_path, unique("ana"), unique("dave"),
                           unique("nina")) as (ana, dave, nina):
            room, dms = await encrypted_circle(ana, me, dave, nina)
            dave_dm, nina_dm = dms[dave.user_id], dms[nina.user_id]

            sent = await dave.say(dave_dm, "mentor offer spanish")
            await dave.reply_to(sent, me)
            sent = await nina.say(nina_dm, "mentor request spanish new in town")
            answer = await nina.reply_to(sent, me)
            assert answer.room_id == nina_dm and answer.body.startswith("Request #1 is open")

            # The ask: an encrypted DM with the two actions as ✅/❌, and no name.
            ask = await dave.wait_for(lambda s: s.room_id == dave_dm and s.source.get(
                "sender") == me and s.body.startswith("Mentor request #1 from Riverbend"),
                what="the mentor ask")
            assert ask.event.decrypted and ask.content["msgtype"] == "m.text"
            assert [(a["command"], a["emoji"]) for a in ask.content["org.peercircle.actions"]
                    ] == [("mentor accept 1", "✅"), ("mentor pass 1", "❌")]
            assert "“new in town”" in ask.body
            assert nina.user_id not in ask.body and nina.user.user_id.split(":")[0][1:] \
                not in ask.body

            await dave.react(dave_dm, ask.source["event_id"], "✅")
            took = await dave.reply_to(ask.source["event_id"], me)
            assert took.room_id == dave_dm
            assert took.body.startswith("Thank you for saying yes to request #1")

            # Both are introduced by DM, and a private room opens with both of them invited.
            intro = await nina.wait_for(lambda s: s.room_id == nina_dm and s.source.get(
                "sender") == me and "said yes to being your mentor" in s.body,
                what="the introduction")
            assert dave.user_id in intro.body
            hellos = []
            for member in (nina, dave):
                hellos.append(await member.wait_for(
                    lambda s: s.source.get("sender") == me and "A private room for" in s.body,
                    what="the private room's first message"))
            private = hellos[0].room_id
            assert hellos[1].room_id == private
            assert private not in (room, nina_dm, dave_dm)
            assert all(h.event.decrypted for h in hellos)
            seen = nina.client.rooms[private]
            assert seen.encrypted and seen.join_rule == "invite"
            # The bot created it and invited both (they joined from the invite).
            memberships = [(s.source.get("sender"), s.source.get("state_key"),
                            s.content.get("membership")) for s in nina.seen
                           if s.room_id == private and s.source.get("type") == "m.room.member"]
            assert (me, nina.user_id, "invite") in memberships
            assert (me, dave.user_id, "invite") in memberships
            await nina.wait_member(private, dave.user_id)
            assert set(seen.users) == {me, nina.user_id, dave.user_id}
            # Remembered, so later posts (and posts after a restart) go to the same room.
            async with bot.core.db.transaction() as s:
                stored = (await s.execute(select(AdapterState.value).where(
                    AdapterState.platform == "matrix", AdapterState.key.startswith("room:"))
                )).scalars().all()
            assert len(stored) == 1 and private in stored[0]
    finally:
        await bot.halt()
