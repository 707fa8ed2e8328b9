"""What a handler gets: the open transaction, the clock's instant, the outbox writer, and who
and where. Handlers raise UserError for bad input; the transaction is then rolled back whole."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot import timers
from bot.outbox import OutboxWriter, Recipient
from bot.refs import Place, UserRef
from bot.section import SettingsSection, merged
from bot.texts import Texts
from storage.models import Circle, Member, Person

if TYPE_CHECKING:
    from bot.dispatcher import Core

S = TypeVar("S", bound=SettingsSection)


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
    private: bool = False  # set by a handler whose answer turned out to hold private words
    timers_changed: bool = False
    timer_due: datetime | None = None  # when firing a timer: when it was due
    _sections: dict[tuple[int, str], SettingsSection] = field(default_factory=dict)

    def t(self, key: str, **values: object) -> str:
        return self.texts(key, **values)

    def section(self, section: type[S], circle: Circle | None = None) -> S:
        """A circle's effective settings for one feature's section."""
        circle = circle or self.circle
        assert circle is not None
        cache_key = (circle.id, section.section)
        found = self._sections.get(cache_key)
        if found is None:
            columns = {name: getattr(circle, name) for name in section.columns}
            found = merged(section, self.core.host_defaults[section.section],
                           circle.settings or {}, columns)
            self._sections[cache_key] = found
        assert isinstance(found, section)
        return found

    def n(self, key: str, count: int, **values: object) -> str:
        """A text that embeds a count, in the plural form that suits it."""
        return self.texts.n(key, count, **values)

    def forget_sections(self, circle: Circle) -> None:
        """After `circle settings` changed a circle, read its sections afresh."""
        for key in [k for k in self._sections if k[0] == circle.id]:
            del self._sections[key]

    def texts_for(self, person: Recipient, circle: Circle | None = None) -> Texts:
        circle = circle or self.circle
        return Texts(person.language or (circle.language if circle else None))

    def circle_texts(self, circle: Circle | None = None) -> Texts:
        circle = circle or self.circle
        return Texts(circle.language if circle else None)

    def post(self, circle: Circle, text: str, **kw: Any) -> str:
        return self.out.post(circle.platform, circle.room_id, text, **kw)

    def dm(self, person: Recipient, text: str, **kw: Any) -> str:
        return self.out.dm(person, text, **kw)

    async def schedule(self, payload: Any, due_at: datetime, key: str) -> None:
        """A timer, typed by its payload dataclass (the feature declared which kind it is)."""
        kind = self.core.features.kind_of[type(payload)]
        await timers.schedule(self.session, self.now, kind, due_at, key,
                              dataclasses.asdict(payload),
                              urgent=self.core.features.timers[kind].urgent)
        self.timers_changed = True

    async def schedule_all(self, *timers_: tuple[Any, datetime, str]) -> None:
        """Several timers, (payload, due_at, key) each, written with the transaction's other
        timers in one statement (bot/pending_rows.py)."""
        kinds = self.core.features.kind_of
        timers.schedule_many(self.session, self.now, [
            (kinds[type(p)], due_at, key, dataclasses.asdict(p),
             self.core.features.timers[kinds[type(p)]].urgent) for p, due_at, key in timers_])
        self.timers_changed = True

    async def cancel_timers(self, *keys: str) -> None:
        await timers.cancel(self.session, self.now, *keys)
