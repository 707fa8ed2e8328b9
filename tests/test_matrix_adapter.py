"""The Matrix adapter against a real Synapse, with real nio clients as members."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
from nio import (
    DownloadResponse,
    RoomEncryptedImage,
    RoomKeyRequest,
    RoomMessageImage,
    ToDeviceMessage,
    ToDeviceResponse,
)
from nio.crypto import OlmDevice
from nio.crypto.attachments import decrypt_attachment
from sqlalchemy import func, select

from adapters.matrix import MatrixAdapter, MatrixStartError, TokenRevokedError
from adapters.matrix.adapter import txn_id
from adapters.matrix.undecryptable import (
    PendingEvent,
    SessionMark,
    UndecryptableStore,
    session_key,
)
from bot.answer import Answer
from bot.app import open_core
from bot.clock import FakeClock, SystemClock
from bot.config import Settings
from bot.features.checkins.models import Checkin
from bot.features.lifeline.requests import page_actions
from bot.refs import Invocation, Place, UserRef
from storage.models import AdapterState, OutboxMessage, Person, ProcessedEvent
from tests.matrix_fixtures import (
    Bot,
    Member,
    Seen,
    bot_settings,
    html_view,
    marker,
    members,
    outbox_sent,
    start_bot,
    unique,
)
from tests.synapse_server import RegisteredUser, SynapseServer, is_available

AVAILABLE = is_available()
pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason=AVAILABLE.reason),
    pytest.mark.asyncio(loop_scope="module"),
]



def no_quote(seen_body: str, typed: str) -> bool:
    return typed not in seen_body and not seen_body.startswith(">")


def replies_to(seen: Seen, event_id: str) -> bool:
    return seen.content.get("m.relates_to", {}).get("m.in_reply_to", {}).get(
        "event_id") == event_id


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
            # What the bot said in the room (replies, and posts from the outbox) is in before a
            # marker's answer: the checks below see all of it.
            await outbox_sent(bot.core)
            await marker(ana, room, bot_user.user_id)
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


async def test_member_words_reach_the_room_as_typed(synapse: SynapseServer,
                                                   tmp_path: Path) -> None:
    """A markdown link in a check-in note and HTML and a code span in a display name are shown
    in the room post exactly as typed: no link, no element, no attribute from a member."""
    bot_user = await synapse.register(unique("bot"))
    me = bot_user.user_id
    note = "[Samaritans 116 123](https://evil.example/x)"
    name = 'Lou`"onmouseover="alert(1)` <b>Sam</b>'
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    try:
        async with members(synapse, tmp_path, unique("kit"), unique("lou")) as (kit, lou):
            await lou.client.set_displayname(name)
            room = await kit.create_room([me, lou.user_id], encrypted=True)
            await kit.wait_member(room, me)
            await lou.client.join(room)
            await kit.wait_member(room, lou.user_id)
            setup = await kit.say(room, "!circle setup name:Riverbend timezone:Europe/Berlin")
            await kit.reply_to(setup, me)
            join = await lou.say(room, "!join")
            await lou.reply_to(join, me)

            checkin = await lou.say(room, f"!checkin 2 {note}")
            await lou.reply_to(checkin, me)
            post = await kit.wait_for(lambda s: s.source.get("sender") == me and s.room_id == room
                                      and "checked in" in s.body, what="the check-in post")
            assert post.body == f"{name} checked in: 2/5 — {note}", post.body
            formatted = post.content["formatted_body"]
            assert "<a" not in formatted and "href" not in formatted, formatted
            view = html_view(formatted)
            assert view.text == post.body
            assert not view.tags and not view.attrs, formatted
    finally:
        await bot.halt()


async def count(bot_core: Any, model: Any) -> int:
    async with bot_core.db.transaction() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_crash_between_commit_and_reply_is_handled_once(synapse: SynapseServer,
                                                             tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    me = bot_user.user_id
    settings = bot_settings(synapse, bot_user, tmp_path)
    started: list[Bot] = []
    invoked: list[tuple[str, bool]] = []  # (event id, answered from the core's record)

    def spy_on_invoke(adapter: MatrixAdapter) -> None:
        invoke = adapter.invoke

        async def spied(line: str, actor: UserRef, place: Place, event_id: str,
                        when: datetime | None) -> Answer:
            reply = await invoke(line, actor, place, event_id, when)
            invoked.append((event_id, reply.replayed))
            return reply
        adapter.invoke = spied  # type: ignore[method-assign]

    async def start(patch: Callable[[MatrixAdapter], None] = spy_on_invoke) -> Bot:
        bot = await start_bot(settings, patch=patch)
        started.append(bot)
        return bot

    try:
        async with members(synapse, tmp_path, unique("cai")) as (cai,):
            bot = await start()
            room = await cai.create_room([me], encrypted=True)
            await cai.wait_member(room, me)
            setup = await cai.say(room, "!circle setup name:Harbour timezone:Europe/Berlin")
            await cai.reply_to(setup, me)
            await bot.halt()

            # The core commits, then the process dies before the reply goes out. Only the
            # check-in's reply hangs: an earlier event replayed at start (the setup, when its
            # sync token was not stored before the halt) is answered as usual.
            target: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            reached = asyncio.Event()

            def crash_before_reply(adapter: MatrixAdapter) -> None:
                send_reply = adapter._send_reply

                async def hang_on_target(room_id: str, event_id: str, *args: Any,
                                         **kw: Any) -> None:
                    # Waits for the id: the bot may see the event before say() returns it.
                    if event_id == await asyncio.shield(target):
                        reached.set()
                        await asyncio.Event().wait()  # cancelled by the halt below
                    await send_reply(room_id, event_id, *args, **kw)
                adapter._send_reply = hang_on_target  # type: ignore[method-assign]

            bot = await start(crash_before_reply)
            ci = await cai.say(room, "!checkin 3 restarting is scary")
            target.set_result(ci)
            await asyncio.wait_for(reached.wait(), 15)
            assert await count(bot.core, Checkin) == 1
            await bot.halt()
            assert not [s for s in cai.from_user(me, room) if replies_to(s, ci)]

            # Started again: the event comes back, the core answers from its record, one reply.
            invoked.clear()
            bot = await start()
            reply = await cai.reply_to(ci, me)
            assert "Checked in" in reply.body
            await marker(cai, room, me)
            assert len([s for s in cai.from_user(me, room) if replies_to(s, ci)]) == 1
            assert (ci, True) in invoked and [e for e, _ in invoked].count(ci) == 1
            assert await count(bot.core, Checkin) == 1
            handled = await count(bot.core, ProcessedEvent)
            await bot.settled()  # a clean stop: what was handled is not handled again
            await bot.halt()

            # A restart with nothing new replays nothing: the marker is the only event handled.
            seen_before = len(cai.from_user(me, room))
            invoked.clear()
            bot = await start()
            answer = await marker(cai, room, me)
            assert invoked == [(answer.content["m.relates_to"]["m.in_reply_to"]["event_id"],
                                False)]
            # (The room posts are left out: the outbox sends them on its own time, and one a
            # halted bot had leased waits out its lease.)
            new_replies = [s for s in cai.from_user(me, room)[seen_before:]
                           if "m.in_reply_to" in s.content.get("m.relates_to", {})]
            assert new_replies == [answer], cai.describe()
            assert await count(bot.core, ProcessedEvent) == handled + 1
    finally:
        for bot in started:
            await bot.halt()


OUTAGE = 20.0  # seconds Synapse is down, as the issue asks
PINNED_JITTER = 0.75  # random.random() in the backoff: each delay is 0.875 of its nominal value


async def test_reconnects_after_homeserver_outage(synapse: SynapseServer, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """Synapse down for the full 20 s, with the production backoff (2 s base, 5 min cap). The
    jitter is pinned so the run is deterministic: unpinned, the reconnect lands anywhere from
    ~22 s to ~53 s after the stop (median ~26 s); pinned at 0.875 of nominal the retries fall at
    1.75, 5.25, 12.25 and 26.25 s, the last one after Synapse is back."""
    from adapters.matrix import client as client_module

    monkeypatch.setattr(client_module, "random", SimpleNamespace(random=lambda: PINNED_JITTER))
    caplog.set_level(logging.INFO, logger="adapters.matrix.adapter")
    bot_user = await synapse.register(unique("bot"))
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path),
                          reconnect_base=2.0, reconnect_max=300.0)
    me = bot_user.user_id
    try:
        async with members(synapse, tmp_path, unique("dee")) as (dee,):
            room = await dee.create_room([me], encrypted=True)
            await dee.wait_member(room, me)
            before = await dee.say(room, "!think")
            await dee.reply_to(before, me)

            loop = asyncio.get_running_loop()
            down_at = loop.time()
            await synapse.stop()
            await asyncio.sleep(1.0)
            # The member's client queues a command while the server is down (nio retries the
            # send until the server answers again).
            queued = asyncio.create_task(dee.say(room, "!step 1"))
            await asyncio.sleep(OUTAGE - (loop.time() - down_at))
            assert not queued.done()
            assert synapse.running is False
            await synapse.start()
            up_at = loop.time()
            after = await dee.say(room, "!think")  # right after the restart
            reply = await dee.reply_to(after, me, within=30)
            assert "THINK" in reply.body.upper()
            queued_id = await asyncio.wait_for(queued, 30)
            step = await dee.reply_to(queued_id, me, within=30)
            assert step.body.strip()
            back_at = loop.time()

            delays = [float(m.group(1)) for r in caplog.records
                      if (m := re.search(r"sync failed .*reconnecting in ([0-9.]+)s",
                                         r.getMessage()))]
            # The production schedule: 2 s base doubling, jitter pinned at 0.875.
            assert delays[:4] == [1.8, 3.5, 7.0, 14.0], delays
            assert any("sync is back" in r.getMessage() for r in caplog.records)
            assert up_at - down_at >= OUTAGE
            assert back_at - down_at < 40, f"took {back_at - down_at:.1f}s to come back"
            # Each command exactly once, and nothing from before the outage was replayed.
            await marker(dee, room, me)
            for cmd in (before, after, queued_id):
                assert len([s for s in dee.from_user(me, room) if replies_to(s, cmd)]) == 1
    finally:
        await bot.halt()


async def test_reaction_on_page_invokes_answer_and_edit_replaces(synapse: SynapseServer,
                                                                 tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    calls: list[tuple[str, UserRef, Place]] = []
    original = bot.core.invoke

    async def spy(inv: Invocation) -> Answer:
        calls.append((" ".join([inv.command, *inv.positional]), inv.actor, inv.place))
        return await original(inv)

    bot.core.invoke = spy  # type: ignore[method-assign]
    try:
        async with members(synapse, tmp_path, unique("eve")) as (eve,):
            now = datetime.now(UTC)
            async with bot.core.db.transaction() as s:
                s.add(OutboxMessage(
                    key="test:page", platform="matrix", kind="dm", user_id=eve.user_id,
                    text="Someone in Harbour would like a call", priority=0,
                    meta={}, actions=[a.to_json() for a in page_actions(42)],
                    created_at=now, next_attempt_at=now, attempts=0))
            page = await eve.wait_for(lambda s: "would like a call" in s.body,
                                      what="the page")
            assert page.event.decrypted and page.content["msgtype"] == "m.text"
            assert [a["command"] for a in page.content["org.peercircle.actions"]] == [
                "ack 42", "decline 42"]
            assert html_view(page.content["formatted_body"]).text == page.body
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
            no = await gus.create_room([bot_user.user_id], encrypted=False)
            await bot.caught_up()  # the bot's sync has been through gus's invite
            ok = await fay.create_room([bot_user.user_id], encrypted=False)
            await fay.wait_member(ok, bot_user.user_id)
            assert no not in bot.adapter.client.rooms  # type: ignore[union-attr]
            joined = await synapse.request(
                "GET", f"/_matrix/client/v3/rooms/{quote(no, safe='')}/joined_members",
                access_token=gus.user.access_token)
            assert list(joined["joined"]) == [gus.user_id]
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
    try:
        await synapse.request("POST", "/_matrix/client/v3/logout", {},
                              access_token=bot_user.access_token)
        with pytest.raises(TokenRevokedError) as stopped:
            await asyncio.wait_for(bot.task, 40)
        assert "peercircle matrix login" in str(stopped.value)
        assert bot.stop.is_set()
    finally:
        await bot.halt()  # it stopped itself; this releases its database


async def test_matrix_login_exchanges_password_for_fixed_device(synapse: SynapseServer) -> None:
    from adapters.matrix.client import password_login

    user = await synapse.register(unique("loginbot"))
    resp = await password_login(synapse.base_url, user.user_id, user.password, "PEERCIRCLE01")
    assert resp.device_id == "PEERCIRCLE01"
    assert await synapse.whoami(resp.access_token) == user.user_id


# -- the lifeline, end to end -----------------------------------------------------------------

async def assert_arrived_encrypted(member: Member, seen: Seen) -> None:
    """The homeserver holds only ciphertext; the member's client decrypted it."""
    raw = await member.raw_event(seen.room_id, seen.source["event_id"])
    assert raw["type"] == "m.room.encrypted", raw["type"]
    assert "body" not in raw["content"] and raw["content"].get("ciphertext")
    assert seen.event.decrypted


