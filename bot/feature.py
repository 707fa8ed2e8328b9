"""A feature is one package: its commands beside their handlers, its timers with typed
payloads, its settings section, its texts and its hooks, gathered on one `Feature` object that
is registered in one place (bot/features/__init__.py).

    feature = Feature("checkins", settings=CheckinSettings)

    @feature.command("checkin", Arg("mood", Kind.MOOD), ..., private_errors=True)
    async def checkin(ctx: Ctx, args: dict[str, Any]) -> Answer: ...

    @dataclass(frozen=True)
    class Nudge:                      # a timer's payload, stored as JSON
        member_id: int

    @feature.timer("checkins.nudge", Nudge)
    async def nudge(ctx: Ctx, payload: Nudge) -> None: ...

    @feature.timer("onboarding.followup", FollowUp, together=True)
    async def followups_due(due: list[tuple[Ctx, FollowUp]]) -> None: ...  # a claim's at once

    @feature.member_left
    async def left(ctx: Ctx, member: Member, circle: Circle) -> None: ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.answer import Answer
from bot.commands import Arg, Command, CommandTable, Where, Who
from bot.section import SettingsSection

if TYPE_CHECKING:
    from bot.context import Ctx
    from storage.models import Circle, Member, Person

CommandHandler = Callable[["Ctx", dict[str, Any]], Awaitable[Answer | str]]
TimerHandler = Callable[["Ctx", Any], Awaitable[None]]
# A kind that fires together gets every due timer of one claim in one call, each with its own
# Ctx (its own outbox cause) on the shared transaction: reads made once for all of them are
# what lets a backlog of thousands, or 200 lifeline waves, fire in a second.
TimersHandler = Callable[[list[tuple["Ctx", Any]]], Awaitable[None]]
MemberLeft = Callable[["Ctx", "Member", "Circle"], Awaitable[None]]
ForgetPerson = Callable[["Ctx", "Person"], Awaitable[int]]  # returns rows removed or unlinked
ExportPerson = Callable[["Ctx", "Person"], Awaitable[dict[str, Any]]]
CircleInfo = Callable[["Ctx"], Awaitable[list[str]]]
Housekeeping = Callable[["Ctx"], Awaitable[None]]  # the daily sweep: retention, pruning
# Weekly figures for the circle's health picture: (week starts in UTC) -> series.
HealthSeries = Callable[["Ctx", list[Any]], Awaitable[list[Any]]]
StewardProvider = Callable[["Ctx", "Circle"], Awaitable[list["Person"]]]
# What a command answers when its handler crashed (nothing was changed); `call` must still
# carry the crisis resources. Gets the core and the invocation, opens its own transaction.
FailureAnswer = Callable[[Any, Any], Awaitable[str]]


@dataclass(frozen=True)
class TimerKind:
    kind: str
    payload: type
    handler: TimerHandler | TimersHandler
    urgent: bool = False  # claimed before every other kind (the lifeline)
    together: bool = False  # the handler is a TimersHandler


@dataclass
class Feature:
    name: str
    settings: type[SettingsSection] | None = None
    # A group word alone (or followed by words that are not a subcommand) runs this one.
    group_defaults: dict[str, str] = field(default_factory=dict)
    locale: Path | None = None  # the feature's .po catalogues, when it lives outside bot/
    # Tables whose personal rows this feature's forget hook removes or unlinks, and tables
    # that hold only anonymous aggregates (the coverage test reads both).
    forgets: tuple[str, ...] = ()
    aggregate_only: tuple[str, ...] = ()
    # Tables of short-lived rows with no link to a person, emptied by housekeeping within a
    # day (what a redelivered platform event was answered, adapter sync state).
    transient: tuple[str, ...] = ()
    commands: list[tuple[Command, CommandHandler]] = field(default_factory=list)
    timers: list[TimerKind] = field(default_factory=list)
    member_joined_hooks: list[MemberLeft] = field(default_factory=list)
    member_left_hooks: list[MemberLeft] = field(default_factory=list)
    forget_hooks: list[ForgetPerson] = field(default_factory=list)
    export_hooks: list[ExportPerson] = field(default_factory=list)
    info_hooks: list[CircleInfo] = field(default_factory=list)
    housekeeping_hooks: list[Housekeeping] = field(default_factory=list)
    health_hooks: list[HealthSeries] = field(default_factory=list)
    startup_hooks: list[Housekeeping] = field(default_factory=list)
    steward_providers: list[StewardProvider] = field(default_factory=list)
    failure_answers: dict[str, FailureAnswer] = field(default_factory=dict)

    # -- declarations -------------------------------------------------------------------
    def command(self, path: str, *args: Arg, where: Where = Where.ANY, who: Who = Who.MEMBER,
                private: bool = False, private_errors: bool = False, hidden: bool = False,
                help_key: str = "", takes_settings: bool = False
                ) -> Callable[[CommandHandler], CommandHandler]:
        """Declare a command beside its handler. `private`: always answered privately;
        `private_errors`: its rejections may quote private words, so they are private too;
        `takes_settings`: its arguments are every registered feature's settings."""
        command = Command(path, tuple(args), where, who, help_key=help_key, hidden=hidden,
                          private=private, private_errors=private or private_errors,
                          takes_settings=takes_settings)

        def deco(fn: CommandHandler) -> CommandHandler:
            self.commands.append((command, fn))
            return fn
        return deco

    def add_command(self, command: Command, handler: CommandHandler) -> None:
        self.commands.append((command, handler))

    def timer(self, kind: str, payload: type, *, urgent: bool = False,
              together: bool = False) -> Callable[[Any], Any]:
        """Declare a timer kind beside its handler: `(ctx, payload)`, or with `together`
        `[(ctx, payload), ...]` for all of one claim's due timers of this kind at once."""
        if not dataclasses.is_dataclass(payload):
            raise TypeError(f"timer {kind!r}: its payload must be a dataclass")

        def deco(fn: Any) -> Any:
            self.timers.append(TimerKind(kind, payload, fn, urgent, together))
            return fn
        return deco

    def on_failure(self, path: str) -> Callable[[FailureAnswer], FailureAnswer]:
        def deco(fn: FailureAnswer) -> FailureAnswer:
            self.failure_answers[path] = fn
            return fn
        return deco

    def member_joined(self, fn: MemberLeft) -> MemberLeft:
        self.member_joined_hooks.append(fn)
        return fn

    def member_left(self, fn: MemberLeft) -> MemberLeft:
        self.member_left_hooks.append(fn)
        return fn

    def forget_person(self, fn: ForgetPerson) -> ForgetPerson:
        self.forget_hooks.append(fn)
        return fn

    def member_rows(self, member_id: Any) -> None:
        """A table whose rows are one member's choices (its `member_id` column given): they go
        when the member leaves the circle and when the person asks to be forgotten."""
        from sqlalchemy import delete, select

        from storage.models import Member

        table = member_id.class_

        async def left(ctx: Ctx, member: Member, circle: Any) -> None:
            await ctx.session.execute(delete(table).where(member_id == member.id))

        async def forget(ctx: Ctx, person: Any) -> int:
            mine = select(Member.id).where(Member.person_id == person.id)
            gone = await ctx.session.execute(delete(table).where(member_id.in_(mine)))
            return int(gone.rowcount or 0)  # type: ignore[attr-defined]

        self.member_left(left)
        self.forget_person(forget)

    def export_person(self, fn: ExportPerson) -> ExportPerson:
        self.export_hooks.append(fn)
        return fn

    def on_start(self, fn: Housekeeping) -> Housekeeping:
        """Runs once when a core opens on a database, in its own transaction (e.g. to make
        sure a recurring timer exists)."""
        self.startup_hooks.append(fn)
        return fn

    def health(self, fn: HealthSeries) -> HealthSeries:
        """Weekly figures this feature adds to `health` (counts, never names)."""
        self.health_hooks.append(fn)
        return fn

    def housekeeping(self, fn: Housekeeping) -> Housekeeping:
        self.housekeeping_hooks.append(fn)
        return fn

    def circle_info(self, fn: CircleInfo) -> CircleInfo:
        self.info_hooks.append(fn)
        return fn

    def stewards(self, fn: StewardProvider) -> StewardProvider:
        self.steward_providers.append(fn)
        return fn


