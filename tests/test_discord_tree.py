"""The Discord adapter's translation units: the command tree generated from the core's table,
its custom_ids, its hash, the outbox's error mapping, and the bot built with no token."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands

from adapters.discord import create_bot
from adapters.discord.buttons import ActionButton, action_view
from adapters.discord.deliverer import _delivery_error, split_text
from adapters.discord.forms import Form, form_id, path_of, submitted_values
from adapters.discord.sync import digest, payload
from adapters.discord.translator import CatalogueTranslator
from adapters.discord.tree import MAX_CHILDREN, build, options, plan
from bot.answer import Action
from bot.app import open_core
from bot.clock import FakeClock, parse_instant
from bot.commands import Arg, Command, CommandTable, Kind, Where, Who
from bot.config import Settings
from bot.features import build_features
from bot.features.lifeline.requests import page_actions
from bot.outbox import Outgoing
from bot.suggestions import timezone_matches
from tests.conftest import DbSpec

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"^[-_\w]{1,32}$")


async def _noop(*_: Any) -> Any:
    return []


def tree_for(table: CommandTable) -> app_commands.CommandTree[Any]:
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(
        discord.Client(intents=discord.Intents.none()))
    build(tree, table, _noop, _noop)
    return tree


def leaves(tree: app_commands.CommandTree[Any]) -> set[str]:
    found: set[str] = set()
    for top in tree.get_commands():
        if isinstance(top, app_commands.Group):
            found |= {c.qualified_name for c in top.commands}
        else:
            found.add(top.qualified_name)
    return found


def core_table() -> CommandTable:
    return build_features().table


def test_every_core_command_is_in_the_tree_once() -> None:
    table = core_table()
    slots = plan(table)
    assert sorted(s.command.path for s in slots) == sorted(table.commands)
    assert leaves(tree_for(table)) == {s.qualified for s in slots}
    # A group's default subcommand is its own subcommand on Discord: `call [note]` is /call open.
    assert "call open" in leaves(tree_for(table))


async def test_names_descriptions_and_limits_fit_discord() -> None:
    found = await payload(tree_for(core_table()))

    def check(command: dict[str, Any]) -> None:
        assert NAME.match(command["name"]) and command["name"] == command["name"].lower()
        assert 1 <= len(command["description"]) <= 100
        children = command.get("options", [])
        assert len(children) <= MAX_CHILDREN
        for child in children:
            if child["type"] in (1, 2):  # a subcommand: no deeper nesting than one level
                assert all(o["type"] not in (1, 2) for o in child.get("options", []))
                check(child)
            else:
                assert NAME.match(child["name"]) and 1 <= len(child["description"]) <= 100
                assert len(child.get("choices", [])) <= 25

    for command in found:
        check(command)


def test_a_crowded_table_spills_into_a_second_group_and_a_more_option() -> None:
    many = [Command(f"big s{i}") for i in range(30)]
    wide = Command("wide", (Arg("first", Kind.TEXT, required=True),
                            *(Arg(f"opt{i}", Kind.INT) for i in range(30))))
    table = CommandTable((*many, wide))
    groups = {s.group for s in plan(table)} - {None}
    assert groups == {"big", "big-2"}
    assert sum(1 for s in plan(table) if s.group == "big") == MAX_CHILDREN
    found = options(wide)
    assert len(found) == MAX_CHILDREN
    assert found[0].arg.name == "first"  # required ones always stay options
    assert [o.role for o in found[-2:]] == ["more", "circle"]
    tree = tree_for(table)
    assert "big-2 s29" in leaves(tree)


def test_contexts_follow_where_a_command_may_run() -> None:
    tree = tree_for(core_table())
    by_name = {c.name: c for c in tree.get_commands()}
    join = by_name["join"].allowed_contexts
    assert join is not None and join.guild and not join.dm_channel  # a room-only command
    for name in ("checkin", "call", "available", "ack"):
        contexts = by_name[name].allowed_contexts
        assert contexts is not None and contexts.guild and contexts.dm_channel
        assert not contexts.private_channel


def test_a_member_of_several_circles_picks_one_in_a_dm() -> None:
    table = core_table()
    names = {c.path: [o.name for o in options(c)] for c in table.commands.values()}
    assert "circle" in names["checkin"] and "circle" in names["available set"]
    assert "circle" not in names["join"]  # room-only: the room is the circle
    assert "circle" not in names["call open"]  # the core picks the best circle at 4am


def test_every_custom_id_matches_a_registered_template() -> None:
    template = ActionButton.__discord_ui_compiled_template__
    view = action_view(page_actions(999_999_999), None)
    assert view is not None
    ids = [item.item.custom_id for item in view.children if isinstance(item, ActionButton)]
    assert ids == ["pc:1:a:ack", "pc:1:a:decline"]
    for custom_id in ids:
        assert len(custom_id) <= 100 and template.fullmatch(custom_id)
    table = core_table()
    for command in table.commands.values():
        assert len(form_id(command)) <= 100 and path_of(form_id(command)) == command.path
    form = Form(table.get("checkin"), None)  # type: ignore[arg-type]
    for child in form.walk_children():
        custom_id = getattr(child, "custom_id", None)
        assert custom_id is None or len(custom_id) <= 100


def test_an_action_id_that_does_not_fit_a_custom_id_is_left_out() -> None:
    view = action_view((Action("fine", "x", "ack"), Action("not ok!", "y", "ack")), None)
    assert view is not None
    assert [c.custom_id for c in view.children] == ["pc:1:a:fine"]  # type: ignore[attr-defined]
    assert action_view((), None) is None


def test_button_labels_speak_the_readers_language() -> None:
    view = action_view(page_actions(3), "es")
    assert view is not None
    labels = [c.item.label for c in view.children if isinstance(c, ActionButton)]
    assert labels == ["Me encargo", "Ahora no puedo"]


async def test_spanish_descriptions_ride_along_and_names_stay_the_shared_words() -> None:
    found = {c["name"]: c for c in await payload(tree_for(core_table()))}
    checkin = found["checkin"]
    assert checkin["description"].startswith("share how you are")
    assert checkin["description_localizations"]["es-ES"].startswith("compartir cómo estás")
    assert checkin["description_localizations"]["es-419"].startswith("compartir cómo estás")
    assert checkin["name_localizations"] == {}
    translator = CatalogueTranslator()
    english = app_commands.locale_str("a few words, if you like", key="arg.checkin.note")
    assert await translator.translate(english, discord.Locale.american_english,
                                      None) is None  # type: ignore[arg-type]
    assert await translator.translate(english, discord.Locale.spain_spanish,
                                      None) == "unas palabras, si quieres"  # type: ignore[arg-type]


_DIGEST = """
import asyncio, discord
from discord import app_commands
from adapters.discord.sync import digest, payload
from adapters.discord.tree import build
from bot.features import build_features

