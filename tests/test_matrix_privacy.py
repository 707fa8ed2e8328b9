"""Private words typed in a Matrix circle room never reach the room: on a real Synapse, in an
unencrypted room where the bot may redact (power level 50), as another member sees it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.matrix_fixtures import (
    Seen,
    bot_settings,
    marker,
    members,
    outbox_sent,
    start_bot,
    unique,
)
from tests.synapse_server import SynapseServer, is_available

AVAILABLE = is_available()
pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason=AVAILABLE.reason),
    pytest.mark.asyncio(loop_scope="module"),
]

# What the member meant to keep to themself, each word as typed.
PRIVATE_WORDS = ("couldn't sleep", "panic again", "SECRET", "zebrafinch")
LONG_NOTE = "zebrafinch " + "sleepless " * 110  # over the note's 1000-character limit


def leaks(data: Any) -> list[str]:
    """The private words in an event (any field: body, formatted_body, an edit's new
    content, what a redaction left behind)."""
    text = json.dumps(data, ensure_ascii=False)
    return [w for w in PRIVATE_WORDS if w in text]


async def test_private_words_typed_in_the_room_stay_out_of_it(synapse: SynapseServer,
                                                              tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    me = bot_user.user_id
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    try:
        async with members(synapse, tmp_path, unique("ana"), unique("ben")) as (ana, ben):
            room = await ana.create_room([me, ben.user_id], encrypted=False,
                                         bot_level=(me, 50))
            await ana.wait_member(room, me)
            await ben.client.join(room)
            await ana.wait_member(room, ben.user_id)
            for member, line in ((ana, "!circle setup name:Riverbend timezone:Europe/Berlin"),
                                 (ben, "!join")):
                await member.reply_to(await member.say(room, line), me)
            ben_dm = (await ben.wait_for(lambda s: s.source.get("sender") == me
                                         and "pact" in s.body.lower(),
                                         what="the welcome DM")).room_id
            assert ben_dm != room

            # Each command typed in the circle room, and how its answer begins in the DM.
            typed: dict[str, Callable[[str], bool]] = {
                "!checkin 2 private couldn't sleep, panic again":
                    lambda body: body.startswith("Checked in privately"),
                "!checkins":
                    lambda body: body.startswith("Check-ins in Riverbend today")
                    and "couldn't sleep, panic again" in body,
                "!checkin 7 SECRET visibility:private":
                    lambda body: body.startswith("mood 7 is out of range"),
                f"!checkin 3 {LONG_NOTE}":
                    lambda body: body.startswith("note is ")
                    and body.endswith("characters; the limit is 1000."),
            }
            commands: list[str] = []
            for line, answered in typed.items():
                event_id = await ben.say(room, line)
                commands.append(event_id)
                answer = await ben.wait_for(
                    lambda s, answered=answered: s.source.get("sender") == me
                    and s.source.get("type") == "m.room.message" and answered(s.body),
                    what=f"the answer to {line[:30]!r}")
                assert answer.room_id == ben_dm, line[:30]
                # The bot could redact, so it does not say the room saw it.
                assert "room saw" not in answer.body
                await ana.wait_for(lambda s, e=event_id: s.source.get("type") == "m.room.redaction"
                                   and s.source.get("redacts") == e,
                    what=f"the redaction of {line[:30]!r}")

            # Whatever the bot said (replies, and room posts from the outbox) is in before a
            # marker's answer: the checks below see all of it.
            await outbox_sent(bot.core)
            await marker(ana, room, me, seen_by=[ben])

            said: list[Seen] = ana.from_user(me, room)
            assert said, "the bot said nothing in the room"
            assert [(s.body[:60], leaks(s.content)) for s in said if leaks(s.content)] == []
            replied = [s for s in said if s.content.get("m.relates_to", {}).get(
                "m.in_reply_to", {}).get("event_id") in commands]
            assert replied == []
            # Nothing about the private check-in was posted ("someone checked in" included).
            assert not [s for s in said if "checked in" in s.body]

            # The room as a member loading it now sees it: every event, the commands
            # redacted down to nothing.
            path = (f"/_matrix/client/v3/rooms/{quote(room, safe='')}/messages"
                    "?dir=b&limit=500")
            page = await synapse.request("GET", path, access_token=ana.user.access_token)
            events = page["chunk"]
            assert {e["event_id"] for e in events} >= set(commands)
            assert [(e["type"], leaks(e)) for e in events if leaks(e)] == []
            for e in events:
                if e["event_id"] in commands:
                    assert "redacted_because" in e.get("unsigned", {}), e
                    assert not e.get("content"), e
    finally:
        await bot.halt()