class Features:
    """Every registered feature, put together once: the command table, handlers by path,
    timer kinds by name and by payload type, settings sections, and the hooks in order."""

    def __init__(self, features: Iterable[Feature]) -> None:
        self.features = list(features)
        self.handlers: dict[str, CommandHandler] = {}
        self.timers: dict[str, TimerKind] = {}
        self.kind_of: dict[type, str] = {}
        self.sections: dict[str, type[SettingsSection]] = {}
        self.setting_owner: dict[str, type[SettingsSection]] = {}
        self.failure_answers: dict[str, FailureAnswer] = {}
        defaults: dict[str, str] = {}
        commands: list[Command] = []
        names: set[str] = set()
        for feature in self.features:
            if feature.name in names:
                raise ValueError(f"feature {feature.name!r} registered twice")
            names.add(feature.name)
            for command, handler in feature.commands:
                if command.path in self.handlers:
                    raise ValueError(f"command {command.path!r} declared twice")
                self.handlers[command.path] = handler
                commands.append(command)
            self.failure_answers.update(feature.failure_answers)
            for t in feature.timers:
                if t.kind in self.timers:
                    raise ValueError(f"timer kind {t.kind!r} declared twice")
                if t.payload in self.kind_of:
                    raise ValueError(f"timer payload {t.payload.__name__} used by two kinds")
                self.timers[t.kind] = t
                self.kind_of[t.payload] = t.kind
            for group, sub in feature.group_defaults.items():
                if group in defaults:
                    raise ValueError(f"group {group!r} has two default subcommands")
                defaults[group] = sub
            if feature.settings is not None:
                section = feature.settings
                if section.section in self.sections:
                    raise ValueError(f"settings section {section.section!r} declared twice")
                self.sections[section.section] = section
                for name in section.model_fields:
                    if name in self.setting_owner:
                        raise ValueError(f"setting {name!r} declared by two sections")
                    self.setting_owner[name] = section
            if feature.locale is not None:
                from bot.texts import register_catalogue

                register_catalogue(feature.locale)
        setting_args = tuple(a for section in self.sections.values() for a in section.args())
        commands = [dataclasses.replace(c, args=c.args + setting_args) if c.takes_settings
                    else c for c in commands]
        self.table = CommandTable(tuple(commands), defaults)
        self.check(self.table)

    def check(self, table: CommandTable) -> None:
        """Refuse to start with a command nobody handles or a handler no command reaches."""
        without_handler = sorted(set(table.commands) - set(self.handlers))
        without_command = sorted(set(self.handlers) - set(table.commands))
        if without_handler:
            raise RuntimeError(f"commands without a handler: {', '.join(without_handler)}")
        if without_command:
            raise RuntimeError(f"handlers without a command: {', '.join(without_command)}")
        for group, sub in table.defaults.items():
            if table.get(f"{group} {sub}") is None:
                raise RuntimeError(f"default subcommand {group} {sub} does not exist")

    def hooks(self, attr: str) -> list[Any]:
        return [hook for f in self.features for hook in getattr(f, attr)]

    def host_defaults(self, circle_defaults: dict[str, dict[str, Any]]
                      ) -> dict[str, SettingsSection]:
        """Each section's defaults from the config; every problem named by its path."""
        from pydantic import ValidationError

        from bot.config import ConfigError

        problems: list[str] = []
        found: dict[str, SettingsSection] = {}
        for name in sorted(set(circle_defaults) - set(self.sections)):
            problems.append(f"circle_defaults.{name}: not a known section; known: "
                            + ", ".join(sorted(self.sections)))
        for name, section in self.sections.items():
            given = circle_defaults.get(name) or {}
            if not isinstance(given, dict):
                problems.append(f"circle_defaults.{name}: should be a mapping of settings")
                continue
            try:
                found[name] = section.model_validate(given)
            except ValidationError as exc:
                for e in exc.errors():
                    where = ".".join(str(p) for p in ("circle_defaults", name, *e["loc"]))
                    msg = ("not a known setting" if e["type"] == "extra_forbidden"
                           else e["msg"])
                    problems.append(f"{where}: {msg}")
        if problems:
            raise ConfigError(problems)
        return found