async def noop(*_):
    return []

async def main():
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    build(tree, build_features().table, noop, noop)
    print(digest(await payload(tree)))

asyncio.run(main())
"""


async def test_the_tree_hash_is_stable_across_runs_and_changes_with_the_table() -> None:
    runs = []
    for seed in ("1", "2"):
        done = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _DIGEST, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONHASHSEED": seed})
        out, _ = await done.communicate()
        assert done.returncode == 0
        runs.append(out.decode().strip())
    here = digest(await payload(tree_for(core_table())))
    assert runs == [here, here]
    more = CommandTable((*core_table().commands.values(), Command("brand new")))
    assert digest(await payload(tree_for(more))) != here


def test_long_texts_are_cut_into_discord_messages_without_losing_a_word() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(60))
    chunks = split_text(text)
    assert len(chunks) > 1 and all(len(c) <= 2000 for c in chunks)
    assert "\n".join(chunks) == text
    assert split_text("y" * 4500) == ["y" * 2000, "y" * 2000, "y" * 500]


def test_a_submitted_form_becomes_named_arguments() -> None:
    command = core_table().get("checkin")
    assert command is not None
    data = {"custom_id": form_id(command), "components": [
        {"type": 18, "component": {"type": 3, "custom_id": "mood", "values": ["2"]}},
        {"type": 18, "component": {"type": 4, "custom_id": "note", "value": "rough day"}},
        {"type": 18, "component": {"type": 3, "custom_id": "visibility", "values": []}},
        {"type": 18, "component": {"type": 23, "custom_id": "anonymous", "value": True}}]}
    assert submitted_values(command, data) == {"mood": "2", "note": "rough day",
                                               "anonymous": "yes"}


class _Response:
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.reason = "x"
        self.headers = headers or {}


def _outgoing(kind: str) -> Outgoing:
    return Outgoing(id=1, key="k", kind=kind, text="t", room_id="1", user_id="2", meta={},
                    attempts=1)


def test_platform_errors_become_the_outboxs_retry_decisions() -> None:
    limited = _delivery_error(discord.HTTPException(_Response(429, {"Retry-After": "7.5"}),
                                                    {"code": 0, "message": "slow"}),
                              _outgoing("post"))
    assert limited.retry_after == 7.5 and not limited.permanent
    unnamed = _delivery_error(discord.HTTPException(_Response(429), "slow"), _outgoing("dm"))
    assert unnamed.retry_after is not None and not unnamed.permanent
    outage = _delivery_error(discord.HTTPException(_Response(502), "bad gateway"),
                             _outgoing("post"))
    assert not outage.permanent and outage.retry_after is None
    closed = _delivery_error(discord.Forbidden(_Response(403), {"code": 50007, "message": "x"}),
                             _outgoing("dm"))
    assert closed.dm_closed and closed.permanent
    gone = _delivery_error(discord.NotFound(_Response(404), {"code": 10003, "message": "x"}),
                           _outgoing("post"))
    assert gone.permanent and not gone.dm_closed


def test_timezones_are_offered_by_what_was_typed() -> None:
    assert timezone_matches("berl")[0] == "Europe/Berlin"
    assert timezone_matches("new_y")[0] == "America/New_York"
    assert "localtime" not in timezone_matches("local")
    assert len(timezone_matches("")) == 25


async def test_the_whole_bot_builds_with_no_token(db_spec: DbSpec) -> None:
    settings = Settings()
    assert settings.discord.token == ""
    core = await open_core(settings, FakeClock(parse_instant("2026-01-01T00:00:00Z")),
                           db=db_spec.make())
    try:
        bot = create_bot(settings, core)
        assert not bot.intents.message_content and not bot.intents.members
        assert not bot.intents.presences
        assert {c.name for c in bot.tree.get_commands()} >= {"checkin", "call", "available"}
        assert bot.http.token is None  # nothing was sent anywhere
        found = await payload(bot.tree)
        assert json.dumps(found)  # the payload a sync would send, built offline
    finally:
        await core.db.dispose()


def test_room_only_is_guild_only_even_inside_a_mixed_group() -> None:
    table = CommandTable((Command("zone a", where=Where.ROOM), Command("zone b", who=Who.ANYONE),
                          Command("only", where=Where.ROOM)))
    tree = tree_for(table)
    by_name = {c.name: c for c in tree.get_commands()}
    assert by_name["zone"].allowed_contexts.dm_channel  # type: ignore[union-attr]
    assert not by_name["only"].allowed_contexts.dm_channel  # type: ignore[union-attr]


@pytest.mark.parametrize("locale", ["es-ES", "es-419"])
def test_spanish_clients_get_spanish_forms(locale: str) -> None:
    form = Form(core_table().get("checkin"), discord.Locale(locale))  # type: ignore[arg-type]
    assert form.title == "¿Cómo estás?"