async def test_lifeline_call_from_encrypted_dm_end_to_end(synapse: SynapseServer,
                                                         tmp_path: Path) -> None:
    """The issue's "Must show": `call` from an encrypted DM pages two available peers by
    encrypted DM, a ✅ on one page claims it, the requester hears who is coming, the other page
    becomes "someone's on it" (m.replace), and the note reaches only the one who took it."""
    bot_user = await synapse.register(unique("bot"))
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    me = bot_user.user_id
    note = "can't sleep"
    try:
        async with members(synapse, tmp_path, unique("ana"), unique("ben"),
                           unique("rae")) as (ana, ben, rae):
            # Two members open their own encrypted direct rooms with the bot (adopted); ben
            # gets the one the bot opens for the welcome DM.
            ana_dm = await ana.create_room([me], encrypted=True, is_direct=True)
            rae_dm = await rae.create_room([me], encrypted=True, is_direct=True)
            room = await ana.create_room([me, ben.user_id, rae.user_id], encrypted=True,
                                         bot_level=(me, 50))
            for m in (ben, rae):
                await m.client.join(room)
            for who in (me, ben.user_id, rae.user_id):
                await ana.wait_member(room, who)
            await ana.wait_member(ana_dm, me)
            await rae.wait_member(rae_dm, me)

            for member, line in [
                (ana, "!circle setup name:Riverbend timezone:Europe/Berlin"),
                (ana, '!circle settings crisis_resources:"Samaritans 116 123; '
                      'Call 988 in the US"'),
                (ben, "!join"), (rae, "!join"),
            ]:
                sent = await member.say(room, line)
                await member.reply_to(sent, me)
            # rae's welcome DM lands in the direct room rae opened, not in a new one.
            welcome = await rae.wait_for(lambda s: s.source.get("sender") == me
                                         and "pact" in s.body.lower(), what="the welcome DM")
            assert welcome.room_id == rae_dm
            ben_dm = (await ben.wait_for(lambda s: s.source.get("sender") == me
                                         and "pact" in s.body.lower(),
                                         what="the welcome DM")).room_id

            for member, dm in ((ana, ana_dm), (ben, ben_dm)):
                sent = await member.say(dm, "available set daily any")
                r = await member.reply_to(sent, me)
                await assert_arrived_encrypted(member, r)

            call = await rae.say(rae_dm, f"call {note}")
            answer = await rae.reply_to(call, me)
            assert answer.room_id == rae_dm
            await assert_arrived_encrypted(rae, answer)
            assert "Samaritans 116 123" in answer.body and "Call 988 in the US" in answer.body
            assert answer.body.startswith("I'm finding someone for you now")
            found = re.search(r"request #(\d+)", answer.body)
            assert found, answer.body
            rid = int(found.group(1))
            assert note not in answer.body  # no quote of what was typed

            pages: dict[str, Seen] = {}
            for member, dm in ((ana, ana_dm), (ben, ben_dm)):
                page = await member.wait_for(
                    lambda s, dm=dm: s.room_id == dm and s.source.get("sender") == me
                    and s.body.startswith(f"Lifeline page #{rid} "), what="the page")
                await assert_arrived_encrypted(member, page)
                assert page.content["msgtype"] == "m.text"  # notifies, unlike m.notice
                assert page.content["org.peercircle.actions"][0]["command"] == f"ack {rid}"
                assert "Riverbend" in page.body and note not in page.body
                pages[member.user_id] = page

            ben_page = pages[ben.user_id]
            await ben.react(ben_dm, ben_page.source["event_id"], "✅")
            took = await ben.reply_to(ben_page.source["event_id"], me)
            assert took.room_id == ben_dm and took.body.startswith("Thank you for taking it")
            assert f"“{note}”" in took.body and rae.user_id in took.body
            await assert_arrived_encrypted(ben, took)

            coming = await rae.wait_for(lambda s: s.room_id == rae_dm and s.source.get(
                "sender") == me and "is coming. Reach them" in s.body, what="who is coming")
            assert ben.user_id in coming.body
            await assert_arrived_encrypted(rae, coming)

            ana_page = pages[ana.user_id]
            edit = await ana.wait_for(lambda s: s.content.get("m.relates_to", {}).get(
                "rel_type") == "m.replace", what="the covered edit")
            assert edit.room_id == ana_dm
            assert edit.content["m.relates_to"]["event_id"] == ana_page.source["event_id"]
            assert edit.content["m.new_content"]["body"] == (
                f"Lifeline page #{rid}: someone's on it, thank you.")
            await assert_arrived_encrypted(ana, edit)

            # `call` typed in the circle room: redacted (the bot has PL 50), answered in the
            # member's direct room, and the room never gets the note.
            secret = "need to talk tonight"
            in_room = await ana.say(room, f"!call {secret}")
            await ana.wait_for(lambda s: s.source.get("type") == "m.room.redaction"
                               and s.source.get("redacts") == in_room,
                               what="the redaction of the call")
            private = await ana.wait_for(lambda s: s.room_id == ana_dm and s.source.get(
                "sender") == me and "finding someone for you now" in s.body,
                what="the answer to the call in the DM")
            assert "Samaritans 116 123" in private.body and "room saw" not in private.body
            await ben.wait_for(lambda s: s.room_id == ben_dm
                               and s.body.startswith("Lifeline page #")
                               and f"#{rid} " not in s.body, what="the second page")
            # All the bot has said about both calls is out, and before a marker's answer in
            # each room the notes must not reach: the checks below see all of it.
            await outbox_sent(bot.core)
            await marker(ana, room, me, seen_by=[ben, rae])
            for member, dm in ((ana, ana_dm), (ben, ben_dm), (rae, rae_dm)):
                await marker(member, dm, me)
            for member in (ana, ben, rae):
                in_circle = member.from_user(me, room)
                assert not [s for s in in_circle if secret in s.body or replies_to(s, in_room)]
            assert not [s for s in ben.from_user(me) if secret in s.body]
            # The first note went to ben alone: not to ana, not to the room, not back to rae.
            for member in (ana, rae):
                assert not [s for s in member.from_user(me) if note in s.body]
            assert [s.room_id for s in ben.from_user(me) if note in s.body] == [ben_dm]
    finally:
        await bot.halt()


