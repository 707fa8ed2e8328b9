"""Service roles over Matrix against a real Synapse: a steward (the room's admin) starts a
term, the room hears who serves, a holder offers a swap and the other accepts it with a ✅
reaction on the offer in their direct room."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.features.rotation.models import RotationRole, RotationSeat
from storage.models import Member as MemberRow
from storage.models import Person
from tests.matrix_fixtures import bot_settings, members, start_bot, unique
from tests.synapse_server import SynapseServer, is_available

AVAILABLE = is_available()
pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason=AVAILABLE.reason),
    pytest.mark.asyncio(loop_scope="module"),
]


async def test_a_term_starts_and_a_swap_is_accepted_by_reaction(synapse: SynapseServer,
                                                                tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    bot_id = bot_user.user_id
    try:
        names = [unique(n) for n in ("ana", "ben", "cy", "dee")]
        async with members(synapse, tmp_path, *names) as people:
            ana, *others = people
            room = await ana.create_room([bot_id, *(m.user_id for m in others)],
                                         encrypted=False)
            await ana.wait_member(room, bot_id)
            for m in others:
                await m.client.join(room)
                await ana.wait_member(room, m.user_id)

            async def command(who: object, text: str) -> str:
                said = await who.say(room, text)  # type: ignore[attr-defined]
                return (await who.reply_to(said, bot_id)).body  # type: ignore[attr-defined]

            await command(ana, "!circle setup name:Harbour timezone:Europe/Berlin")
            await command(ana, "!circle settings newcomer_days:0 period:1w")
            for m in others:
                assert "Welcome to Harbour" in await command(m, "!join")
            for role in ("greeter", "care lead", "repair team"):
                assert (await command(ana, f"!roles remove {role}")).startswith("Removed")
            # Four members, two roles: the two drawn next term are the two not serving now,
            # so the two serving now may swap.
            assert await command(ana, "!roles rotate") == (
                "A new term started now for 2 roles; the room has the holders.")
            post = await ana.wait_for(lambda s: s.source.get("sender") == bot_id
                                      and s.room_id == room
                                      and "A new term of service begins" in s.body,
                                      what="the new term's announcement")
            assert "steward" in post.body and "timekeeper" in post.body
            async with bot.core.db.transaction() as s:
                holders = dict((await s.execute(
                    select(RotationRole.name, Person.platform_user_id)
                    .join(RotationSeat, RotationSeat.role_id == RotationRole.id)
                    .join(MemberRow, MemberRow.id == RotationSeat.member_id)
                    .join(Person, Person.id == MemberRow.person_id)
                    .where(RotationSeat.state == "serving"))).all())
            by_id = {m.user_id: m for m in people}
            steward, keeper = by_id[holders["steward"]], by_id[holders["timekeeper"]]
            told = await keeper.wait_for(lambda s: s.source.get("sender") == bot_id
                                         and s.room_id != room and "You serve as timekeeper"
                                         in s.body, what="the new holder's DM")
            assert told.content["msgtype"] == "m.text"

            asked = await command(steward, f"!roles swap {keeper.user_id}")
            assert asked.startswith("Asked ") and "you would take timekeeper" in asked
            offer = await keeper.wait_for(lambda s: s.source.get("sender") == bot_id
                                          and "asks to swap roles" in s.body,
                                          what="the swap offer")
            assert offer.room_id == told.room_id  # the keeper's direct room with the bot
            commands = [a["command"] for a in offer.content["org.peercircle.actions"]]
            assert commands[0].startswith("roles swap accept ")
            await keeper.react(offer.room_id, offer.source["event_id"], "✅")
            answer = await keeper.reply_to(offer.source["event_id"], bot_id)
            assert answer.body.startswith("Swapped: steward is yours now")
            await ana.wait_for(lambda s: s.source.get("sender") == bot_id
                               and s.room_id == room and "swapped roles" in s.body,
                               what="the room told of the swap")
            async with bot.core.db.transaction() as s:
                after = dict((await s.execute(
                    select(RotationRole.name, Person.platform_user_id)
                    .join(RotationSeat, RotationSeat.role_id == RotationRole.id)
                    .join(MemberRow, MemberRow.id == RotationSeat.member_id)
                    .join(Person, Person.id == MemberRow.person_id)
                    .where(RotationSeat.state == "serving"))).all())
            assert after == {"steward": keeper.user_id, "timekeeper": steward.user_id}
    finally:
        await bot.halt()
