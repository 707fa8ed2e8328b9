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
    sensitive: bool = False  # always answered privately (lifeline, availability)

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

_ONOFF = ("on", "off")

TABLE: tuple[Command, ...] = (
    Command("help", (Arg("command", Kind.REST, max_len=100),), Where.ANY, Who.ANYONE),
    Command("think", (), Where.ANY, Who.ANYONE),
    Command("step", (Arg("n", Kind.INT, minimum=1, maximum=12),), Where.ANY, Who.ANYONE),
    Command(
        "circle setup",
        (
            Arg("name", Kind.TEXT, required=True, max_len=NAME_LIMIT),
            Arg("timezone", Kind.TIMEZONE, required=True),
        ),
        Where.ROOM,
        Who.ANYONE,
    ),
    Command("circle info", (), Where.ANY, Who.CIRCLE),
    Command(
        "circle settings",
        (
            Arg("timezone", Kind.TIMEZONE, named_only=True),
            Arg("language", Kind.CHOICE, choices=("en", "es"), named_only=True),
            Arg("name", Kind.TEXT, max_len=NAME_LIMIT, named_only=True),
            Arg("retention_days", Kind.INT, minimum=1, maximum=3650, named_only=True),
            Arg("lifeline_note_days", Kind.INT, minimum=0, maximum=90, named_only=True),
            Arg("followups", Kind.CHOICE, choices=_ONOFF, named_only=True),
            Arg("step_of_week", Kind.INT, minimum=0, maximum=12, named_only=True),
            Arg("crisis_resources", Kind.TEXT, max_len=LONG_TEXT_LIMIT, named_only=True),
            Arg("wave_size", Kind.INT, minimum=1, maximum=10, named_only=True),
            Arg("wave_minutes", Kind.INT, minimum=1, maximum=60, named_only=True),
            Arg("give_up_minutes", Kind.INT, minimum=2, maximum=240, named_only=True),
            Arg("connect_minutes", Kind.INT, minimum=1, maximum=120, named_only=True),
            Arg("max_requests_per_day", Kind.INT, minimum=1, maximum=20, named_only=True),
        ),
        Where.ROOM,
        Who.STEWARD,
    ),
    Command("join", (), Where.ROOM, Who.CIRCLE),
    Command("leave", (), Where.ANY, Who.MEMBER),
    Command("pact show", (), Where.ANY, Who.CIRCLE),
    Command("pact accept", (), Where.ANY, Who.MEMBER),
    Command(
        "pact edit",
        (Arg("text", Kind.REST, required=True, max_len=LONG_TEXT_LIMIT),),
        Where.ROOM,
        Who.STEWARD,
    ),
    Command(
        "checkin",
        (
            Arg("mood", Kind.MOOD),
            Arg("note", Kind.REST, max_len=NOTE_LIMIT),
            Arg("visibility", Kind.CHOICE, choices=("circle", "mentor", "private"),
                default="circle"),
            Arg("anonymous", Kind.BOOL, default=False),
        ),
        Where.ANY,
        Who.MEMBER,
    ),
    Command(
        "checkins",
        (Arg("period", Kind.CHOICE, choices=("today", "week"), default="today"),),
        Where.ANY,
        Who.MEMBER,
    ),
    Command(
        "followups",
        (Arg("state", Kind.CHOICE, choices=_ONOFF, required=True),),
        Where.ANY,
        Who.MEMBER,
    ),
)

_REQUEST_ID = Arg("id", Kind.INT, minimum=1, maximum=999_999_999)
_EMERGENCY = Arg("emergency", Kind.BOOL, named_only=True)

# The lifeline: everything about it is answered privately (Reply.sensitive).
LIFELINE: tuple[Command, ...] = (
    Command("available show", (), Where.ANY, Who.MEMBER, sensitive=True),
    Command(
        "available set",
        (
            Arg("windows", Kind.REST, required=True, max_len=300),
            Arg("timezone", Kind.TIMEZONE, named_only=True),
            _EMERGENCY,
        ),
        Where.ANY,
        Who.MEMBER,
        sensitive=True,
    ),
    Command("available on", (_EMERGENCY,), Where.ANY, Who.MEMBER, sensitive=True),
    Command("available off", (), Where.ANY, Who.MEMBER, sensitive=True),
    Command("available snooze", (Arg("until", Kind.REST, max_len=40),), Where.ANY, Who.MEMBER,
            sensitive=True),
    # Who.ANYONE: a non-member still gets the crisis resources with the answer.
    Command(
        "call open",
        (Arg("note", Kind.REST, max_len=NOTE_LIMIT),
         Arg("room", Kind.BOOL, named_only=True, default=False)),
        Where.ANY,
        Who.ANYONE,
        sensitive=True,
    ),
    Command("call cancel", (), Where.ANY, Who.ANYONE, sensitive=True),
    Command("call resolve", (Arg("followup", Kind.BOOL, named_only=True, default=True),),
            Where.ANY, Who.ANYONE, sensitive=True),
    Command("call connected", (), Where.ANY, Who.ANYONE, sensitive=True),
    Command("ack", (_REQUEST_ID,), Where.ANY, Who.ANYONE, sensitive=True),
    Command("decline", (_REQUEST_ID,), Where.ANY, Who.ANYONE, sensitive=True),
    Command("lifeline report",
            (Arg("period", Kind.CHOICE, choices=("7d", "30d"), default="7d"),),
            Where.ANY, Who.STEWARD),
)

TABLE = TABLE + LIFELINE

# A group word alone runs its default subcommand ("pact" is "pact show"); so does a group
# word followed by words that are not a subcommand (`call can't sleep` is `call open`).
GROUP_DEFAULTS: dict[str, str] = {"circle": "info", "pact": "show", "available": "show",
                                  "call": "open", "lifeline": "report"}

# Mood words every circle understands; a circle may add its own in settings.
DEFAULT_MOOD_WORDS: dict[str, int] = {
    "awful": 1, "terrible": 1, "bad": 2, "low": 2, "rough": 2, "meh": 3, "okay": 3, "ok": 3,
    "fine": 3, "good": 4, "great": 5,
}


class CommandTable:
    """Lookup over TABLE plus the commands later features register."""

    def __init__(self, commands: tuple[Command, ...] = TABLE,
                 defaults: dict[str, str] | None = None) -> None:
        self.commands: dict[str, Command] = {}
        self.defaults: dict[str, str] = dict(GROUP_DEFAULTS if defaults is None else defaults)
        for c in commands:
            self.add(c)

    def add(self, command: Command) -> None:
        if command.path in self.commands:
            raise ValueError(f"command {command.path!r} declared twice")
        self.commands[command.path] = command

    def get(self, path: str) -> Command | None:
        return self.commands.get(path)

    @property
    def groups(self) -> set[str]:
        return {c.words[0] for c in self.commands.values() if len(c.words) > 1}

    def subcommands(self, group: str) -> list[Command]:
        return [c for c in self.commands.values() if len(c.words) > 1 and c.words[0] == group]

    def visible(self) -> list[Command]:
        return [c for c in self.commands.values() if not c.hidden]
