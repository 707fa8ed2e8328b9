"""Forms (modals) generated from a command's arguments. On Discord, `checkin` given no options
opens its form at once (the spec's one exception to deferring); the fields, their limits and
their choices come from the table. The form's custom_id is fixed (a version and the command's
path), so a form submitted after a restart is still understood."""

from __future__ import annotations

from typing import Any

import discord

from adapters.discord.texts import lang_of, shorten
from bot.commands import CIRCLE_ARG, Arg, Command, Kind
from bot.texts import Texts

FORM_COMMANDS = ("checkin",)  # given no options on Discord, these open their form
PREFIX = "pc:1:form:"
MAX_FIELDS = 5  # Discord's limit of components in a modal
TITLE_LIMIT = 45
LABEL_LIMIT = 45
HINT_LIMIT = 100
TEXT_LIMIT = 4000  # Discord's longest text input
MOODS = range(1, 6)


def form_id(command: Command) -> str:
    return PREFIX + command.path.replace(" ", ".")


def path_of(custom_id: str) -> str | None:
    if not custom_id.startswith(PREFIX):
        return None
    return custom_id[len(PREFIX):].replace(".", " ")


class Form(discord.ui.Modal):
    """The submission is handled where every interaction is (client.py), not here: a modal
    object does not survive a restart, its custom_id does."""

    def __init__(self, command: Command, locale: discord.Locale | None, *,
                 circle: str | None = None, ask_circle: bool = False) -> None:
        """`ask_circle`: in the bot's DM, a member of several circles names one (prefilled
        with the `circle` option when it was given)."""
        texts = Texts(lang_of(locale))
        title_key = "discord.form." + command.path.replace(" ", ".")
        title = texts(title_key) if texts.has(title_key) else command.path
        super().__init__(title=shorten(title, TITLE_LIMIT), timeout=None,
                         custom_id=form_id(command))
        room = MAX_FIELDS - (1 if ask_circle else 0)
        for arg in command.args[:room]:
            field_key = "discord.field." + arg.name
            label = texts(field_key) if texts.has(field_key) else arg.name
            hint = (shorten(texts(arg.help), HINT_LIMIT) if arg.help and texts.has(arg.help)
                    else None)
            self.add_item(discord.ui.Label(text=shorten(label, LABEL_LIMIT), description=hint,
                                           component=_field(arg)))
        if ask_circle:
            self.add_item(discord.ui.Label(
                text=shorten(texts("discord.field.circle"), LABEL_LIMIT),
                description=shorten(texts("discord.field.circle_hint"), HINT_LIMIT),
                component=discord.ui.TextInput(custom_id=CIRCLE_ARG.name, required=False,
                                               default=circle, max_length=CIRCLE_ARG.max_len)))


def _field(arg: Arg) -> discord.ui.Item[Any]:
    name = arg.name
    if arg.kind is Kind.MOOD:
        return discord.ui.Select(custom_id=name, required=arg.required, options=[
            discord.SelectOption(label=str(n), value=str(n)) for n in MOODS])
    if arg.kind is Kind.CHOICE and len(arg.choices) <= 25:
        return discord.ui.Select(custom_id=name, required=arg.required, options=[
            discord.SelectOption(label=c, value=c, default=c == arg.default)
            for c in arg.choices])
    if arg.kind is Kind.BOOL:
        return discord.ui.Checkbox(custom_id=name, default=bool(arg.default))
    long_text = arg.kind is Kind.REST
    return discord.ui.TextInput(
        custom_id=name, required=arg.required,
        style=discord.TextStyle.paragraph if long_text else discord.TextStyle.short,
        max_length=min(arg.max_len or TEXT_LIMIT, TEXT_LIMIT))


def submitted_values(command: Command, data: dict[str, Any]) -> dict[str, str]:
    """The filled fields as the core's named arguments; empty fields are left out."""
    raw: dict[str, Any] = {}
    _collect(data.get("components") or [], raw)
    named: dict[str, str] = {}
    for arg in (*command.args, CIRCLE_ARG):
        if arg.name not in raw:
            continue
        value = raw[arg.name]
        if isinstance(value, bool):
            named[arg.name] = "yes" if value else "no"
        elif isinstance(value, list):
            if value:
                named[arg.name] = str(value[0])
        elif isinstance(value, str) and value.strip():
            named[arg.name] = value
    return named


def _collect(components: list[dict[str, Any]], into: dict[str, Any]) -> None:
    for component in components:
        inner = component.get("component")
        if isinstance(inner, dict):
            _collect([inner], into)
        _collect(component.get("components") or [], into)
        custom = component.get("custom_id")
        if custom is None:
            continue
        if "values" in component:
            into[custom] = list(component["values"])
        elif "value" in component:
            into[custom] = component["value"]
