"""Slash commands generated from the core's command table; none is declared here, so a command
new in the table appears on Discord with no change to this adapter.

The first word of a path is the top-level command and the rest its subcommand (`call open`,
`circle settings`); a group never holds more than 25 subcommands (more spill into `<group>-2`)
and never nests. Arguments become options with their types, ranges, choices, lengths and
descriptions; where a command may run becomes its contexts. Descriptions are English, with
Spanish as description localizations (names are the command words every platform shares)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice, locale_str

from adapters.discord.texts import shorten
from bot.commands import CIRCLE_ARG, LONG_TEXT_LIMIT, Arg, Command, CommandTable, Kind, Where, Who
from bot.texts import Texts

MAX_CHILDREN = 25  # subcommands in one group, and options in one command
DESCRIPTION_LIMIT = 100
STRING_LIMIT = 6000  # Discord's longest string option
ID_RANGE = 25  # an INT wider than this is an id the member was sent (autocomplete), not a scale
MORE = Arg("more", Kind.REST, max_len=LONG_TEXT_LIMIT)  # the key:value rest of a long command
CONTEXTS_ROOM = app_commands.AppCommandContext(guild=True, dm_channel=False,
                                               private_channel=False)
CONTEXTS_ANY = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=False)
INSTALLS = app_commands.AppInstallationType(guild=True, user=False)

SlashHandler = Callable[[discord.Interaction, Command, dict[str, Any]], Awaitable[None]]
Completer = Callable[[discord.Interaction, Command, "Option", str], Awaitable[list[Choice[Any]]]]


@dataclass(frozen=True)
class Option:
    name: str
    arg: Arg
    role: str = "arg"  # "arg": one of the command's arguments; "circle"; "more"

    @property
    def autocompleted(self) -> bool:
        kind = self.arg.kind
        if self.role == "circle" or kind in (Kind.TIMEZONE, Kind.MOOD):
            return True
        if kind is Kind.CHOICE:
            return len(self.arg.choices) > MAX_CHILDREN
        if kind is Kind.INT:
            low, high = self.arg.minimum, self.arg.maximum
            return low is None or high is None or high - low > ID_RANGE
        return False


@dataclass(frozen=True)
class Slot:
    """Where a table command lives on Discord."""

    group: str | None
    name: str
    command: Command

    @property
    def qualified(self) -> str:
        return f"{self.group} {self.name}" if self.group else self.name


def discord_name(word: str) -> str:
    name = re.sub(r"[^\w-]", "-", word.lower())[:32]
    return name or "x"


def plan(table: CommandTable) -> list[Slot]:
    """Every table command's place, top-level commands and groups in table order."""
    groups = table.groups
    slots: list[Slot] = []
    grouped: dict[str, list[tuple[str, Command]]] = {}
    for command in table.commands.values():
        head = command.words[0]
        if len(command.words) == 1 and head not in groups:
            slots.append(Slot(None, discord_name(head), command))
            continue
        # A one-word command that is also a group's word runs as `/<word> <word>`.
        sub = "-".join(command.words[1:]) or head
        grouped.setdefault(head, []).append((sub, command))
    for head, subs in grouped.items():
        for start in range(0, len(subs), MAX_CHILDREN):
            group = head if start == 0 else f"{head}-{start // MAX_CHILDREN + 1}"
            slots += [Slot(discord_name(group), discord_name(sub), c)
                      for sub, c in subs[start:start + MAX_CHILDREN]]
    return slots


def offers_circle(command: Command) -> bool:
    """A command that can run in a DM and is about one of the member's circles takes a
    `circle` option: a member of several circles picks one."""
    return (command.where is not Where.ROOM and command.who is not Who.ANYONE
            and command.arg(CIRCLE_ARG.name) is None)


def options(command: Command) -> list[Option]:
    room = MAX_CHILDREN - (1 if offers_circle(command) else 0)
    args = list(command.args)
    if len(args) > room:
        # Too many for Discord: the required ones and the first optional ones stay options;
        # the rest can still be given as key:value words in `more`.
        required = [a for a in args if a.required]
        optional = [a for a in args if not a.required][: room - 1 - len(required)]
        args = [a for a in args if a in required or a in optional]
        found = [Option(discord_name(a.name), a) for a in args] + [Option(MORE.name, MORE, "more")]
    else:
        found = [Option(discord_name(a.name), a) for a in args]
    if offers_circle(command):
        found.append(Option(CIRCLE_ARG.name, CIRCLE_ARG, "circle"))
    return found


def _annotation(arg: Arg) -> Any:
    kind = arg.kind
    if kind is Kind.BOOL:
        return bool
    if kind is Kind.MEMBER:
        return discord.User
    if kind is Kind.INT:
        if arg.minimum is None and arg.maximum is None:
            return int
        return app_commands.Range[int, arg.minimum, arg.maximum]
    if kind is Kind.TIMEZONE:
        return app_commands.Range[str, None, 64]
    if kind is Kind.MOOD:
        return app_commands.Range[str, None, 40]
    if arg.max_len is not None:
        return app_commands.Range[str, None, min(arg.max_len, STRING_LIMIT)]
    return str


