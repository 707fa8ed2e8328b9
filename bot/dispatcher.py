"""The core: turns an invocation into one transaction (state, outbox, timers) and a reply,
and fires due timers the same way."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot import timers
from bot.clock import Clock
from bot.commands import CIRCLE_ARG, Command, CommandTable, Where, Who
from bot.config import Settings
from bot.context import Ctx, Registry, UserError
from bot.logs import log_failure
from bot.membership import circle_for_room, circles_of, is_steward, member_of, person_for
from bot.outbox import OutboxWriter
from bot.parser import ParseError, bind, split_command
from bot.refs import Invocation, Place, Reply, UserRef
from bot.texts import Texts
from storage.db import Database
from storage.models import Circle, Person, ProcessedEvent

log = logging.getLogger(__name__)


class Core:
    def __init__(self, db: Database, clock: Clock, settings: Settings | None = None,
                 table: CommandTable | None = None, registry: Registry | None = None) -> None:
        from bot.features import build_registry, build_table

        self.db = db
        self.clock = clock
        self.settings = settings or Settings()
        self.table = table or build_table()
        self.registry = registry or build_registry()
        self.owner = timers.new_owner()
        self._listeners: list[Callable[[bool], None]] = []
        missing = [c.path for c in self.table.commands.values()
                   if c.path not in self.registry.commands]
        if missing:
            raise RuntimeError(f"commands without a handler: {', '.join(missing)}")

    def on_commit(self, listener: Callable[[bool], None]) -> None:
        """Called after every commit with whether timers changed (senders and wake-ups)."""
        self._listeners.append(listener)

    def _committed(self, timers_changed: bool) -> None:
        for listener in self._listeners:
            listener(timers_changed)

    # -- invocations --------------------------------------------------------------------
    async def handle_text(self, line: str, actor: UserRef, place: Place,
                          event_id: str | None = None, sent_at: datetime | None = None) -> Reply:
        try:
            parsed = split_command(self.table, line, Texts())
        except ParseError:
            texts = await self._texts_for(actor, place)  # only on this path: a read or two
            try:
                split_command(self.table, line, texts)
            except ParseError as exc:
                return Reply(str(exc), ok=False)
            raise
        return await self.invoke(Invocation(parsed.command.path, actor, place, parsed.positional,
                                            parsed.named, event_id, sent_at))

    async def _texts_for(self, actor: UserRef, place: Place) -> Texts:
        """The language to refuse a line in, before any command is known."""
        async with self.db.transaction() as session:
            person = (await session.execute(
                select(Person).where(Person.platform == actor.platform,
                                     Person.platform_user_id == actor.id))).scalar_one_or_none()
            if person is not None and person.language:
                return Texts(person.language)
            if place.room is not None:
                circle = await circle_for_room(session, place.room.platform, place.room.id)
                if circle is not None:
                    return Texts(circle.language)
        return Texts()

    async def invoke(self, inv: Invocation) -> Reply:
        command = self.table.get(inv.command)
        if command is None:
            return Reply(Texts()("err.unknown_command", word=inv.command[:40]), ok=False)
        cause = f"inv:{inv.actor.platform}:{inv.event_id or uuid.uuid4().hex}"
        try:
            async with self.db.transaction() as session:
                now = self.clock.now()
                if inv.event_id is not None:
                    seen = await self._seen(session, inv)
                    if seen is not None:
                        return seen
                person = await person_for(session, inv.actor, now)
                ctx = Ctx(core=self, session=session, now=now,
                          out=OutboxWriter(session, now, cause), texts=Texts(person.language),
                          place=inv.place, actor=inv.actor, person=person,
                          sent_at=inv.sent_at)
                await self._locate(ctx, command, inv)
                args = bind(command, inv.positional,
                            {k: v for k, v in inv.named.items()}, ctx.texts,
                            ctx.settings.mood_words if ctx.circle else None)
                text = await self.registry.commands[command.path](ctx, args)
                sensitive = command.sensitive or bool(ctx.extras.get("sensitive"))
                if inv.event_id is not None:
                    session.add(ProcessedEvent(platform=inv.actor.platform,
                                               event_id=inv.event_id, reply_text=text,
                                               reply_sensitive=sensitive, created_at=now))
                await session.flush()
        except (UserError, ParseError) as exc:
            return Reply(str(exc), ok=False, sensitive=command.sensitive)
        except Exception as exc:
            log_failure(log, "command %s failed", command.path, exc=exc)
            return Reply(Texts()("err.internal"), ok=False)
        self._committed(bool(ctx.extras.get("timers_changed")))
        return Reply(text, sensitive=sensitive)

    @staticmethod
    async def _seen(session: Any, inv: Invocation) -> Reply | None:
        row = (await session.execute(
            select(ProcessedEvent).where(ProcessedEvent.platform == inv.actor.platform,
                                         ProcessedEvent.event_id == inv.event_id)
        )).scalar_one_or_none()
        if row is None:
            return None
        return Reply(row.reply_text, sensitive=row.reply_sensitive, replayed=True)

    async def _locate(self, ctx: Ctx, command: Command, inv: Invocation) -> None:
        """Where/who checks, and the circle and member this invocation is about."""
        place = inv.place
        t = ctx.texts
        if command.where is Where.ROOM and place.is_direct:
            raise UserError(t("err.room_only", command=command.path))
        if command.where is Where.DM and not place.is_direct:
            raise UserError(t("err.dm_only", command=command.path))
        person = ctx.person
        assert person is not None
        circle: Circle | None
        if place.room is not None:
            circle = await circle_for_room(ctx.session, place.room.platform, place.room.id)
        else:
            circle = await self._circle_from_dm(ctx, person, inv.named.get(CIRCLE_ARG.name),
                                                required=command.who is not Who.ANYONE)
        if circle is None:
            if command.who is Who.ANYONE:
                return
            raise UserError(t("err.no_circle_here"))
        ctx.circle = circle
        ctx.texts = Texts(person.language or circle.language)
        ctx.member = await member_of(ctx.session, circle, person)
        if command.who is Who.STEWARD:  # two more queries, only where they matter
            ctx.is_steward = place.actor_is_room_admin or (
                ctx.member is not None and await is_steward(ctx.session, circle, person, False))
        if command.who is Who.MEMBER and ctx.member is None:
            raise UserError(ctx.t("err.not_member", circle=circle.name))
        if command.who is Who.STEWARD and not ctx.is_steward:
            raise UserError(ctx.t("err.not_steward", command=command.path))

    async def _circle_from_dm(self, ctx: Ctx, person: Person, wanted: str | None,
                              required: bool) -> Circle | None:
        mine = await circles_of(ctx.session, person)
        if wanted:
            for c in mine:
                if c.name.lower() == wanted.strip().lower():
                    return c
            raise UserError(ctx.t("err.unknown_circle", name=wanted[:80],
                                  names=", ".join(c.name for c in mine) or "-"))
        if len(mine) == 1:
            return mine[0]
        if not mine:
            if required:
                raise UserError(ctx.t("err.no_circles"))
            return None
        if required:
            raise UserError(ctx.t("err.which_circle", names=", ".join(c.name for c in mine)))
        return None

    # -- timers -------------------------------------------------------------------------
    async def fire_due(self, limit: int = 50) -> int:
        """Fire every timer due now; returns how many fired."""
        fired = 0
        while True:
            now = self.clock.now()
            claimed = await timers.claim_due(self.db, now, self.owner, limit)
            if not claimed:
                return fired
            for timer in claimed:
                if await self._fire(timer):
                    fired += 1

    async def _fire(self, timer: Any) -> bool:
        handler = self.registry.timers.get(timer.kind)
        now = self.clock.now()
        changed = False
        try:
            async with self.db.transaction() as session:
                if not await timers.mark_fired(session, timer, self.owner, now):
                    return False
                ctx = Ctx(core=self, session=session, now=now,
                          out=OutboxWriter(session, now, f"timer:{timer.key}"), texts=Texts())
                ctx.extras["timer"] = timer
                if handler is None:
                    log.error("no handler for timer kind %s; dropping %s", timer.kind, timer.key)
                else:
                    await handler(ctx, dict(timer.payload or {}))
                await session.flush()
                changed = bool(ctx.extras.get("timers_changed"))
        except Exception as exc:
            log_failure(log, "timer %s (%s) failed; will retry", timer.key, timer.kind,
                        exc=exc)
            await timers.release_after_error(self.db, timer, self.owner, now, type(exc).__name__)
            return False
        self._committed(changed)
        return True

    async def next_due_at(self) -> Any:
        return await timers.next_due_at(self.db)
