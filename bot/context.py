"""What a handler gets: the open transaction, the clock's instant, the outbox writer, and who
and where. Handlers raise UserError for bad input; the transaction is then rolled back whole."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import timers
from bot.circle_settings import CircleSettings, effective
from bot.outbox import OutboxWriter
from bot.refs import Place, UserRef
from bot.texts import Texts
from storage.models import Circle, Member, Person

if TYPE_CHECKING:
    from bot.dispatcher import Core


class UserError(Exception):
    """One clear sentence for the member; nothing the handler wrote is kept."""


@dataclass
class Ctx:
    core: Core
    session: AsyncSession
    now: datetime
    out: OutboxWriter
    texts: Texts
    place: Place | None = None
    actor: UserRef | None = None
    person: Person | None = None
    circle: Circle | None = None
    member: Member | None = None
    is_steward: bool = False
    sent_at: datetime | None = None  # when the member sent the command, if the platform says
    extras: dict[str, Any] = field(default_factory=dict)

    def t(self, key: str, **values: object) -> str:
        return self.texts(key, **values)

    def n(self, key: str, count: int, **values: object) -> str:
        """A text that embeds a count, in the plural form that suits it."""
        return self.texts.n(key, count, **values)

    @property
    def settings(self) -> CircleSettings:
        assert self.circle is not None
        return self.settings_of(self.circle)

    def settings_of(self, circle: Circle) -> CircleSettings:
        return effective(self.core.settings.circle_defaults, circle.settings)

    def texts_for(self, person: Person, circle: Circle | None = None) -> Texts:
        circle = circle or self.circle
        return Texts(person.language or (circle.language if circle else None))

    def circle_texts(self, circle: Circle | None = None) -> Texts:
        circle = circle or self.circle
        return Texts(circle.language if circle else None)

    def post(self, circle: Circle, text: str, **kw: Any) -> str:
        return self.out.post(circle.platform, circle.room_id, text, **kw)

    def dm(self, person: Person, text: str, **kw: Any) -> str:
        return self.out.dm(person, text, **kw)

    async def schedule(self, kind: str, due_at: datetime, key: str,
                       payload: dict[str, Any] | None = None) -> None:
        await timers.schedule(self.session, self.now, kind, due_at, key, payload)
        self.extras["timers_changed"] = True

    async def cancel_timers(self, *keys: str) -> None:
        await timers.cancel(self.session, self.now, *keys)


CommandHandler = Callable[[Ctx, dict[str, Any]], Awaitable[str]]
TimerHandler = Callable[[Ctx, dict[str, Any]], Awaitable[None]]


class Registry:
    """Each feature module's handlers, by command path and by timer kind."""

    def __init__(self) -> None:
        self.commands: dict[str, CommandHandler] = {}
        self.timers: dict[str, TimerHandler] = {}

    def command(self, path: str) -> Callable[[CommandHandler], CommandHandler]:
        def deco(fn: CommandHandler) -> CommandHandler:
            self.commands[path] = fn
            return fn
        return deco

    def timer(self, kind: str) -> Callable[[TimerHandler], TimerHandler]:
        def deco(fn: TimerHandler) -> TimerHandler:
            self.timers[kind] = fn
            return fn
        return deco

    def merge(self, other: Registry) -> None:
        for path, fn in other.commands.items():
            if path in self.commands:
                raise ValueError(f"two handlers for {path!r}")
            self.commands[path] = fn
        for kind, tfn in other.timers.items():
            if kind in self.timers:
                raise ValueError(f"two handlers for timer {kind!r}")
            self.timers[kind] = tfn