def _text(key: str, **values: object) -> locale_str:
    """English for the payload; the key travels along so the translator finds the Spanish."""
    return locale_str(shorten(Texts()(key, **values), DESCRIPTION_LIMIT), key=key,
                      values=values)


def option_description(option: Option) -> locale_str:
    arg = option.arg
    if option.role == "circle":
        return _text("discord.arg.circle")
    if option.role == "more":
        return _text("discord.arg.more")
    if arg.help and Texts().has(arg.help):
        return _text(arg.help)
    kind = arg.kind
    if kind is Kind.BOOL:
        return _text("discord.arg.bool")
    if kind is Kind.CHOICE:
        return _text("discord.arg.choice", choices=", ".join(arg.choices))
    if kind is Kind.TIMEZONE:
        return _text("discord.arg.timezone")
    if kind is Kind.MEMBER:
        return _text("discord.arg.member")
    if kind is Kind.MOOD:
        return _text("discord.arg.mood")
    if kind is Kind.INT:
        if arg.minimum is not None and arg.maximum is not None and not option.autocompleted:
            return _text("discord.arg.int_range", minimum=arg.minimum, maximum=arg.maximum)
        return _text("discord.arg.int")
    if arg.max_len is not None:
        return _text("discord.arg.text_limit", limit=arg.max_len)
    return _text("discord.arg.text")


def command_description(command: Command) -> locale_str:
    if Texts().has(command.key):
        return _text(command.key)
    return locale_str(shorten(command.path, DESCRIPTION_LIMIT))


def group_description(table: CommandTable, group: str, members: list[Slot]) -> locale_str:
    head = group.split("-")[0]
    if Texts().has(f"help.{head}"):
        return _text(f"help.{head}")
    default = table.defaults.get(head)
    if default and table.get(f"{head} {default}") is not None and group == head:
        return command_description(table.get(f"{head} {default}"))  # type: ignore[arg-type]
    return locale_str(shorten(f"{group}: " + ", ".join(s.name for s in members),
                              DESCRIPTION_LIMIT))


def _callback(slot: Slot, found: list[Option], on_slash: SlashHandler,
              complete: Completer) -> Callable[..., Awaitable[None]]:
    command = slot.command

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await on_slash(interaction, command, values)

    # discord.py reads a command's options from its callback's signature: this one is made
    # from the table.
    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                annotation=discord.Interaction)]
    for option in found:
        default = inspect.Parameter.empty if option.arg.required else None
        params.append(inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY,
                                        annotation=_annotation(option.arg), default=default))
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__qualname__ = callback.__name__ = "slash_" + slot.qualified.replace(" ", "_")
    app_commands.describe(**{o.name: option_description(o) for o in found})(callback)
    choices = {o.name: [Choice(name=c, value=c) for c in o.arg.choices] for o in found
               if o.arg.kind is Kind.CHOICE and not o.autocompleted}
    if choices:
        app_commands.choices(**choices)(callback)
    completers = {o.name: _completer(command, o, complete) for o in found if o.autocompleted}
    if completers:
        app_commands.autocomplete(**completers)(callback)
    return callback


def _completer(command: Command, option: Option,
               complete: Completer) -> Callable[..., Awaitable[list[Choice[Any]]]]:
    async def autocomplete(interaction: discord.Interaction, current: str
                           ) -> list[Choice[Any]]:
        return await complete(interaction, command, option, current)
    return autocomplete


def build(tree: app_commands.CommandTree[Any], table: CommandTable, on_slash: SlashHandler,
          complete: Completer) -> dict[str, Slot]:
    """Add every table command to the tree; returns the slots by Discord's qualified name."""
    by_name: dict[str, Slot] = {}
    groups: dict[str, list[Slot]] = {}
    for slot in plan(table):
        by_name[slot.qualified] = slot
        if slot.group is None:
            command = slot.command
            tree.add_command(app_commands.Command(
                name=slot.name, description=command_description(command),
                callback=_callback(slot, options(command), on_slash, complete),
                allowed_contexts=CONTEXTS_ROOM if command.where is Where.ROOM else CONTEXTS_ANY,
                allowed_installs=INSTALLS))
        else:
            groups.setdefault(slot.group, []).append(slot)
    for name, members in groups.items():
        anywhere = any(s.command.where is not Where.ROOM for s in members)
        group = app_commands.Group(
            name=name, description=group_description(table, name, members),
            allowed_contexts=CONTEXTS_ANY if anywhere else CONTEXTS_ROOM,
            allowed_installs=INSTALLS)
        for slot in members:
            group.add_command(app_commands.Command(
                name=slot.name, description=command_description(slot.command),
                callback=_callback(slot, options(slot.command), on_slash, complete),
                parent=group))
        tree.add_command(group)
    return by_name
