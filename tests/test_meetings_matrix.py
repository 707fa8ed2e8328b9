"""Meetings over Matrix against a real Synapse: a steward schedules a meeting, and the reminder
and the start post arrive in the circle's room when the (fake) clock reaches them; the pulse
survey's question arrives by DM and a keycap reaction answers it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from tests.matrix_fixtures import bot_settings, members, start_bot, unique
from tests.synapse_server import SynapseServer, is_available

AVAILABLE = is_available()
pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason=AVAILABLE.reason),
    pytest.mark.asyncio(loop_scope="module"),
]


async def test_a_reminder_and_the_start_post_arrive_in_the_room(synapse: SynapseServer,
                                                                tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 12, 24, 15, tzinfo=UTC))
    bot_user = await synapse.register(unique("bot"))
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path), clock=clock)
    bot_id = bot_user.user_id
    try:
        async with members(synapse, tmp_path, unique("ana")) as (ana,):
            room = await ana.create_room([bot_id], encrypted=False)
            await ana.wait_member(room, bot_id)

            async def command(text: str) -> str:
                said = await ana.say(room, text)
                return (await ana.reply_to(said, bot_id)).body

            await command("!circle setup name:Harbour timezone:Europe/Lisbon")
            assert (await command("!meeting schedule once 2026-12-24 18:00 name:eve")
                    ).startswith("Scheduled eve: once 2026-12-24 18:00 (Europe/Lisbon).")
            clock.set(datetime(2026, 12, 24, 17, tzinfo=UTC))  # the 1-hour reminder is due
            await bot.core.fire_due()
            reminder = await ana.wait_for(
                lambda s: s.source.get("sender") == bot_id and s.room_id == room
                and "Reminder: Harbour · eve meets in an hour" in s.body,
                what="the reminder in the room")
            assert "Thu 24 Dec 18:00 (Europe/Lisbon)" in reminder.body
            clock.set(datetime(2026, 12, 24, 18, tzinfo=UTC))
            await bot.core.fire_due()
            start = await ana.wait_for(
                lambda s: s.source.get("sender") == bot_id and s.room_id == room
                and "the meeting starts now" in s.body, what="the start post")
            assert "Before you speak, THINK" in start.body
            assert "Round prompt:" in start.body
            # The pulse survey by DM: a keycap reaction answers, and the next question comes.
            await command("!survey open")
            asked = await ana.wait_for(
                lambda s: s.source.get("sender") == bot_id and s.room_id != room
                and "Question 1 of 5" in s.body, what="the survey's first question by DM")
            await ana.react(asked.room_id, asked.source["event_id"], "4\ufe0f\u20e3")
            noted = await ana.reply_to(asked.source["event_id"], bot_id)
            assert noted.body == "Noted, without your name. Thank you."
            await ana.wait_for(lambda s: s.source.get("sender") == bot_id
                               and s.room_id == asked.room_id and "Question 2 of 5" in s.body,
                               what="the second question")
    finally:
        await bot.halt()
