"""What an adapter may offer while a member is still typing an argument (Discord autocomplete):
the member's circles, timezone names, mood words, choices, and the values of actions the bot
recently sent the member for that command (the ids of their open pages). These are offers
only: whatever the member sends is parsed and validated again like any other invocation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import available_timezones

from sqlalchemy import select

from bot.answer import Action
from bot.commands import CIRCLE_ARG, DEFAULT_MOOD_WORDS, Arg, Command, Kind
from bot.membership import circles_of
from bot.refs import UserRef
from bot.timezones import resolve_timezone
from storage.models import OutboxMessage, Person

if TYPE_CHECKING:
    from bot.dispatcher import Core

LIMIT = 25  # Discord shows at most 25; more would be noise anywhere
RECENT = timedelta(days=1)  # actions older than this are not offered
LABEL_LIMIT = 100


@dataclass(frozen=True)
class Suggestion:
    value: str  # what the argument is set to
    label: str  # what the member sees in the list


async def suggest(core: Core, actor: UserRef, command_path: str, arg_name: str, typed: str,
                  limit: int = LIMIT) -> list[Suggestion]:
    command = core.table.get(command_path)
    if command is None:
        return []
    typed = typed.strip()
    if arg_name == CIRCLE_ARG.name:
        return (await _circles(core, actor, typed))[:limit]
    arg = command.arg(arg_name)
    if arg is None:
        return []
    if arg.kind is Kind.TIMEZONE:
        return [Suggestion(n, n) for n in timezone_matches(typed, limit)]
    if arg.kind is Kind.MOOD:
        return _moods(typed)[:limit]
    if arg.kind is Kind.CHOICE:
        return [Suggestion(c, c) for c in arg.choices if typed.lower() in c][:limit]
    return (await _action_values(core, actor, command, arg, typed))[:limit]


async def _circles(core: Core, actor: UserRef, typed: str) -> list[Suggestion]:
    async with core.db.transaction() as session:
        person = (await session.execute(
            select(Person).where(Person.platform == actor.platform,
                                 Person.platform_user_id == actor.id))).scalar_one_or_none()
        if person is None:
            return []
        circles = await circles_of(session, person)
    wanted = typed.lower()
    return [Suggestion(c.name, c.name) for c in circles if wanted in c.name.lower()]


@cache
def _zones() -> tuple[str, ...]:
    # Only names the parser accepts as places (no `localtime`, `posix/...`).
    return tuple(sorted(n for n in available_timezones() if resolve_timezone(n)[0] == n))


def timezone_matches(typed: str, limit: int = LIMIT) -> list[str]:
    """Names that start with what was typed, then those whose city does, then the rest that
    contain it: `berl` finds Europe/Berlin, `new_y` America/New_York."""
    wanted = typed.strip().lower().replace(" ", "_")
    zones = _zones()
    if not wanted:
        return list(zones[:limit])
    first = [z for z in zones if z.lower().startswith(wanted)]
    city = [z for z in zones if z not in first and z.lower().rsplit("/", 1)[-1].startswith(wanted)]
    rest = [z for z in zones if z not in first and z not in city and wanted in z.lower()]
    return (first + city + rest)[:limit]


def _moods(typed: str) -> list[Suggestion]:
    wanted = typed.lower()
    numbers = [Suggestion(str(n), str(n)) for n in range(1, 6) if str(n).startswith(wanted)]
    words = [Suggestion(w, f"{w} ({n})") for w, n in sorted(DEFAULT_MOOD_WORDS.items(),
                                                             key=lambda kv: (kv[1], kv[0]))
             if wanted and w.startswith(wanted)]
    return numbers + words


async def _action_values(core: Core, actor: UserRef, command: Command, arg: Arg,
                         typed: str) -> list[Suggestion]:
    """Values of `arg` in actions for this command on direct messages sent to the member in
    the last day that have not been edited since (an edit means the moment passed: a page
    someone else took). The most recent first."""
    positional = [a.name for a in command.args if not a.named_only]
    if arg.name not in positional:
        return []
    index = positional.index(arg.name)
    since = core.clock.now() - RECENT
    async with core.db.transaction() as session:
        rows = (await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.platform == actor.platform, OutboxMessage.kind == "dm",
                   OutboxMessage.user_id == actor.id, OutboxMessage.sent_at.is_not(None),
                   OutboxMessage.created_at >= since)
            .order_by(OutboxMessage.id.desc()).limit(50))).scalars().all()
        keys = [r.key for r in rows if r.actions]
        edited = set((await session.execute(
            select(OutboxMessage.edit_of).where(OutboxMessage.edit_of.in_(keys))
        )).scalars()) if keys else set()
    found: list[Suggestion] = []
    seen: set[str] = set()
    for row in rows:
        if row.key in edited:
            continue
        for data in row.actions or ():
            action = Action.from_json(data)
            if action.command != command.path or len(action.args) <= index:
                continue
            value = action.args[index]
            if value in seen or not value.startswith(typed):
                continue
            seen.add(value)
            first_line = (row.text or "").strip().splitlines()[:1]
            label = f"#{value}" + (f" · {first_line[0]}" if first_line else "")
            found.append(Suggestion(value, label[:LABEL_LIMIT]))
    return found
