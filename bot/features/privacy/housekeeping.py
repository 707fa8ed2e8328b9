"""One system-wide housekeeping timer, every hour: each feature's retention sweep, then the
machinery's own: stored replies to redelivered events forgotten, bodies of sent messages
cleared after a short grace (ids and keys stay, for edits), fired timers and old rows pruned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, or_, update

from bot.context import Ctx
from bot.feature import Feature
from bot.features.privacy.settings import PrivacySettings
from bot.recurring import Recurrence, next_due, next_occurrence
from storage.models import OutboxMessage, Person, ProcessedEvent, Timer

EVERY_HOUR = Recurrence({"minute": 7})
# A redelivered platform event (after a crash) comes within minutes; its stored answer can
# quote a lifeline note, so it is kept no longer than this.
PROCESSED_KEEP = timedelta(hours=1)
BODY_GRACE = timedelta(hours=1)  # sent message bodies, cleared after this
PRUNE_AFTER = timedelta(days=7)  # fired timers and delivered rows, deleted after this

feature = Feature("privacy", settings=PrivacySettings, group_defaults={"me": "show"},
                  transient=("processed_events", "outbox", "adapter_state"))


@dataclass(frozen=True)
class Housekeeping:
    pass


def _key(due: object) -> str:
    return f"housekeeping:{due}"


@feature.on_start
async def _ensure_timer(ctx: Ctx) -> None:
    due = next_occurrence(EVERY_HOUR, ctx.now)
    await ctx.schedule(Housekeeping(), due, _key(due.isoformat()))


@feature.timer("privacy.housekeeping", Housekeeping)
async def housekeeping(ctx: Ctx, payload: Housekeeping) -> None:
    await ctx.core.housekeeping(ctx)
    due = next_due(EVERY_HOUR, ctx.now if ctx.timer_due is None else ctx.timer_due, ctx.now)
    await ctx.schedule(Housekeeping(), due, _key(due.isoformat()))


@feature.housekeeping
async def _sweep(ctx: Ctx) -> None:
    now = ctx.now
    await ctx.session.execute(
        delete(ProcessedEvent).where(ProcessedEvent.created_at < now - PROCESSED_KEEP))
    await ctx.session.execute(
        update(OutboxMessage)
        .where(or_(OutboxMessage.sent_at < now - BODY_GRACE,
                   OutboxMessage.failed_at < now - BODY_GRACE),
               OutboxMessage.text != "")
        .values(text="", attachments=[]))
    await ctx.session.execute(
        delete(OutboxMessage).where(or_(OutboxMessage.sent_at < now - PRUNE_AFTER,
                                        OutboxMessage.failed_at < now - PRUNE_AFTER)))
    await ctx.session.execute(
        delete(Timer).where(or_(Timer.fired_at < now - PRUNE_AFTER,
                                Timer.cancelled_at < now - PRUNE_AFTER)))


@feature.forget_person
async def _forget(ctx: Ctx, person: Person) -> int:
    """What the machinery holds that names the person: messages to them and their answers,
    and anything said about them that is still kept: sent bodies are cleared at once (they
    would go within the hour anyway), and answers to others that name them are forgotten."""
    sent = await ctx.session.execute(
        delete(OutboxMessage).where(OutboxMessage.platform == person.platform,
                                    OutboxMessage.user_id == person.platform_user_id))
    await ctx.session.execute(
        update(OutboxMessage).where(OutboxMessage.sent_at.is_not(None), OutboxMessage.text != "")
        .values(text="", attachments=[]))
    names = {person.display_name, person.platform_user_id} - {""}
    replies = await ctx.session.execute(
        delete(ProcessedEvent).where(or_(
            and_(ProcessedEvent.platform == person.platform,
                 ProcessedEvent.user_id == person.platform_user_id),
            *(ProcessedEvent.reply_text.contains(n, autoescape=True) for n in names))))
    return int((sent.rowcount or 0) + (replies.rowcount or 0))  # type: ignore[attr-defined]
