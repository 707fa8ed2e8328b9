"""The core's actions as persistent buttons. A button's custom_id holds only a version and the
action's id: which message it is on comes with the press, and the core finds the action (and
checks the presser is the one the message went to) from the stored outbox row, so a button
pressed after a restart works like one pressed a second after it was sent."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.answer import Action
from bot.texts import Texts

log = logging.getLogger(__name__)

PREFIX = "pc:1:a:"  # version 1 of the action buttons; a new layout gets a new version
ACTION_ID = r"[A-Za-z0-9_.\-]{1,64}"
TEMPLATE = re.escape(PREFIX) + r"(?P<action>" + ACTION_ID + r")"
LABEL_LIMIT = 80
MAX_BUTTONS = 25


def custom_id(action_id: str) -> str:
    return PREFIX + action_id


class ActionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    def __init__(self, action_id: str, label: str | None = None, emoji: Any = None,
                 style: discord.ButtonStyle = discord.ButtonStyle.secondary) -> None:
        super().__init__(discord.ui.Button(label=label, emoji=emoji, style=style,
                                           custom_id=custom_id(action_id)))
        self.action_id = action_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction,
                             item: discord.ui.Item[Any], match: re.Match[str],
                             /) -> ActionButton:
        button = item if isinstance(item, discord.ui.Button) else None
        return cls(match["action"], label=button.label if button else None,
                   emoji=button.emoji if button else None,
                   style=button.style if button else discord.ButtonStyle.secondary)

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        pressed = getattr(interaction.client, "action_pressed", None)
        if pressed is not None:
            await pressed(interaction, self.action_id)


def action_view(actions: tuple[Action, ...], lang: str | None) -> discord.ui.View | None:
    """A view of buttons for a message's actions; none when there are none."""
    usable = [a for a in actions if re.fullmatch(ACTION_ID, a.id)]
    if len(usable) != len(actions):
        log.warning("an action id does not fit a Discord custom_id; that button is left out")
    if not usable:
        return None
    texts = Texts(lang)
    view = discord.ui.View(timeout=None)
    for i, action in enumerate(usable[:MAX_BUTTONS]):
        label = texts(action.label) if texts.has(action.label) else action.label
        view.add_item(ActionButton(
            action.id, label=label[:LABEL_LIMIT] or None, emoji=action.emoji or None,
            style=discord.ButtonStyle.success if i == 0 else discord.ButtonStyle.secondary))
    return view
