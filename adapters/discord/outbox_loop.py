"""The Discord outbox sender's loop, run by the bot itself: it drains after every commit of
the core (woken through the client's own event dispatch), when a row's next attempt is due,
and every few seconds for rows other processes wrote. Waiting on the client's events (not a
bare asyncio.Event) is what lets an offline test double see the loop as idle, not stuck."""

from __future__ import annotations

import logging

import discord
from sqlalchemy import select

from bot.clock import Clock
from bot.logs import log_failure
from bot.outbox import OutboxSender
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

WAKE = "peercircle_outbox"  # dispatched as a client event; the loop waits for it
POLL = 5.0  # seconds: rows written by other processes are found this late at most
SOONEST = 0.5  # never spin faster than this on a row that is not ready yet


class OutboxLoop:
    def __init__(self, client: discord.Client, sender: OutboxSender, db: Database,
                 clock: Clock) -> None:
        self.client = client
        self.sender = sender
        self.db = db
        self.clock = clock
        self._pending = False  # a wake came while draining: drain again before waiting

    def wake(self, _timers_changed: bool = False) -> None:
        """Called after every commit of the core."""
        self._pending = True
        if not self.client.is_closed():
            self.client.dispatch(WAKE)

    async def run(self) -> None:
        while not self.client.is_closed():
            self._pending = False
            try:
                await self.sender.drain()
            except Exception as exc:
                log_failure(log, "discord outbox: drain failed; retrying", exc=exc)
            if self._pending:
                continue
            delay = await self._until_next()
            if self._pending:
                continue
            try:
                await self.client.wait_for(WAKE, timeout=delay)
            except TimeoutError:
                pass

    async def _until_next(self) -> float:
        """Seconds until the earliest row waiting for a retry may go (or the poll)."""
        try:
            async with self.db.transaction() as s:
                rows = (await s.execute(
                    select(OutboxMessage.next_attempt_at, OutboxMessage.lease_until)
                    .where(OutboxMessage.platform == self.sender.platform,
                           OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
                    .order_by(OutboxMessage.next_attempt_at).limit(20))).all()
        except Exception as exc:
            log_failure(log, "discord outbox: could not read the next attempt", exc=exc)
            return POLL
        now = self.clock.now()
        waits = [(max(at, lease or at) - now).total_seconds() for at, lease in rows]
        return min([POLL, *(max(w, SOONEST) for w in waits)])