# -- undecryptable events -----------------------------------------------------------------

async def knows_device(member: Member, user_id: str, device_id: str) -> OlmDevice:
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        devices = member.client.device_store.active_user_devices(user_id)
        for device in devices:
            if device.id == device_id:
                return device
        assert asyncio.get_running_loop().time() < deadline, "the bot's device never showed up"
        await asyncio.sleep(0.1)


def record_key_requests(member: Member) -> list[RoomKeyRequest]:
    """Key requests reaching the member's device from other users (nio answers none of them,
    and shows them to no callback, so they are caught where its Olm machine takes them in)."""
    olm = member.client.olm
    assert olm is not None
    seen: list[RoomKeyRequest] = []
    take = olm._handle_key_requests

    def handle(event: Any) -> None:
        if isinstance(event, RoomKeyRequest) and event.sender != member.user_id:
            seen.append(event)
        take(event)

    olm._handle_key_requests = handle  # type: ignore[method-assign]
    return seen


async def send_withholding_key(member: Member, room_id: str,
                               lines: list[str]) -> tuple[str, str, list[str]]:
    """Send `lines` in a new megolm session whose key the member's client does not share with
    blacklisted devices (the bot's). Returns (session id, its key at index 0, event ids)."""
    client = member.client
    assert client.olm is not None
    client.olm.create_outbound_group_session(room_id)
    await client.share_group_session(room_id, ignore_unverified_devices=True)
    session = client.olm.outbound_group_sessions[room_id]
    session_id, key = session.id, session.session_key  # nothing encrypted yet: index 0
    ids = [await member.say(room_id, line) for line in lines]
    assert client.olm.outbound_group_sessions[room_id].id == session_id
    return session_id, key, ids


