"""What the core says: an answer to the invoker, and the actions and attachments that travel
with it and with outbox messages. Adapters render them their way (Discord buttons, Matrix
reactions, the console's `[actions: ...]` hint)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Action:
    """A button-like choice on a message: pressing it runs `command` with `args` as the
    message's recipient. `id` is stable (it ends up in Discord custom_ids); `label` is a text
    key; `emoji` is the reaction that stands for it where the platform has no buttons."""

    id: str
    label: str
    command: str
    args: tuple[str, ...] = ()
    emoji: str = ""

    def line(self) -> str:
        """The command line this action stands for, as a member could type it."""
        return " ".join([self.command, *self.args])

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "command": self.command,
                "args": list(self.args), "emoji": self.emoji}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Action:
        return Action(id=str(data["id"]), label=str(data.get("label", "")),
                      command=str(data["command"]),
                      args=tuple(str(a) for a in data.get("args", ())),
                      emoji=str(data.get("emoji", "")))


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a message (the health PNG, an export). `alt` describes it for
    clients without images and for screen readers."""

    filename: str
    mime: str
    data: bytes
    alt: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "mime": self.mime, "alt": self.alt,
                "data": base64.b64encode(self.data).decode("ascii")}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Attachment:
        return Attachment(filename=str(data["filename"]), mime=str(data["mime"]),
                          data=base64.b64decode(data.get("data", "")),
                          alt=str(data.get("alt", "")))


@dataclass(frozen=True)
class Answer:
    """The direct answer to the invoker. `private`: it holds what the room may not see, so it
    goes to the member's direct conversation wherever the command was typed (ephemeral on
    Discord; on Matrix the room command is redacted where allowed)."""

    text: str
    private: bool = False
    actions: tuple[Action, ...] = ()
    attachments: tuple[Attachment, ...] = field(default=())
    ok: bool = True
    replayed: bool = False  # the event was handled before; this is the answer it got then
