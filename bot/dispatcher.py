"""The core: turns an invocation into one transaction (state, outbox, timers) and a reply,
and fires due timers the same way."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot import timers
from bot.answer import Action, Answer
from bot.clock import Clock
from bot.commands import CIRCLE_ARG, Command, Kind, Where, Who
from bot.config import Settings
from bot.context import Ctx, UserError
from bot.feature import Features
from bot.logs import kind as error_kind
from bot.logs import log_failure
from bot.membership import (
    circle_for_room,
    member_of,
    person_and_memberships,
    person_for,
)
from bot.outbox import OutboxWriter
from bot.parser import ParseError, bind, split_command
from bot.refs import Invocation, Place, UserRef
from bot.texts import Texts
from bot.textsafety import clean
from storage.db import Database
from storage.models import Circle, Member, OutboxMessage, Person, ProcessedEvent

log = logging.getLogger(__name__)

NAME_COLUMN = 255  # people.display_name: a longer platform name is cut, not refused


class Core:
    def __init__(self, db: Database, clock: Clock, settings: Settings,
                 features: Features) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.features = features
        self.table = features.table
        self.host_defaults = features.host_defaults(settings.circle_defaults)
        self.owner = timers.new_owner()
        self._listeners: list[Callable[[bool], None]] = []

    async def start(self) -> None:
        """Every feature's start-up hook, each in its own transaction."""
        for hook in self.features.hooks("startup_hooks"):
            async with self.db.transaction() as session:
                now = self.clock.now()
                ctx = Ctx(core=self, session=session, now=now,
                          out=OutboxWriter(session, now, f"start:{uuid.uuid4().hex}"),
                          texts=Texts())
                await hook(ctx)
            self._committed(ctx.timers_changed)

    async def housekeeping(self, ctx: Ctx) -> None:
        for hook in self.features.hooks("housekeeping_hooks"):
            await hook(ctx)

    def on_commit(self, listener: Callable[[bool], None]) -> None:
        """Called after every commit with whether timers changed (senders and wake-ups)."""
        self._listeners.append(listener)

    def _committed(self, timers_changed: bool) -> None:
        for listener in self._listeners:
            listener(timers_changed)

    # -- invocations --------------------------------------------------------------------
    async def handle_text(self, line: str, actor: UserRef, place: Place,
                          event_id: str | None = None, sent_at: datetime | None = None
                          ) -> Answer:
        line = clean(line)  # NUL and control characters never reach the database or a room
        try:
            parsed = split_command(self.table, line, Texts())
        except ParseError:
            texts = await self._texts_for(actor, place)  # only on this path: a read or two
            try:
                split_command(self.table, line, texts)
            except ParseError as exc:
                # What was typed may be private words (`chekin 2 my secret`): the room is
                # told nothing it did not already see, and the echo goes to the member.
                return Answer(str(exc), ok=False, private=_may_quote(line))
            raise
        return await self.invoke(Invocation(parsed.command.path, actor, place, parsed.positional,
                                            parsed.named, event_id, sent_at))

    async def texts_for(self, actor: UserRef, place: Place) -> Texts:
        """The member's language, else the room's circle's: for what an adapter says itself
        (a notice that a message could not be read, that the room saw a private command)."""
        return await self._texts_for(actor, place)

    async def _texts_for(self, actor: UserRef, place: Place) -> Texts:
        """The language to refuse a line in, before any command is known."""
        return Texts(await self.language_for(actor, place))

    async def language_for(self, actor: UserRef, place: Place) -> str | None:
        """The member's own language, else the room's circle's; None when neither is known
        (an adapter may then go by what the platform says of the member's client)."""
        async with self.db.transaction() as session:
            person = (await session.execute(
                select(Person).where(Person.platform == actor.platform,
                                     Person.platform_user_id == actor.id))).scalar_one_or_none()
            if person is not None and person.language:
                return person.language
            if place.room is not None:
                circle = await circle_for_room(session, place.room.platform, place.room.id)
                if circle is not None:
                    return circle.language
        return None

    async def invoke(self, inv: Invocation) -> Answer:
        command = self.table.get(inv.command)
        if command is None:
            texts = await self._texts_for(inv.actor, inv.place)
            return Answer(texts("err.unknown_command", word=inv.command[:40]), ok=False)
        inv = dataclasses.replace(
            inv, positional=tuple(clean(p) for p in inv.positional),
            named={k: clean(v) for k, v in inv.named.items()},
            actor=dataclasses.replace(inv.actor, display_name=clean(
                inv.actor.display_name).strip()[:NAME_COLUMN]))
        cause = f"inv:{inv.actor.platform}:{inv.event_id or uuid.uuid4().hex}"
        ctx: Ctx | None = None
        try:
            async with self.db.transaction() as session:
                now = self.clock.now()
                if inv.event_id is not None:
                    seen = await self._seen(session, inv)
                    if seen is not None:
                        return seen
                mine: list[tuple[Circle, Member]] | None = None
                if inv.place.room is None:  # in a DM: the person's circles come with them
                    person, mine = await person_and_memberships(session, inv.actor, now)
                else:
                    person = await person_for(session, inv.actor, now)
                ctx = Ctx(core=self, session=session, now=now,
                          out=OutboxWriter(session, now, cause), texts=Texts(person.language),
                          place=inv.place, actor=inv.actor, person=person,
                          sent_at=inv.sent_at)
                await self._locate(ctx, command, inv, mine)
                args = bind(command, inv.positional,
                            {k: v for k, v in inv.named.items()}, ctx.texts,
                            None)
                result = await self.features.handlers[command.path](ctx, args)
                answer = _as_answer(result, command.private or ctx.private)
                if inv.event_id is not None:
                    session.add(ProcessedEvent(
                        platform=inv.actor.platform, event_id=inv.event_id,
                        user_id=inv.actor.id, reply_text=answer.text, reply_private=answer.private,
                        reply_actions=[a.to_json() for a in answer.actions], created_at=now))
                await session.flush()
        except (UserError, ParseError) as exc:
            text = str(exc)
            overlong = _overlong(command, inv)
            if overlong is not None and inv.place.is_direct:
                # Refused for its length: in the member's own conversation, give the words
                # back so they can be shortened rather than written again.
                text += "\n" + (ctx.texts if ctx else Texts())("err.given_back", text=overlong)
            return Answer(text, ok=False, private=command.private_errors)
        except Exception as exc:
            log_failure(log, "command %s failed", command.path, exc=exc)
            return await self._failed(command, inv)
        assert ctx is not None
        self._committed(ctx.timers_changed)
        return answer

    async def _failed(self, command: Command, inv: Invocation) -> Answer:
        """A handler crashed: nothing was changed. Some commands must still say something
        (a failed `call` still carries the crisis resources)."""
        fallback = self.features.failure_answers.get(command.path)
        try:  # in the member's language, unless the database is what failed
            text = (await self._texts_for(inv.actor, inv.place))("err.internal")
        except Exception:
            text = Texts()("err.internal")
        if fallback is not None:
            try:
                text = await fallback(self, inv)
            except Exception as exc:
                log_failure(log, "failure answer for %s failed", command.path, exc=exc)
        return Answer(text, ok=False, private=command.private_errors)

    @staticmethod
    async def _seen(session: Any, inv: Invocation) -> Answer | None:
        row = (await session.execute(
            select(ProcessedEvent).where(ProcessedEvent.platform == inv.actor.platform,
                                         ProcessedEvent.event_id == inv.event_id)
        )).scalar_one_or_none()
        if row is None:
            return None
        return Answer(row.reply_text, private=row.reply_private, replayed=True,
                      actions=tuple(Action.from_json(a) for a in row.reply_actions or ()))

    async def _locate(self, ctx: Ctx, command: Command, inv: Invocation,
                      mine: list[tuple[Circle, Member]] | None) -> None:
        """Where/who checks, and the circle and member this invocation is about (`mine`: the
        person's circles and memberships, read with them in a DM)."""
        place = inv.place
        t = ctx.texts
        if command.where is Where.ROOM and place.is_direct:
            raise UserError(t("err.room_only", command=command.path))
        if command.where is Where.DM and not place.is_direct:
            raise UserError(t("err.dm_only", command=command.path))
        person = ctx.person
        assert person is not None
        circle: Circle | None
        member: Member | None = None
        if place.room is not None:
            circle = await circle_for_room(ctx.session, place.room.platform, place.room.id)
            if circle is not None:
                member = await member_of(ctx.session, circle, person)
        else:  # the person's own circles came with them (invoke)
            assert mine is not None
            circle, member = await self._circle_from_dm(
                ctx, person, mine, inv.named.get(CIRCLE_ARG.name),
                required=command.who is not Who.ANYONE)
        if circle is None:
            if command.who is Who.ANYONE:
                return
            raise UserError(t("err.no_circle_here"))
        ctx.circle = circle
        ctx.texts = Texts(person.language or circle.language)
        ctx.member = member
        if command.who is Who.STEWARD:  # more queries, only where they matter
            ctx.is_steward = place.actor_is_room_admin or (
                ctx.member is not None and person.id in {
                    p.id for p in await self.stewards(ctx, circle)})
        if command.who is Who.MEMBER and ctx.member is None:
            raise UserError(ctx.t("err.not_member", circle=circle.name))
        if command.who is Who.STEWARD and not ctx.is_steward:
            raise UserError(ctx.t("err.not_steward", command=command.path))

    async def _circle_from_dm(self, ctx: Ctx, person: Person,
                              mine: list[tuple[Circle, Member]], wanted: str | None,
                              required: bool) -> tuple[Circle | None, Member | None]:
        if wanted:
            for c, m in mine:
                if c.name.lower() == wanted.strip().lower():
                    return c, m
            raise UserError(ctx.t("err.unknown_circle", name=wanted[:80],
                                  names=", ".join(c.name for c, _ in mine) or "-"))
        if len(mine) == 1:
            return mine[0]
        if not mine:
            if required:
                raise UserError(ctx.t("err.no_circles"))
            return None, None
        if required:
            raise UserError(ctx.t("err.which_circle", names=", ".join(c.name for c, _ in mine)))
        return None, None

    # -- timers -------------------------------------------------------------------------
    async def fire_due(self, limit: int = 50) -> int:
        """Fire every timer due now; returns how many fired. Lifeline timers are claimed
        first; the watchdog logs one line for the whole pass."""
        fired = 0
        watchdog = timers.Watchdog()
        try:
            while True:
                now = self.clock.now()
                claimed = await timers.claim_due(self.db, now, self.owner, limit)
                if not claimed:
                    return fired
                watchdog.saw(claimed, now)
                if self.db.dialect == "sqlite":
                    # Lifeline timers commit first and on their own, not after a backlog's.
                    for _, group in itertools.groupby(claimed, key=lambda t: t.priority):
                        fired += await self._fire_together(list(group))
                else:
                    for timer in claimed:
                        fired += await self._fire(timer)
        finally:
            watchdog.report()

    async def _fire_together(self, claimed: list[Any]) -> int:
        """On SQLite, the timers of one claim fire in one transaction: one commit (one fsync)
        and one compare-and-set for them all, since writes there are serial anyway. If any of
        them fails, nothing of that transaction is kept and each is fired again on its own,
        in its own transaction, as before: the one that fails is retried later, the others
        commit (their handlers only write rows, so running one twice is harmless)."""
        now = self.clock.now()
        try:
            async with self.db.transaction() as session:
                mine = await timers.mark_all_fired(session, claimed, self.owner, now)
                fired = [t for t in claimed if t.id in mine]
                changed = await self._handle(session, fired, now)
                await session.flush()
        except Exception as exc:
            log.info("firing %d timers together failed (%s); firing each alone",
                     len(claimed), error_kind(exc))
            return sum([await self._fire(timer) for timer in claimed])
        self._committed(changed)
        return len(fired)

    async def _fire(self, timer: Any) -> bool:
        now = self.clock.now()
        try:
            async with self.db.transaction() as session:
                # Compare-and-set: only the lease holder fires it.
                if not await timers.mark_fired(session, timer, self.owner, now):
                    return False
                changed = await self._handle(session, [timer], now)
                await session.flush()
        except Exception as exc:
            await self._failed_timer(timer, exc)
            return False
        self._committed(changed)
        return True

    async def _handle(self, session: Any, fired: list[Any], now: datetime) -> bool:
        """Run these timers' handlers in the caller's transaction, in order, each with its
        own Ctx; a run of timers of a kind that fires together goes to its handler in one
        call. Returns whether any of them changed timers."""
        changed = False
        for name, run in itertools.groupby(fired, key=lambda t: t.kind):
            due = list(run)
            kind = self.features.timers.get(name)
            if kind is None:
                log.error("no handler for timer kind %s; dropping %s", name,
                          ", ".join(t.key for t in due))
                continue
            items = [(Ctx(core=self, session=session, now=now,
                          out=OutboxWriter(session, now, f"timer:{t.key}"), texts=Texts(),
                          timer_due=t.due_at), _payload(kind.payload, t.payload))
                     for t in due]
            if kind.together:
                await kind.handler(items)  # type: ignore[call-arg,arg-type]
            else:
                for ctx, payload in items:
                    await kind.handler(ctx, payload)  # type: ignore[call-arg]
            changed |= any(ctx.timers_changed for ctx, _ in items)
        return changed

    async def _failed_timer(self, timer: Any, exc: Exception) -> None:
        log_failure(log, "timer %s (%s) failed; will retry", timer.key, timer.kind, exc=exc)
        await timers.release_after_error(self.db, timer, self.owner, self.clock.now(),
                                         error_kind(exc))

    async def next_due_at(self) -> Any:
        return await timers.next_due_at(self.db)

    # -- hooks: every feature's, in registration order ----------------------------------------
    async def member_joined(self, ctx: Ctx, member: Member, circle: Circle) -> None:
        for hook in self.features.hooks("member_joined_hooks"):
            await hook(ctx, member, circle)

    async def member_left(self, ctx: Ctx, member: Member, circle: Circle) -> None:
        for hook in self.features.hooks("member_left_hooks"):
            await hook(ctx, member, circle)

    async def forget_person(self, ctx: Ctx, person: Person) -> int:
        """Later features first: they may hold rows that point at earlier ones' (members)."""
        removed = 0
        for hook in reversed(self.features.hooks("forget_hooks")):
            removed += await hook(ctx, person)
        return removed

    async def export_person(self, ctx: Ctx, person: Person) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for feature in self.features.features:
            for hook in feature.export_hooks:
                part = await hook(ctx, person)
                if part:
                    found.setdefault(feature.name, {}).update(part)
        return found

    async def circle_info(self, ctx: Ctx) -> list[str]:
        lines: list[str] = []
        for hook in self.features.hooks("info_hooks"):
            lines.extend(await hook(ctx))
        return lines

    async def stewards(self, ctx: Ctx, circle: Circle) -> list[Person]:
        found: dict[int, Person] = {}
        for provider in self.features.hooks("steward_providers"):
            for person in await provider(ctx, circle):
                found.setdefault(person.id, person)
        return list(found.values())

    # -- actions ------------------------------------------------------------------------------
    async def action_invocation(self, platform: str, message_id: str, action_id: str,
                                actor: UserRef, *, by_key: bool = False,
                                event_id: str | None = None,
                                sent_at: datetime | None = None) -> Invocation | None:
        """A pressed action (button, reaction) as the invocation it stands for, or None when
        the message has no such action or the presser is not the one it was sent to. The
        message is found by its platform message id (or by its outbox key); the action by
        its id or by its emoji (a reaction)."""
        column = OutboxMessage.key if by_key else OutboxMessage.platform_message_id
        async with self.db.transaction() as s:
            row = (await s.execute(
                select(OutboxMessage).where(OutboxMessage.platform == platform,
                                            column == message_id)
            )).scalars().first()
        if row is None or row.kind != "dm" or row.user_id != actor.id:
            return None
        for data in row.actions or ():
            action = Action.from_json(data)
            if action_id in (action.id, action.emoji):
                return Invocation(action.command, actor, Place.direct(), action.args,
                                  event_id=event_id, sent_at=sent_at)
        return None


def _as_answer(result: Answer | str, private: bool) -> Answer:
    if isinstance(result, str):
        return Answer(result, private=private)
    if private and not result.private:
        return Answer(result.text, True, result.actions, result.attachments)
    return result


def _payload(payload_type: type, stored: dict[str, Any] | None) -> Any:
    """A stored payload as its dataclass; keys the class no longer has are ignored."""
    names = {f.name for f in dataclasses.fields(payload_type)}
    return payload_type(**{k: v for k, v in (stored or {}).items() if k in names})


def _overlong(command: Command, inv: Invocation) -> str | None:
    """The text of an invocation that is longer than its argument allows, if any."""
    limits = [a.max_len for a in command.args
              if a.max_len is not None and a.kind in (Kind.TEXT, Kind.REST)]
    for text in (*inv.named.values(), " ".join(inv.positional)):
        if any(len(text) > n for n in limits):
            return text
    return None


def _may_quote(line: str) -> bool:
    """A rejected line is echoed in its error; anything beyond a command word or two could be
    what a member meant to keep private, so such an error goes to them alone."""
    return len(line.split()) > 2