async def send_room_key_late(member: Member, room_id: str, device: OlmDevice,
                             session_id: str, key: str) -> None:
    """The member's client delivers the withheld room key (as a delayed m.room_key would)."""
    client = member.client
    olm = client.olm
    assert olm is not None
    if olm.session_store.get(device.curve25519) is None:
        await client.keys_claim({device.user_id: [device.id]})
    olm_session = olm.session_store.get(device.curve25519)
    assert olm_session is not None, "no Olm session with the bot's device"
    payload = olm._olm_encrypt(olm_session, device, "m.room_key", {
        "algorithm": "m.megolm.v1.aes-sha2", "room_id": room_id,
        "session_id": session_id, "session_key": key})
    resp = await client.to_device(ToDeviceMessage("m.room.encrypted", device.user_id,
                                                  device.id, payload))
    assert isinstance(resp, ToDeviceResponse), resp



async def watch_bot_key_requests(synapse: SynapseServer, bot_user: RegisteredUser,
                                 tmp_path: Path) -> tuple[Member, list[RoomKeyRequest]]:
    """The bot's account on another device: nio sends a key request to the account's own
    devices, so this is where the requests can be counted on the wire."""
    other = await Member(synapse, await synapse.login(bot_user),
                         tmp_path / "bot-other-device").start()
    requests: list[RoomKeyRequest] = []

    async def on_request(event: RoomKeyRequest) -> None:
        if event.requesting_device_id == bot_user.device_id:
            requests.append(event)

    other.client.add_to_device_callback(on_request, RoomKeyRequest)  # type: ignore[arg-type]
    return other, requests

