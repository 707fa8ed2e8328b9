"""Rows a transaction adds and need not read back at once (outbox messages, timers): held in
its session and written as one INSERT per statement before the transaction's next ORM
statement or at its commit, whichever is first. So every read, change or delete through the
session later in that transaction sees them, and they commit with it or not at all.

Why: the ORM's unit of work cost ~4x a Core INSERT, and a `call` wrote its timers in two
statements (issue 18). A Core statement run on `session.connection()` passes by the hook:
code that runs one on these tables awaits `written(session)` first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

_KEY = "pending_rows"


def add(session: AsyncSession | Session, statement: Insert, rows: list[dict[str, Any]]) -> None:
    """Rows for `statement` (built once: the same object each time), written later."""
    if not rows:
        return
    pending: dict[int, tuple[Insert, list[dict[str, Any]]]] = session.info.setdefault(_KEY, {})
    pending.setdefault(id(statement), (statement, []))[1].extend(rows)


def write(session: Session) -> None:
    pending = session.info.pop(_KEY, None)
    if pending:
        connection = session.connection()
        for statement, rows in pending.values():
            connection.execute(statement, rows)


async def written(session: AsyncSession) -> None:
    """Before a Core statement on `session.connection()` that must come after them."""
    if _KEY in session.info:
        await session.run_sync(write)


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    write(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
