"""The one command table. Adapters generate their command UI from it; the parser binds to it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    TEXT = "text"  # one word, or a "quoted value"
    REST = "rest"  # the last text argument: takes all remaining words
    INT = "int"
    CHOICE = "choice"
    BOOL = "bool"
    TIMEZONE = "timezone"
    MOOD = "mood"
    MEMBER = "member"  # @name


class Where(Enum):
    ROOM = "room"  # a circle's room
    DM = "dm"  # the member's direct conversation with the bot
    ANY = "any"


class Who(Enum):
    ANYONE = "anyone"  # no circle needed
    CIRCLE = "circle"  # a circle must exist here; anyone may run it
    MEMBER = "member"
    STEWARD = "steward"


@dataclass(frozen=True)
class Arg:
    name: str
    kind: Kind
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_len: int | None = None
    named_only: bool = False  # settings-like arguments make no sense by position
    default: object = None
    help: str = ""

    def usage(self) -> str:
        if self.kind is Kind.CHOICE:
            shape = "|".join(self.choices)
        elif self.kind is Kind.BOOL:
            shape = "yes|no"
        elif self.kind is Kind.INT and self.minimum is not None and self.maximum is not None:
            shape = f"{self.minimum}-{self.maximum}"
        else:
            shape = self.name
        if self.named_only or self.kind in (Kind.CHOICE, Kind.BOOL):
            shape = f"{self.name}:{shape}"
        return f"<{shape}>" if self.required else f"[{shape}]"


@dataclass(frozen=True)
class Command:
    path: str  # "circle setup"
    args: tuple[Arg, ...] = ()
    where: Where = Where.ANY
    who: Who = Who.MEMBER
    help_key: str = ""  # key in the text catalogue; defaults to "help.<path>"
    hidden: bool = False
    private: bool = False  # always answered privately (lifeline, availability)
    private_errors: bool = False  # its rejections can quote private words: answered privately
    takes_settings: bool = False  # its arguments are every feature's settings (circle settings)

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.path.split())

    @property
    def key(self) -> str:
        return self.help_key or "help." + self.path.replace(" ", ".")

    def usage(self) -> str:
        return " ".join([self.path, *(a.usage() for a in self.args)])

    def arg(self, name: str) -> Arg | None:
        for a in self.args:
            if a.name == name:
                return a
        return None


NOTE_LIMIT = 1000
NAME_LIMIT = 80
LONG_TEXT_LIMIT = 4000

# A named argument every circle command accepts, to pick a circle from a direct conversation.
CIRCLE_ARG = Arg("circle", Kind.TEXT, max_len=NAME_LIMIT, named_only=True)

# Mood words every circle understands; a circle may add its own in settings.
DEFAULT_MOOD_WORDS: dict[str, int] = {
    "awful": 1, "terrible": 1, "bad": 2, "low": 2, "rough": 2, "meh": 3, "okay": 3, "ok": 3,
    "fine": 3, "good": 4, "great": 5,
}


class CommandTable:
    """The one command table: every feature's commands, and each group's default."""

    def __init__(self, commands: tuple[Command, ...] = (),
                 defaults: dict[str, str] | None = None) -> None:
        self.commands: dict[str, Command] = {}
        self.defaults: dict[str, str] = dict(defaults or {})
        self._groups: set[str] | None = None  # read on every line typed: kept until a change
        for c in commands:
            self.add(c)

    def add(self, command: Command) -> None:
        if command.path in self.commands:
            raise ValueError(f"command {command.path!r} declared twice")
        self.commands[command.path] = command
        self._groups = None

    def get(self, path: str) -> Command | None:
        return self.commands.get(path)

    @property
    def groups(self) -> set[str]:
        if self._groups is None:
            self._groups = {c.words[0] for c in self.commands.values() if len(c.words) > 1}
        return self._groups

    def subcommand_words(self, group: str) -> list[str]:
        return [c.words[1] for c in self.commands.values()
                if len(c.words) > 1 and c.words[0] == group]

    def visible(self) -> list[Command]:
        return [c for c in self.commands.values() if not c.hidden]