async def test_undecryptable_events_one_request_one_notice_then_handled(
        synapse: SynapseServer, tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    me = bot_user.user_id
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    other, requests = await watch_bot_key_requests(synapse, bot_user, tmp_path)
    try:
        # zed, whose messages the bot can read, says the markers that close the negative checks.
        async with members(synapse, tmp_path, unique("ivy"), unique("zed")) as (ivy, zed):
            room = await ivy.create_room([me, zed.user_id], encrypted=True)
            await zed.client.join(room)
            for who in (me, zed.user_id):
                await ivy.wait_member(room, who)
            await knows_device(zed, me, bot_user.device_id)
            device = await knows_device(ivy, me, bot_user.device_id)
            assert ivy.client.blacklist_device(device)
            asked_sender = record_key_requests(ivy)

            first, first_key, first_ids = await send_withholding_key(
                ivy, room, ["!think", "just saying hi", "!help checkin", "!think"])
            second, second_key, second_ids = await send_withholding_key(
                ivy, room, ["!think", "!help call"])
            assert first != second

            notices = [await ivy.reply_to(ids[0], me) for ids in (first_ids, second_ids)]
            assert all("couldn't read an encrypted message" in n.body for n in notices)
            # A storm would come before the answer to a command sent after all six events.
            await marker(zed, room, me, seen_by=[ivy, other])
            undecryptable = [s for s in ivy.from_user(me, room)
                             if "couldn't read an encrypted message" in s.body]
            assert len(undecryptable) == 2  # one per session, not one per event
            # One request per session, to the bot's own devices and to the sending device.
            assert sorted(r.session_id for r in requests) == sorted([first, second])
            assert sorted(r.session_id for r in asked_sender) == sorted([first, second])
            assert not [s for s in ivy.from_user(me, room)
                        if any(replies_to(s, e) for e in first_ids[1:] + second_ids[1:])]

            # The key of the first session arrives: its commands are handled, once each; the
            # second session's still wait for theirs.
            await send_room_key_late(ivy, room, device, first, first_key)
            for cmd in (first_ids[0], first_ids[2], first_ids[3]):
                await ivy.reply_to(cmd, me)
            help_reply = await ivy.reply_to(first_ids[2], me)
            assert "checkin" in help_reply.body
            assert not [s for s in ivy.from_user(me, room) if replies_to(s, second_ids[1])]
            await send_room_key_late(ivy, room, device, second, second_key)
            for cmd in second_ids:
                await ivy.reply_to(cmd, me)
            await marker(zed, room, me, seen_by=[ivy, other])  # a second answer would be in
            for cmd in (*first_ids, *second_ids):
                answers = [s for s in ivy.from_user(me, room) if replies_to(s, cmd)
                           and "couldn't read" not in s.body]
                assert len(answers) == (0 if cmd == first_ids[1] else 1), cmd
            assert len(requests) == 2 and len(asked_sender) == 2
    finally:
        await other.close()
        await bot.halt()


async def undecryptable_rows(bot_core: Any) -> list[str]:
    async with bot_core.db.transaction() as s:
        keys = (await s.execute(select(AdapterState.key).where(
            AdapterState.platform == "matrix", AdapterState.key.startswith("undecrypt")))).all()
    return sorted(k for (k,) in keys)


async def test_undecryptable_event_survives_restart_then_handled_once(
        synapse: SynapseServer, tmp_path: Path) -> None:
    """The sync token moves past an event the bot cannot decrypt; the event waits in the
    database, not in memory: after a restart its late key still gets it answered, once, and
    its session gets no second key request or notice."""
    bot_user = await synapse.register(unique("bot"))
    me = bot_user.user_id
    settings = bot_settings(synapse, bot_user, tmp_path)
    bot = await start_bot(settings)
    other, requests = await watch_bot_key_requests(synapse, bot_user, tmp_path)
    try:
        async with members(synapse, tmp_path, unique("jo"), unique("kim")) as (jo, kim):
            room = await jo.create_room([me, kim.user_id], encrypted=True)
            await kim.client.join(room)
            for who in (me, kim.user_id):
                await jo.wait_member(room, who)
            await knows_device(kim, me, bot_user.device_id)  # kim says the markers
            device = await knows_device(jo, me, bot_user.device_id)
            assert jo.client.blacklist_device(device)
            asked_sender = record_key_requests(jo)

            session, key, (before,) = await send_withholding_key(jo, room, ["!help checkin"])
            notice = await jo.reply_to(before, me)
            assert "couldn't read an encrypted message" in notice.body
            await asyncio.wait_for(bot.adapter.dispatcher.idle.wait(), 5)
            assert len(await undecryptable_rows(bot.core)) == 2  # the event and its session
            deadline = asyncio.get_running_loop().time() + 5
            while not (requests and asked_sender):
                assert asyncio.get_running_loop().time() < deadline, "no key request went out"
                await asyncio.sleep(0.1)
            said = len(jo.from_user(me, room))
            await bot.halt()

            # A new process on the same database and store; then the same session goes on.
            # (Its sends are watched: the homeserver would hide a repeated notice, as its
            # transaction id is the first one's.)
            labels: list[str] = []
            txns: list[str] = []

            def watch_sends(adapter: MatrixAdapter) -> None:
                send = adapter.send_event

                async def watched(*args: Any, **kw: Any) -> str:
                    labels.append(kw["label"])
                    txns.append(kw["txn"])
                    return await send(*args, **kw)
                adapter.send_event = watched  # type: ignore[method-assign]

            bot = await start_bot(settings, patch=watch_sends)
            after = await jo.say(room, "!help call")
            assert jo.client.olm is not None
            assert jo.client.olm.outbound_group_sessions[room].id == session
            # A second notice or key request would come before the marker's answer.
            answer = await marker(kim, room, me, seen_by=[jo, other])
            assert jo.from_user(me, room)[said:] == [answer], jo.describe()
            assert "undecryptable notice" not in labels, labels
            assert [r.session_id for r in requests] == [session]

            await send_room_key_late(jo, room, device, session, key)
            for cmd, topic in ((before, "checkin"), (after, "call")):
                answer = await jo.wait_for(lambda s, cmd=cmd: s.source.get("sender") == me
                                           and replies_to(s, cmd)
                                           and "couldn't read" not in s.body,
                                           what=f"the answer to {cmd}")
                assert topic in answer.body
            await marker(kim, room, me, seen_by=[jo, other])  # a second answer would be in
            for cmd in (before, after):
                answers = [s for s in jo.from_user(me, room) if replies_to(s, cmd)
                           and "couldn't read" not in s.body]
                assert len(answers) == 1, cmd
            notices = [s for s in jo.from_user(me, room) if "couldn't read" in s.body]
            assert len(notices) == 1 and "undecryptable notice" not in labels, labels
            for cmd in (before, after):  # each command handled once
                assert txns.count(txn_id("reply", cmd)) == 1, cmd
            assert [r.session_id for r in requests] == [session]
            assert [r.session_id for r in asked_sender] == [session]
            await asyncio.wait_for(bot.adapter.dispatcher.idle.wait(), 5)
            # The events are gone from the table; the session's mark stays (for 24 hours).
            assert await undecryptable_rows(bot.core) == [session_key(session)]
    finally:
        await other.close()
        await bot.halt()


# -- images -------------------------------------------------------------------------------

def tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([200, 30, 90]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def test_send_image_is_m_image_encrypted_in_encrypted_rooms(synapse: SynapseServer,
                                                                  tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    me = bot_user.user_id
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    png = tiny_png()
    try:
        async with members(synapse, tmp_path, unique("jo")) as (jo,):
            secret_room = await jo.create_room([me], encrypted=True)
            plain_room = await jo.create_room([me], encrypted=False)
            await jo.wait_member(secret_room, me)
            await jo.wait_member(plain_room, me)

            sent = await bot.adapter.send_image(secret_room, png, "health.png")
            image = await jo.wait_for(lambda s: s.source.get("event_id") == sent,
                                      what="the encrypted image")
            assert isinstance(image.event, RoomEncryptedImage)
            await assert_arrived_encrypted(jo, image)
            content = image.content
            assert content["msgtype"] == "m.image" and content["body"] == "health.png"
            assert "url" not in content and content["file"]["url"].startswith("mxc://")
            assert content["info"] == {"mimetype": "image/png", "size": len(png), "w": 3, "h": 2}
            f = content["file"]
            download = await jo.client.download(mxc=f["url"])
            assert isinstance(download, DownloadResponse), download
            assert download.body != png  # the content repository holds only ciphertext
            clear = decrypt_attachment(download.body, f["key"]["k"], f["hashes"]["sha256"],
                                       f["iv"])
            assert clear == png

            sent = await bot.adapter.send_image(plain_room, png, "health.png")
            image = await jo.wait_for(lambda s: s.source.get("event_id") == sent,
                                      what="the plain image")
            assert isinstance(image.event, RoomMessageImage)
            assert image.content["msgtype"] == "m.image" and "file" not in image.content
            download = await jo.client.download(mxc=image.content["url"])
            assert isinstance(download, DownloadResponse) and download.body == png
    finally:
        await bot.halt()


# -- the encryption store must be this device's ---------------------------------------------

def store_files(settings: Settings) -> list[Path]:
    return sorted(Path(settings.matrix.store_path).glob("*.db"))


async def start_fails(settings: Settings) -> str:
    core = await open_core(settings, SystemClock())
    adapter = MatrixAdapter(settings, core)
    try:
        with pytest.raises(MatrixStartError) as failed:
            await asyncio.wait_for(adapter.run(asyncio.Event()), 20)
        return str(failed.value)
    finally:
        await core.db.dispose()


async def test_store_of_another_device_stops_start_with_clear_message(
        synapse: SynapseServer, tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    settings = bot_settings(synapse, bot_user, tmp_path)
    bot = await start_bot(settings)  # publishes this device's keys from its store
    await bot.halt()
    [mine] = store_files(settings)
    original = await published_ed25519(synapse, bot_user)

    # A new login (new device id) pointed at the old device's store.
    other = await synapse.login(bot_user)
    message = await start_fails(bot_settings(synapse, bot_user, tmp_path,
                                             device_id=other.device_id,
                                             access_token=other.access_token))
    assert "holds the keys of another device" in message and bot_user.device_id in message
    assert f"device_id is {other.device_id}" in message

    # The store replaced (here: one made for another device, renamed to this device's file):
    # its keys are not the ones the homeserver has for this device.
    foreign_bot = bot_settings(synapse, bot_user, tmp_path, device_id=other.device_id,
                               access_token=other.access_token,
                               store_path=str(tmp_path / "foreign-store"))
    started = await start_bot(foreign_bot)
    await started.halt()
    [foreign_store] = store_files(foreign_bot)
    shutil.copy(foreign_store, mine)  # overwrites this device's store
    message = await start_fails(settings)
    assert "already has end-to-end keys on the homeserver" in message
    assert "Restore the store from the backup" in message
    # Nothing was overwritten: the homeserver still has the original device's keys.
    assert await published_ed25519(synapse, bot_user) == original


async def published_ed25519(synapse: SynapseServer, user: RegisteredUser) -> str:
    body = await synapse.request("POST", "/_matrix/client/v3/keys/query",
                                 {"device_keys": {user.user_id: [user.device_id]}},
                                 access_token=user.access_token)
    keys = body["device_keys"][user.user_id][user.device_id]["keys"]
    return str(keys[f"ed25519:{user.device_id}"])


async def test_waiting_events_and_session_marks_expire_after_a_day(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """What waited 24 hours for a key is dropped at the next load, logged without content."""
    settings = Settings(database={"url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"})
    clock = FakeClock(datetime(2025, 3, 1, 12, tzinfo=UTC))
    core = await open_core(settings, clock)
    try:
        store = UndecryptableStore(core.db, clock.now)
        seen = clock.now().isoformat()
        await store.record(PendingEvent("!r:x", "$secret-event", "sess", "@a:x", None, seen),
                           SessionMark("sess", seen, requested=True, noticed=True))
        clock.advance(timedelta(hours=23))
        events, sessions = await store.load()
        assert [e.event_id for e in events] == ["$secret-event"]
        assert [m.noticed for m in sessions] == [True]
        clock.advance(timedelta(hours=1))
        with caplog.at_level(logging.INFO, logger="adapters.matrix.undecryptable"):
            assert await store.load() == ([], [])
        assert "gave up on 1 encrypted event" in caplog.text
        assert "secret" not in caplog.text and "!r:x" not in caplog.text
        assert await undecryptable_rows(core) == []
    finally:
        await core.db.dispose()


async def test_export_arrives_as_an_encrypted_file_in_the_direct_room(
        synapse: SynapseServer, tmp_path: Path) -> None:
    """`me export` typed in the circle room: the answer and its JSON file go to the member's
    encrypted direct room, and the file holds what they wrote."""
    import json

    bot_user = await synapse.register(unique("bot"))
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    me = bot_user.user_id
    try:
        async with members(synapse, tmp_path, unique("kim")) as (kim,):
            dm = await kim.create_room([me], encrypted=True, is_direct=True)
            room = await kim.create_room([me], encrypted=True, bot_level=(me, 50))
            await kim.wait_member(dm, me)
            await kim.wait_member(room, me)
            for line in ("!circle setup name:Harbour timezone:Europe/Berlin",
                         "!checkin 3 the tide came in"):
                await kim.reply_to(await kim.say(room, line), me)
            await kim.say(room, "!me export")
            sent = await kim.wait_for(lambda s: s.room_id == dm and s.source.get("sender") == me
                                      and s.content.get("msgtype") == "m.file",
                                      what="the export file")
            await assert_arrived_encrypted(kim, sent)
            f = sent.content["file"]
            assert sent.content["filename"] == "peercircle-export.json"
            download = await kim.client.download(mxc=f["url"])
            assert isinstance(download, DownloadResponse), download
            clear = decrypt_attachment(download.body, f["key"]["k"], f["hashes"]["sha256"],
                                       f["iv"])
            data = json.loads(clear)
            assert [c["note"] for c in data["checkins"]["checkins"]] == ["the tide came in"]
    finally:
        await bot.halt()


async def test_health_picture_arrives_as_an_encrypted_image_in_the_room(
        synapse: SynapseServer, tmp_path: Path) -> None:
    bot_user = await synapse.register(unique("bot"))
    bot = await start_bot(bot_settings(synapse, bot_user, tmp_path))
    me = bot_user.user_id
    try:
        async with members(synapse, tmp_path, unique("lee")) as (lee,):
            room = await lee.create_room([me], encrypted=True, bot_level=(me, 50))
            await lee.wait_member(room, me)
            await lee.reply_to(await lee.say(
                room, "!circle setup name:Harbour timezone:Europe/Berlin"), me)
            asked = await lee.say(room, "!health 4")
            summary = await lee.reply_to(asked, me)
            assert "Check-ins per week" in summary.body
            image = await lee.wait_for(lambda s: s.room_id == room
                                       and s.content.get("msgtype") == "m.image",
                                       what="the health picture")
            assert isinstance(image.event, RoomEncryptedImage)
            f = image.content["file"]
            download = await lee.client.download(mxc=f["url"])
            assert isinstance(download, DownloadResponse), download
            png = decrypt_attachment(download.body, f["key"]["k"], f["hashes"]["sha256"],
                                     f["iv"])
            assert png.startswith(b"\x89PNG\r\n\x1a\n")
            assert image.content["body"] == summary.body  # the figures, for clients without images
    finally:
        await bot.halt()
