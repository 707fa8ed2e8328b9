"""The Matrix adapter against a real Synapse, with real nio clients as members."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from adapters.matrix import MatrixAdapter, TokenRevokedError
from bot.refs import Place, Reply, UserRef
from storage.models import Checkin, OutboxMessage, Person, ProcessedEvent
from tests.matrix_fixtures import bot_settings, members, start_bot
from tests.synapse_server import SynapseServer, is_available

AVAILABLE = is_available()
pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason=AVAILABLE.reason),
    pytest.mark.asyncio(loop_scope="module"),
]
_n = itertools.count()


def unique(name: str) -> str:
    return f"{name}{next(_n)}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def synapse() -> AsyncIterator[SynapseServer]:
    async with SynapseServer() as server:
        yield server


def no_quote(seen_body: str, typed: str) -> bool:
    return typed not in seen_body and not seen_body.startswith(">")


async def circle_flow(synapse: SynapseServer, tmp_path: Path, *, encrypted: bool) -> None:
    bot_user = await synapse.register(unique("bot"))
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    try:
        async with members(synapse, tmp_path, unique("ana"), unique("ben")) as (ana, ben):
            level = (bot_user.user_id, 50) if not encrypted else None
            room = await ana.create_room([bot_user.user_id, ben.user_id], encrypted=encrypted,
                                         bot_level=level)
            await ana.wait_member(room, bot_user.user_id)
            await ben.client.join(room)
            await ana.wait_member(room, ben.user_id)

            setup = await ana.say(room, "!circle setup name:Riverbend timezone:Europe/Berlin")
            r = await ana.reply_to(setup, bot_user.user_id)
            assert r.content["msgtype"] == "m.notice"
            assert "Riverbend is set up" in r.body
            assert no_quote(r.body, "circle setup")
            assert "<blockquote>" not in r.content.get("formatted_body", "")
            if encrypted:
                assert r.event.decrypted, "the reply in an encrypted room was not encrypted"

            join = await ben.say(room, "/join")
            r = await ben.reply_to(join, bot_user.user_id)
            assert "Welcome to Riverbend" in r.body
            # The onboarding DM arrives in ben's direct room with the bot (encrypted).
            dm = await ben.wait_for(lambda s: s.source.get("sender") == bot_user.user_id
                                    and s.room_id != room and "pact" in s.body.lower(),
                                    what="the onboarding DM")
            assert dm.event.decrypted
            async with bot.core.db.transaction() as s:
                tracked = (await s.execute(select(Person.dm_room_id).where(
                    Person.platform_user_id == ben.user_id))).scalar_one()
            assert tracked == dm.room_id

            ci = await ben.say(room, "!checkin 4 slept well")
            r = await ben.reply_to(ci, bot_user.user_id)
            assert "Checked in" in r.body and no_quote(r.body, "slept well")
            post = await ana.wait_for(lambda s: s.source.get("sender") == bot_user.user_id
                                      and "checked in" in s.body and "slept well" in s.body,
                                      what="the room post of ben's check-in")
            assert post.room_id == room
            assert "m.relates_to" not in post.content  # other posts are not replies

            # A private check-in typed in the room: answered in the DM, never posted.
            secret = "cannot sleep again tonight"
            private = await ben.say(room, f"!checkin 2 {secret} visibility:private")
            answer = await ben.wait_for(lambda s: s.source.get("sender") == bot_user.user_id
                                        and s.room_id == dm.room_id and "privately" in s.body,
                                        what="the private check-in answer in the DM")
            if encrypted:
                # The bot has no power to redact here: it says the room saw it.
                assert "room saw" in answer.body
            else:
                await ana.wait_for(lambda s: s.source.get("type") == "m.room.redaction"
                                   and s.source.get("redacts") == private,
                                   what="the redaction of the private check-in")
                assert "room saw" not in answer.body
            assert not [s for s in ana.from_user(bot_user.user_id, room) if secret in s.body
                        or s.content.get("m.relates_to", {}).get("m.in_reply_to", {}).get(
                            "event_id") == private]

            # Each command got exactly one reply.
            for cmd in (setup, join, ci):
                replies = [s for s in ana.from_user(bot_user.user_id, room)
                           if s.content.get("m.relates_to", {}).get("m.in_reply_to", {})
                           .get("event_id") == cmd]
                assert len(replies) == 1
    finally:
        await bot.halt()


async def test_commands_in_unencrypted_room(synapse: SynapseServer, tmp_path: Path) -> None:
    await circle_flow(synapse, tmp_path, encrypted=False)


async def test_commands_in_encrypted_room(synapse: SynapseServer, tmp_path: Path) -> None:
    await circle_flow(synapse, tmp_path, encrypted=True)


async def count(bot_core: Any, model: Any) -> int:
    async with bot_core.db.transaction() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_crash_between_commit_and_reply_is_handled_once(synapse: SynapseServer,
                                                             tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    settings = bot_settings(synapse, bot_user, tmp_path)
    bot = await start_bot(settings)
    async with members(synapse, tmp_path, unique("cai")) as (cai,):
        room = await cai.create_room([bot_user.user_id], encrypted=True)
        await cai.wait_member(room, bot_user.user_id)
        setup = await cai.say(room, "!circle setup name:Harbour timezone:Europe/Berlin")
        await cai.reply_to(setup, bot_user.user_id)
        await bot.halt()

        # The core commits, then the process dies before the reply goes out.
        reached = asyncio.Event()

        def crash_before_reply(adapter: MatrixAdapter) -> None:
            async def hang(*_args: Any, **_kw: Any) -> None:
                reached.set()
                await asyncio.Event().wait()
            adapter._send_reply = hang  # type: ignore[method-assign]

        bot = await start_bot(settings, patch=crash_before_reply)
        ci = await cai.say(room, "!checkin 3 restarting is scary")
        await asyncio.wait_for(reached.wait(), 15)
        assert await count(bot.core, Checkin) == 1
        await bot.halt()
        assert not [s for s in cai.from_user(bot_user.user_id, room) if s.content.get(
            "m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == ci]

        # Started again: the event comes back, the core answers from its record, one reply.
        bot = await start_bot(settings)
        reply = await cai.reply_to(ci, bot_user.user_id)
        assert "Checked in" in reply.body
        await asyncio.sleep(1.0)
        replies = [s for s in cai.from_user(bot_user.user_id, room) if s.content.get(
            "m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == ci]
        assert len(replies) == 1
        assert await count(bot.core, Checkin) == 1
        handled = await count(bot.core, ProcessedEvent)
        await bot.halt()

        # A restart with nothing new replays nothing.
        seen_before = len(cai.from_user(bot_user.user_id))
        bot = await start_bot(settings)
        await asyncio.sleep(1.0)  # the first sync ran in start_bot; give a replay time to show
        assert len(cai.from_user(bot_user.user_id)) == seen_before
        assert await count(bot.core, ProcessedEvent) == handled
        await bot.halt()


async def test_reconnects_after_homeserver_outage(synapse: SynapseServer,
                                                 tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    try:
        async with members(synapse, tmp_path, unique("dee")) as (dee,):
            room = await dee.create_room([bot_user.user_id], encrypted=False)
            await dee.wait_member(room, bot_user.user_id)
            # Shortened from 20 s: the backoff is the same code, with a 0.3 s base here.
            await synapse.stop()
            await asyncio.sleep(4)
            await synapse.start()
            sent = await dee.say(room, "!think")
            reply = await dee.reply_to(sent, bot_user.user_id, within=20)
            assert "THINK" in reply.body.upper()
    finally:
        await bot.halt()


async def test_reaction_on_page_invokes_answer_and_edit_replaces(synapse: SynapseServer,
                                                                 tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    calls: list[tuple[str, UserRef, Place]] = []
    original = bot.adapter.invoke

    async def spy(line: str, actor: UserRef, place: Place, event_id: str,
                  when: datetime | None) -> Reply:
        calls.append((line, actor, place))
        return await original(line, actor, place, event_id, when)

    bot.adapter.invoke = spy  # type: ignore[method-assign]
    try:
        async with members(synapse, tmp_path, unique("eve")) as (eve,):
            now = datetime.now(UTC)
            async with bot.core.db.transaction() as s:
                s.add(OutboxMessage(
                    key="test:page", platform="matrix", kind="dm", user_id=eve.user_id,
                    text="**Someone** in Harbour would like a call", priority=0,
                    meta={"lifeline_request": 42, "actions": ["ack", "decline"]},
                    created_at=now, next_attempt_at=now, attempts=0))
            page = await eve.wait_for(lambda s: "would like a call" in s.body,
                                      what="the page")
            assert page.event.decrypted and page.content["msgtype"] == "m.text"
            assert page.content["org.peercircle.lifeline_request"] == 42
            assert "<strong>Someone</strong>" in page.content["formatted_body"]
            await eve.react(page.room_id, page.source["event_id"], "✅")
            answer = await eve.reply_to(page.source["event_id"], bot_user.user_id)
            assert answer.room_id == page.room_id
            assert calls and calls[-1][0] == "ack 42"
            assert calls[-1][1].id == eve.user_id and calls[-1][2].is_direct

            async with bot.core.db.transaction() as s:
                s.add(OutboxMessage(
                    key="test:covered", platform="matrix", kind="edit", edit_of="test:page",
                    text="someone's on it, thank you", priority=0, meta={},
                    created_at=now, next_attempt_at=now, attempts=0))
            edit = await eve.wait_for(lambda s: s.content.get("m.relates_to", {}).get(
                "rel_type") == "m.replace", what="the covered edit")
            assert edit.content["m.relates_to"]["event_id"] == page.source["event_id"]
            assert edit.content["m.new_content"]["body"] == "someone's on it, thank you"
    finally:
        await bot.halt()


async def test_invites_only_from_allowed_inviters(synapse: SynapseServer,
                                                  tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    async with members(synapse, tmp_path, unique("fay"), unique("gus")) as (fay, gus):
        bot = await start_bot(bot_settings(synapse, bot_user, tmp_path,
                                           allowed_inviters=[fay.user_id]))
        try:
            ok = await fay.create_room([bot_user.user_id], encrypted=False)
            no = await gus.create_room([bot_user.user_id], encrypted=False)
            await fay.wait_member(ok, bot_user.user_id)
            await asyncio.sleep(1.0)
            assert no not in bot.adapter.client.rooms  # type: ignore[union-attr]
        finally:
            await bot.halt()


async def test_history_before_join_is_ignored(synapse: SynapseServer, tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    async with members(synapse, tmp_path, unique("hal")) as (hal,):
        room = await hal.create_room([], encrypted=False)
        old = await hal.say(room, "!think")
        bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
        try:
            await hal.client.room_invite(room, bot_user.user_id)
            await hal.wait_member(room, bot_user.user_id)
            new = await hal.say(room, "!think")
            await hal.reply_to(new, bot_user.user_id)
            assert not [s for s in hal.from_user(bot_user.user_id) if s.content.get(
                "m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == old]
        finally:
            await bot.halt()


async def test_revoked_token_stops_with_clear_message(synapse: SynapseServer,
                                                      tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    await synapse.request("POST", "/_matrix/client/v3/logout", {},
                          access_token=bot_user.access_token)
    with pytest.raises(TokenRevokedError) as stopped:
        await asyncio.wait_for(bot.task, 40)
    assert "peercircle matrix login" in str(stopped.value)
    assert bot.stop.is_set()
    await bot.core.db.dispose()


async def test_matrix_login_exchanges_password_for_fixed_device(synapse: SynapseServer) -> None:
    from adapters.matrix.client import password_login

    user = await synapse.register(unique("loginbot"))
    resp = await password_login(synapse.base_url, user.user_id, user.password, "PEERCIRCLE01")
    assert resp.device_id == "PEERCIRCLE01"
    assert await synapse.whoami(resp.access_token) == user.user_id
