"""The Discord adapter end to end on simcord: real discord.py 2.7 code against an offline
Discord, the real core on a test database, simcord's virtual clock as the core's clock."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import discord
import pytest
from sqlalchemy import func, select

from adapters.discord.buttons import ActionButton
from adapters.discord.cli import NO_TOKEN
from adapters.discord.sync import sync_commands
from adapters.discord.texts import say
from bot.answer import Action, Answer, Attachment
from bot.commands import Arg, Kind, Who
from bot.config import Settings
from bot.context import Ctx
from bot.feature import Feature
from bot.features.checkins.models import Checkin
from bot.texts import Texts
from storage.models import OutboxMessage, Person
from tests.discord_fixtures import (
    World,
    build_with,
    callback_types,
    custom_ids,
    dm_history,
    start_world,
    stop_world,
    text_of,
)
from tests.discord_fixtures import world as world  # the fixtures
from tests.discord_fixtures import world_env as world_env
from tests.test_cli import one_sentence, peercircle

PAGE = re.compile(r"Lifeline page #(\d+)")


async def circle(world: World, *names: str) -> tuple[Any, list[Any]]:
    """A circle set up by the first member, joined by the others."""
    channel = world.circle_channel()
    members = [world.member(n) for n in names]
    result = await members[0].slash(channel, "circle setup", name="Riverbend circle",
                                    timezone="Europe/Berlin")
    assert "Riverbend circle is set up here" in result.response.content
    for m in members[1:]:
        await m.slash(channel, "join")
    return channel, members


async def reachable(*members: Any) -> None:
    for m in members:
        result = await m.user.slash("available set", windows="daily any")
        assert "Lifeline availability: on" in result.response.content


def pages(member: Any) -> list[Any]:
    return [m for m in dm_history(member) if PAGE.match(m.content)]


async def count(world: World, model: Any, *where: Any) -> int:
    async with world.core.db.transaction() as s:
        return int((await s.execute(select(func.count()).select_from(model).where(*where)))
                   .scalar_one())


# -- a toy feature: a command the adapter has never heard of -------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
RAN: list[str] = []


def _toy_feature() -> Feature:
    toy = Feature("toy")

    @toy.command("toy wave", Arg("times", Kind.INT, minimum=1, maximum=3, required=True),
                 who=Who.ANYONE)
    async def wave(ctx: Ctx, args: dict[str, Any]) -> Answer:
        RAN.append("wave")
        picture = Attachment("wave.png", "image/png", PNG, alt="a waving hand")
        assert ctx.person is not None and ctx.place is not None
        ctx.dm(ctx.person, "a picture for you", attachments=(picture,))
        if ctx.place.room is not None:
            ctx.out.post("discord", ctx.place.room.id, "wave back?",
                         actions=(Action("go", "toy.go", "toy wave", ("1",)),))
        return Answer(f"waved {args['times']}", attachments=(picture,))

    return toy


TOY = _toy_feature()


# -- forms and what the room sees --------------------------------------------------------------

async def test_checkin_without_options_opens_the_form_and_submitting_records_it(
        world: World) -> None:
    channel, (alice, bob) = await circle(world, "alice", "bob")
    shown = await alice.slash(channel, "checkin")
    assert shown.modal is not None and shown.modal["custom_id"] == "pc:1:form:checkin"
    assert callback_types(world.env)[-1] == 9  # the form, at once: no deferral before it
    fields = {c["component"]["custom_id"]: c["component"] for c in shown.modal["components"]}
    assert set(fields) == {"mood", "note", "visibility", "anonymous"}
    assert fields["note"]["max_length"] == 1000  # the table's limit
    assert [o["value"] for o in fields["visibility"]["options"]] == ["circle", "mentor",
                                                                      "private"]
    done = await alice.submit_modal(shown, {"mood": ["4"], "note": "slept well for once",
                                            "visibility": ["circle"], "anonymous": False})
    assert done.response.ephemeral
    assert "Checked in" in done.response.content
    assert "alice checked in: 4/5 — slept well for once" in text_of(
        channel.history(viewer=bob))
    seen = await bob.slash(channel, "checkins")
    assert "slept well for once" in seen.response.content


async def test_in_the_dm_the_form_asks_a_member_of_several_circles_which_one(
        world: World) -> None:
    channel, (alice, bob) = await circle(world, "alice", "bob")
    assert world.guild is not None
    other = world.guild.create_text_channel("second")
    await bob.slash(other, "circle setup", name="Second circle", timezone="UTC")
    await alice.slash(other, "join")
    shown = await alice.user.slash("checkin")
    fields = [c["component"]["custom_id"] for c in shown.modal["components"]]
    assert fields == ["mood", "note", "visibility", "anonymous", "circle"]
    await alice.user.submit_modal(shown, {"mood": ["5"], "note": "good news",
                                          "circle": "Second circle"})
    assert "alice checked in: 5/5 — good news" in text_of(other.history())
    assert "good news" not in text_of(channel.history())
    named = await alice.user.slash("checkin", circle="Riverbend circle")
    prefilled = named.modal["components"][-1]["component"]
    assert prefilled.get("value") == "Riverbend circle"


async def test_a_private_checkin_never_appears_in_the_channel(world: World) -> None:
    channel, (alice, bob) = await circle(world, "alice", "bob")
    typed = await alice.slash(channel, "checkin", mood="2", note="the eviction letter came",
                              visibility="private")
    assert typed.ephemeral and typed.response.ephemeral
    shown = await alice.slash(channel, "checkin")
    await alice.submit_modal(shown, {"mood": ["1"], "note": "couldn't sleep at all",
                                     "visibility": ["private"]})
    # Her own list holds private words: it reaches her alone, and the room keeps nothing of it.
    mine = await alice.slash(channel, "checkins")
    assert mine.followups and mine.followups[0].ephemeral
    assert "the eviction letter came" in mine.followups[0].content
    assert mine.response is None  # the public "thinking…" placeholder is gone
    room = text_of(channel.history(viewer=bob))
    assert "eviction" not in room and "couldn't sleep" not in room
    assert await count(world, Checkin, Checkin.visibility == "private") == 2


async def test_a_core_rejection_is_the_cores_sentence_said_ephemerally(world: World) -> None:
    channel, (alice, bob) = await circle(world, "alice", "bob")
    refused = await bob.slash(channel, "checkin", mood="9", note="why not")
    assert refused.response.ephemeral
    assert refused.response.content == Texts()("err.mood_range", value=9)
    steward_only = await bob.slash(channel, "circle settings", wave_size=3)
    assert [f.content for f in steward_only.followups] == [
        Texts()("err.not_steward", command="circle settings")]
    assert steward_only.followups[0].ephemeral
    assert "Only a steward" not in text_of(channel.history(viewer=alice))


async def test_a_server_admin_counts_as_the_rooms_admin(world: World) -> None:
    channel, _ = await circle(world, "alice", "bob")
    assert world.guild is not None
    admins = world.guild.create_role("Admins", permissions=discord.Permissions(
        manage_guild=True))
    dora = world.member("dora", roles=[admins])
    await dora.slash(channel, "join")
    changed = await dora.slash(channel, "circle settings", wave_size=3)
    assert "wave_size" in changed.response.content and "3" in changed.response.content
    assert not changed.response.ephemeral


async def test_commands_are_deferred_before_the_core_is_asked(world: World) -> None:
    channel, (alice,) = await circle(world, "alice")
    before = len(callback_types(world.env))
    result = await alice.user.slash("available show")
    types = callback_types(world.env)[before:]
    assert types == [5]  # deferred (in the DM: not ephemeral, it stays in the conversation)
    assert not result.response.ephemeral
    private = await alice.slash(channel, "available show")
    assert private.ephemeral  # lifeline and availability answers are private in a server


# -- the lifeline: pages, buttons, restarts ----------------------------------------------------

async def test_a_call_pages_two_members_and_a_press_after_a_restart_takes_it(
        world: World) -> None:
    channel, (alice, bob, carol) = await circle(world, "alice", "bob", "carol")
    await reachable(bob, carol)
    opened = await alice.user.slash("call open", note="can't stop shaking")
    assert "I'm finding someone for you now (request #1)" in opened.response.content
    assert "immediate danger" in opened.response.content  # the resources, at once
    for member in (bob, carol):
        page = pages(member)[-1]
        assert page.content.startswith("Lifeline page #1 from Riverbend circle: alice")
        assert "can't stop shaking" not in page.content  # the note waits for the one who takes it
        assert custom_ids(page) == ["pc:1:a:ack", "pc:1:a:decline"]
        assert [c.label for row in page.components for c in row.children] == [
            "I'll take it", "Can't right now"]

    await world.restart()

    taken = await bob.user.click(pages(bob)[-1], label="I'll take it")
    assert "Thank you for taking it" in taken.response.content
    assert "can't stop shaking" in taken.response.content
    covered = pages(carol)[-1]
    assert covered.content == "Lifeline page #1: someone's on it, thank you."
    assert covered.components == []  # no button left to press
    told = dm_history(alice)[-1].content
    assert told.startswith("bob is coming.")
    assert "can't stop shaking" not in text_of(channel.history(viewer=carol))


@pytest.mark.parametrize("world", [[TOY]], indirect=True)
async def test_pressing_a_button_that_is_not_yours_is_refused(world: World) -> None:
    channel = world.circle_channel()
    alice, bob = world.member("alice"), world.member("bob")
    await alice.slash(channel, "toy wave", times=1)
    posted = [m for m in channel.history() if m.content == "wave back?"][-1]
    RAN.clear()
    refused = await bob.click(posted, label="toy.go")
    assert refused.response.ephemeral
    assert refused.response.content == say("discord.not_yours")
    assert RAN == []  # the core turned it down; nothing ran
    # What the adapter says itself is in the member's language (not their client's).
    await bob.user.slash("me language", language="es")
    refused = await bob.click(posted, label="toy.go")
    assert refused.response.content == say("discord.not_yours", "es") != say("discord.not_yours")


async def test_a_closed_dm_marks_the_member_unreachable_and_the_next_wave_moves_on(
        world: World) -> None:
    channel, (alice, bob, carol) = await circle(world, "alice", "bob", "carol")
    await alice.slash(channel, "circle settings", wave_size=1, wave_minutes=1)
    await reachable(bob)
    await alice.user.slash("call open")  # request 1 pages bob: he was paged most recently
    await alice.user.slash("call cancel")
    await reachable(carol)
    world.env.inject_error("POST", f"/channels/{carol.user.dm_channel.id}/messages",
                           status=403, code=50007, message="Cannot send messages to this user",
                           times=None)
    await alice.user.slash("call open", note="please")
    assert [p.content for p in pages(carol)] == []
    async with world.core.db.transaction() as s:
        closed = (await s.execute(select(Person.dm_closed_at).where(
            Person.platform_user_id == str(carol.id)))).scalar_one()
    assert closed is not None
    # No retry hammers her closed DM; when the wave times out, the next one pages bob.
    await world.advance(60)
    assert [PAGE.match(p.content)[1] for p in pages(bob)] == ["1", "2"]
    assert await count(world, OutboxMessage, OutboxMessage.user_id == str(carol.id),
                       OutboxMessage.last_error.like("%50007%")) == 1
    # Next time she acts in the room, she is told how to be reachable again.
    told = await carol.slash(channel, "checkins")
    assert told.followups[-1].ephemeral
    assert told.followups[-1].content == say("discord.dm_closed")


async def test_a_500_on_send_is_retried_by_the_outbox_and_delivered_once(world: World) -> None:
    channel, (alice,) = await circle(world, "alice")
    world.env.inject_error("POST", f"/channels/{channel.id}/messages", status=500, times=1)
    await alice.slash(channel, "checkin", mood="3", note="tired but here")
    line = "alice checked in: 3/5 — tired but here"
    assert line not in text_of(channel.history())
    await world.env.advance_time(2)  # the outbox's first backoff
    assert [m.content for m in channel.history()].count(line) == 1


async def test_a_429_delays_a_message_and_never_drops_it(world: World) -> None:
    channel, (alice,) = await circle(world, "alice")
    world.env.inject_error("POST", f"/channels/{channel.id}/messages", status=429,
                           message="You are being rate limited.", times=2)
    await alice.slash(channel, "checkin", mood="4", note="sun came out")
    line = "alice checked in: 4/5 — sun came out"
    await world.env.advance_time(4)
    assert line not in text_of(channel.history())
    await world.env.advance_time(10)
    assert [m.content for m in channel.history()].count(line) == 1


async def test_the_dm_channel_is_stored_and_reused_after_a_restart(world: World) -> None:
    _, (_alice, bob) = await circle(world, "alice", "bob")
    await reachable(bob)
    await world.restart()
    await bob.user.slash("available on")  # a test page, through the stored channel
    opened = [r for r in world.env.http_requests
              if r.method == "POST" and r.path == "/users/@me/channels"
              and (r.json or {}).get("recipient_id") == bob.id]
    assert len(opened) == 1
    async with world.core.db.transaction() as s:
        stored = (await s.execute(select(Person.dm_room_id).where(
            Person.platform_user_id == str(bob.id)))).scalar_one()
    assert stored == str(bob.user.dm_channel.id)
    assert dm_history(bob)[-1].content.startswith("Test page from Riverbend circle")


# -- generated commands, autocomplete, sync ------------------------------------------------

async def test_autocomplete_offers_the_members_circles_timezones_and_open_pages(
        world: World) -> None:
    channel, (alice, bob) = await circle(world, "alice", "bob")
    await reachable(bob)
    zones = await alice.autocomplete(channel, "circle setup", "timezone", "berl")
    assert zones[0] == {"name": "Europe/Berlin", "value": "Europe/Berlin"}
    mine = await bob.user.autocomplete("checkin", "circle", "river")
    assert mine == [{"name": "Riverbend circle", "value": "Riverbend circle"}]
    await alice.user.slash("call open")
    offered = await bob.user.autocomplete("ack", "id", "")
    assert [c["value"] for c in offered] == [1]
    assert offered[0]["name"].startswith("#1 · Lifeline page #1")
    taken = await bob.user.slash("ack", id=1)
    assert "Thank you for taking it" in taken.response.content


async def test_commands_are_synced_only_when_they_change(world: World) -> None:
    def syncs() -> int:
        return sum(1 for r in world.env.http_requests
                   if r.method == "PUT" and re.fullmatch(r"/applications/\d+/commands", r.path))

    assert syncs() == 1
    await world.restart()
    assert syncs() == 1  # the same commands: no call to Discord
    world.features_factory = build_with([TOY])
    await world.restart()
    assert syncs() == 2  # a command new in the table
    channel, (alice,) = await circle(world, "alice")
    waved = await alice.slash(channel, "toy wave", times=2)
    assert waved.response.content == "waved 2"


@pytest.mark.parametrize("world", [[TOY]], indirect=True)
async def test_a_new_table_command_appears_with_its_attachments(world: World) -> None:
    channel = world.circle_channel()
    alice = world.member("alice")
    assert "toy wave" in alice.available_commands(channel)
    waved = await alice.slash(channel, "toy wave", times=3)
    assert waved.response.content == "waved 3"
    [chart] = waved.response.attachments
    assert chart.filename == "wave.png" and chart.description == "a waving hand"
    assert await chart.read() == PNG
    sent = dm_history(alice)[-1]
    assert sent.content == "a picture for you"
    assert [a.description for a in sent.attachments] == ["a waving hand"]
    assert await sent.attachments[0].read() == PNG
    posted = [m for m in channel.history() if m.content == "wave back?"][-1]
    [cid] = custom_ids(posted)
    assert ActionButton.__discord_ui_compiled_template__.fullmatch(cid)


async def test_every_failure_ends_in_a_clear_private_sentence(world: World) -> None:
    _, (alice,) = await circle(world, "alice")
    world.env.inject_error("PATCH", "/webhooks/*/messages/@original", status=500, times=1)
    failed = await alice.user.slash("available show")
    assert failed.acknowledged
    assert failed.response.content == say("discord.failed")
    errors = world.env.errors  # seen, and so not raised again at the end of the test
    assert len(errors) == 1


# -- sync scopes and the command line -------------------------------------------------------

DEV_GUILD = 4242 << 22


async def test_a_dev_guild_gets_the_commands_at_once_and_sync_can_be_forced(
        db_spec: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(discord={"dev_guild_id": DEV_GUILD})
    made = await start_world(db_spec, {}, settings=settings)
    try:
        puts = [r.path for r in made.env.http_requests if r.method == "PUT"]
        assert puts == [f"/applications/{made.bot.application_id}/guilds/{DEV_GUILD}/commands"]
        guild = made.env.create_guild("Dev", id=DEV_GUILD)
        channel = guild.create_text_channel("circle")
        alice = guild.add_member(made.env.create_user("alice"))
        done = await alice.slash(channel, "circle setup", name="Dev circle", timezone="UTC")
        assert "Dev circle is set up here" in done.response.content
        # `peercircle discord sync` sends them again even though nothing changed.
        assert await sync_commands(made.bot.tree, made.core.db, made.core.clock,
                                   guild_id=DEV_GUILD, force=True)
        assert len([r for r in made.env.http_requests if r.method == "PUT"]) == 2
    finally:
        await stop_world(made)
    # No privileged intent is asked for, and discord.py is given no reason to warn about it.
    assert "message content intent is missing" not in caplog.text


def test_discord_sync_without_a_token_says_what_to_set(tmp_path: Path) -> None:
    done = peercircle("discord", "sync", cwd=tmp_path)
    assert done.returncode == 2
    assert one_sentence(done.stderr) == NO_TOKEN


def test_run_with_discord_enabled_and_no_token_says_what_to_set(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("discord:\n  enabled: true\n", encoding="utf-8")
    done = peercircle("run", cwd=tmp_path)
    assert done.returncode == 2
    assert one_sentence(done.stderr) == NO_TOKEN


async def test_a_private_room_reaches_each_of_its_members_by_dm(world: World) -> None:
    """Discord has no room for a pair who share only DMs with the bot: a post to a private
    room (a mentor pair) goes to each member in their own DM, named by the room."""
    from bot.outbox import OutboxWriter

    _, (alice, bob) = await circle(world, "alice", "bob")
    await reachable(alice, bob)
    async with world.core.db.transaction() as s:
        people = list((await s.execute(select(Person).where(
            Person.platform_user_id.in_([str(alice.id), str(bob.id)])))).scalars())
        OutboxWriter(s, world.core.clock.now(), "test").room(
            "discord", "mentor#1", people, "hello, you two", name="mentor#1")
    await world.env.advance_time(6)  # the sender's poll for rows written elsewhere
    for member in (alice, bob):
        assert dm_history(member)[-1].content == "[mentor#1] hello, you two"
