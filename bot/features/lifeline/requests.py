"""A request's life: loading and locking it, paging a wave, falling back, closing it. Every
change happens in the caller's transaction with its outbox rows and its next timer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, func, insert, or_, select, text, update

from bot.answer import Action
from bot.context import Ctx
from bot.features.availability.models import Availability
from bot.features.lifeline.models import LifelinePage, LifelineRequest
from bot.features.lifeline.selection import Candidate, Limits, rank
from bot.features.lifeline.settings import LifelineSettings
from bot.features.lifeline.states import ACTIVE, TAKEN, State, move
from bot.features.mentorship.queries import current_mentor_member_ids
from bot.features.privacy.settings import PrivacySettings
from bot.features.rotation.pauses import paused_until
from bot.membership import Party, parties, party
from bot.outbox import PRIORITY_LIFELINE, Recipient
from bot.texts import Texts
from bot.timezones import zone
from storage.models import Circle, Member, OutboxMessage, Person

CONFIRM_GRACE = timedelta(minutes=5)  # after "connected?", before a claim lapses
EXPIRE_AFTER = timedelta(hours=24)
FOLLOWUP_AFTER = timedelta(days=1)
NIGHT = timedelta(hours=12)  # the window the per-night page cap counts over
QUARTER = timedelta(minutes=15)
CLAIM_MEMORY = timedelta(days=30)


def resources_list(t: Texts, settings: LifelineSettings) -> str:
    """The circle's crisis lines, each once, and the emergency number once (added when the
    circle's own list does not already say it)."""
    emergency = t("lifeline.emergency")
    entries = [r.text for r in settings.crisis_resources]
    if not any(e.strip() in (emergency, Texts()("lifeline.emergency")) for e in entries):
        entries.append(emergency)
    return "\n".join(f"- {e}" for e in entries)


def resources_block(t: Texts, settings: LifelineSettings) -> str:
    return t("lifeline.resources_head") + "\n" + resources_list(t, settings)


def key(req: LifelineRequest, what: str) -> str:
    return f"lifeline:{req.id}:{what}"


def page_actions(request_id: int) -> tuple[Action, ...]:
    return (Action("ack", "action.ack", "ack", (str(request_id),), "✅"),
            Action("decline", "action.decline", "decline", (str(request_id),), "❌"))




async def lock(ctx: Ctx, req: LifelineRequest) -> None:
    """Every change to a request holds its row (FOR UPDATE on PostgreSQL; SQLite's writes are
    already serial), and reads its state fresh: a wave and an ack, or two declines, at the
    same moment then happen one after the other, each seeing what the other did."""
    await ctx.session.refresh(req, with_for_update=True)


async def load(ctx: Ctx, request_ids: list[int]) -> dict[int, tuple[LifelineRequest, Circle]]:
    """These requests, locked and read fresh (see `lock`), with their circles; gone ones are
    left out."""
    if not request_ids:
        return {}
    requests = list((await ctx.session.execute(
        select(LifelineRequest).where(LifelineRequest.id.in_(request_ids))
        .with_for_update().execution_options(populate_existing=True))).scalars())
    circles = {c.id: c for c in (await ctx.session.execute(
        select(Circle).where(Circle.id.in_({q.circle_id for q in requests})))).scalars()}
    return {q.id: (q, circles[q.circle_id]) for q in requests if q.circle_id in circles}


async def member_ids(ctx: Ctx, person: Person) -> list[int]:
    return list((await ctx.session.execute(
        select(Member.id).where(Member.person_id == person.id))).scalars())


async def active_request_of(ctx: Ctx, ids: list[int]) -> LifelineRequest | None:
    if not ids:
        return None
    return (await ctx.session.execute(
        select(LifelineRequest)
        .where(LifelineRequest.requester_member_id.in_(ids),
               LifelineRequest.state.in_(ACTIVE))
        .order_by(LifelineRequest.id.desc()).limit(1)
    )).scalar_one_or_none()


class Recent(NamedTuple):
    id: int
    state: str
    opened_at: datetime


_RECENT = (select(LifelineRequest.id, LifelineRequest.state, LifelineRequest.opened_at)
           .join(Member, Member.id == LifelineRequest.requester_member_id)
           .where(Member.person_id == bindparam("person"),
                  or_(LifelineRequest.state.in_(ACTIVE),
                      LifelineRequest.opened_at > bindparam("since")))
           .order_by(LifelineRequest.id.desc()))


async def recent_requests_of(ctx: Ctx, person: Person, since: datetime) -> list[Recent]:
    """The person's requests (from any of their circles) that are active or were opened
    after `since`, newest first. Columns, on the connection: every `call` asks, and the
    ORM's execute costs more than the query; a request is loaded only to be changed."""
    return [Recent(*row) for row in await (await ctx.session.connection()).execute(
        _RECENT, {"person": person.id, "since": since})]


def local_time(instant: datetime, tz: str) -> str:
    return instant.astimezone(zone(tz)).strftime("%H:%M")


# -- waves ------------------------------------------------------------------------------------
@dataclass
class Wave:
    """One request whose next wave is due, with the Ctx it is paged under (its outbox
    cause). `tell_requester`: `call` answers the requester itself when no one is reachable
    at once, so the resources reach them once."""

    ctx: Ctx
    req: LifelineRequest
    circle: Circle
    tell_requester: bool = True


async def next_wave(ctx: Ctx, req: LifelineRequest, circle: Circle, *,
                    tell_requester: bool = True) -> int:
    """Page the next wave now (or fall back); returns how many were paged."""
    return (await next_waves([Wave(ctx, req, circle, tell_requester)]))[0]


async def next_waves(waves: list[Wave]) -> list[int]:
    """Page the next wave of each request now (or fall back); returns how many each paged.
    All in one transaction: the candidates of every request are read together, then chosen
    request by request, each choice counting the pages of the ones before it (a member in
    two circles never gets past their caps), and the pages and next timers are written in
    one statement each."""
    if not waves:
        return []
    ctx = waves[0].ctx  # the session and the instant are the same for all
    due = []
    for w in waves:
        if await requester_left(w.ctx, w.req, w.circle):
            continue
        give_up_at = w.req.opened_at + timedelta(minutes=w.req.policy["give_up_minutes"])
        if w.req.lapses == 0 and ctx.now >= give_up_at:
            continue  # too late for another wave: the give-up timer takes it from here
        due.append(w)
    await lock_responders(ctx, [w.circle for w in due])
    pool = await load_pool(ctx, [(w.req, w.circle) for w in due])
    choices: list[tuple[Wave, Loaded, list[Candidate], bool]] = []
    for w in due:
        req, p = w.req, w.req.policy
        loaded = pool.loaded(req, w.circle)
        chosen = rank(loaded.candidates, **loaded.args(ctx.now, emergency=False))
        chosen = chosen[: p["wave_size"]]
        emergency = False
        if not chosen and p.get("emergency_wave", True) and not req.emergency_wave_done:
            chosen = rank(loaded.candidates, **loaded.args(ctx.now, emergency=True))
            emergency = True
            req.emergency_wave_done = True
        if chosen:
            req.wave += 1
            if req.first_page_at is None:
                req.first_page_at = ctx.now
            pool.paged(chosen, ctx.now)
        choices.append((w, loaded, chosen, emergency))
    # A new request (`call`) is stored only now, with its first wave: one INSERT, no UPDATE.
    new = [w.req for w in waves if w.req.id is None]
    if new:
        ctx.session.add_all(new)
        await ctx.session.flush()
    paged: dict[int, int] = {}
    pages: list[dict[str, Any]] = []
    from bot.features.lifeline.timers import WaveDue

    next_timers = []
    for w, loaded, chosen, emergency in choices:
        req = w.req
        if not chosen:
            await fallback(w.ctx, req, w.circle, tell_requester=w.tell_requester)
            continue
        pages += [_page(w.ctx, req, w.circle, c, loaded.responders[c.member_id],
                        loaded.requester_name, emergency) for c in chosen]
        paged[id(w)] = len(chosen)
        next_timers.append((WaveDue(req.id, req.wave + 1),
                            ctx.now + timedelta(minutes=req.policy["wave_minutes"]),
                            key(req, f"wave:{req.wave + 1}")))
    if pages:
        # As Core: the ORM's bulk path costs more than the INSERT.
        await (await ctx.session.connection()).execute(_PAGE_INSERT, pages)
        await ctx.schedule_all(*next_timers)  # the dispatcher reads the flag across the claim
    return [paged.get(id(w), 0) for w in waves]


def _page(ctx: Ctx, req: LifelineRequest, circle: Circle, c: Candidate, person: Recipient,
          requester_name: str, emergency: bool) -> dict[str, Any]:
    """The page's DM into the outbox; returns the page's row."""
    t = ctx.texts_for(person, circle)
    text = t("lifeline.page_emergency" if emergency else "lifeline.page", id=req.id,
             circle=circle.name, name=requester_name, time=local_time(ctx.now, c.timezone),
             tz=c.timezone)
    # A page not delivered by the time its wave closes is dropped, never sent late (after an
    # outage it could wake someone whose window has shut, for a request others now hold).
    outbox_key = ctx.dm(person, text, label=f"page:{req.id}:{c.member_id}:{req.lapses}",
                        priority=PRIORITY_LIFELINE, actions=page_actions(req.id),
                        expires_at=ctx.now + timedelta(minutes=req.policy["wave_minutes"]))
    return {"request_id": req.id, "member_id": c.member_id, "wave": req.wave,
            "round": req.lapses, "emergency": emergency, "state": "open",
            "paged_at": ctx.now, "outbox_key": outbox_key}


PAGING_LOCK = 0x5043 << 32  # advisory lock namespace: "PC", then a person id


async def lock_responders(ctx: Ctx, circles: list[Circle]) -> None:
    """On PostgreSQL, hold every opted-in member of these circles (by person, in id order, so
    two waves never wait on each other in a circle) before counting their pages: two waves at
    the same instant then see each other's pages, and no one gets more than their caps. A
    transaction-scoped advisory lock, so a member's own commands (which hold their person row)
    never wait on it. SQLite's writes are serial already."""
    if ctx.session.bind.dialect.name != "postgresql" or not circles:
        return
    ids = sorted(set((await ctx.session.execute(
        select(Member.person_id).join(Availability, Availability.member_id == Member.id)
        .where(Member.circle_id.in_({c.id for c in circles}), Availability.enabled.is_(True))
    )).scalars()))
    if ids:
        await ctx.session.execute(
            text("SELECT pg_advisory_xact_lock(k) FROM "
                 "(SELECT CAST(:base AS bigint) + x AS k FROM unnest(CAST(:ids AS bigint[])) "
                 "AS x ORDER BY x) AS ordered"), {"base": PAGING_LOCK, "ids": ids})


@dataclass
class Loaded:
    candidates: list[Candidate]
    seed: str  # the ties' order (selection.rank)
    requester_member_id: int | None
    already_paged: set[int]
    limits: Limits
    requester_name: str
    responders: dict[int, Responder]  # the candidates, by member id

    def args(self, now: datetime, emergency: bool) -> dict[str, Any]:
        return {"seed": self.seed, "requester_member_id": self.requester_member_id,
                "already_paged": self.already_paged, "now": now, "limits": self.limits,
                "emergency": emergency}


class Responder(NamedTuple):
    """An opted-in member, as the candidates' query reads them: with their person's columns
    (a Recipient for the page's DM), not a loaded Person (a wave reads thousands)."""

    member_id: int
    windows: str
    timezone: str
    accept_emergency: bool
    snoozed_until: datetime | None
    paused_until: datetime | None  # on pause (vacation) until then
    person_id: int
    platform: str
    platform_user_id: str
    language: str | None
    dm_closed_at: datetime | None


@dataclass
class PageCounts:
    """A person's recent pages and claims, across all their circles."""

    last: datetime | None = None
    quarter: int = 0
    night: int = 0
    claims: int = 0


@dataclass
class Pool:
    """What `rank` needs for several requests, read once: the opted-in members of their
    circles with their availability and pauses, everyone's recent pages, mentors, who each
    request already paged."""

    members: dict[int, list[Responder]]  # by circle id
    counts: dict[int, PageCounts]  # by person id
    mentors: dict[int, int]  # mentee member id -> mentor member id
    paged_here: dict[int, set[int]]  # request id -> member ids
    requesters: dict[int, Party]

    def loaded(self, req: LifelineRequest, circle: Circle) -> Loaded:
        mentor = self.mentors.get(req.requester_member_id or 0)
        rows = self.members.get(circle.id, [])
        found = []
        for row in rows:
            counts = self.counts.get(row.person_id, PageCounts())
            found.append(Candidate(
                member_id=row.member_id, person_id=row.person_id, windows=row.windows,
                timezone=row.timezone, accept_emergency=row.accept_emergency,
                # A member on pause (vacation) is quiet like a snoozed one, until the later.
                snoozed_until=max(filter(None, (row.snoozed_until, row.paused_until)),
                                  default=None),
                dm_closed=row.dm_closed_at is not None, last_paged=counts.last,
                pages_last_15_minutes=counts.quarter, pages_last_night=counts.night,
                claims_30_days=counts.claims, is_mentor=row.member_id == mentor))
        requester = self.requesters.get(req.requester_member_id or 0)
        p = req.policy
        opened = req.opened_at.isoformat() if req.opened_at else ""
        return Loaded(found, f"{req.requester_member_id}:{opened}", req.requester_member_id,
                      self.paged_here.get(req.id or 0, set()),
                      Limits(p["pages_per_15_minutes"], p["pages_per_night"]),
                      requester.person.display_name if requester else "",
                      {row.member_id: row for row in rows})

    def paged(self, chosen: list[Candidate], now: datetime) -> None:
        """Count pages just chosen, for the requests ranked after them."""
        for c in chosen:
            counts = self.counts.setdefault(c.person_id, PageCounts())
            counts.last, counts.quarter, counts.night = now, counts.quarter + 1, counts.night + 1


# Built once: a burst or a `call` runs them every time, and building one costs more than
# SQLite running it (issue 18).
_RESPONDERS = (
    # Columns, not objects: a burst reads thousands of rows. Run as Core (no autoflush): no
    # wave changes a member, their availability or their person.
    select(Member.circle_id, Member.id, Availability.windows, Availability.timezone,
           Availability.accept_emergency, Availability.snoozed_until,
           paused_until(Member.id, bindparam("now")), Person.id, Person.platform,
           Person.platform_user_id, Person.language, Person.dm_closed_at)
    .join(Person, Person.id == Member.person_id)
    .join(Availability, Availability.member_id == Member.id)
    .where(Member.circle_id.in_(bindparam("circles", expanding=True)),
           Availability.enabled.is_(True)))
_PAGE_COUNTS = (
    select(Member.person_id,
           func.max(LifelinePage.paged_at),
           func.sum(case((LifelinePage.paged_at > bindparam("quarter"), 1), else_=0)),
           func.sum(case((LifelinePage.paged_at > bindparam("night"), 1), else_=0)),
           func.sum(case((LifelinePage.state == "claimed", 1), else_=0)))
    .join(Member, Member.id == LifelinePage.member_id)
    .where(Member.person_id.in_(bindparam("people", expanding=True)),
           LifelinePage.paged_at > bindparam("memory"))
    .group_by(Member.person_id))
_PAGE_INSERT = insert(LifelinePage.__table__)
_PAGED = (select(LifelinePage.request_id, LifelinePage.member_id, LifelinePage.round,
                 LifelinePage.state)
          .where(LifelinePage.request_id.in_(bindparam("requests", expanding=True))))


async def load_pool(ctx: Ctx, requests: list[tuple[LifelineRequest, Circle]]) -> Pool:
    now = ctx.now
    session = ctx.session
    # Core on the connection (the ORM's execute costs more than these queries, issue 18),
    # which never autoflushes: what this transaction changed (a decline, a lapse) goes first.
    await session.flush()
    connection = await session.connection()
    members: dict[int, list[Responder]] = {}
    if requests:
        for circle_id, *row in (await connection.execute(
                _RESPONDERS, {"circles": list({c.id for _, c in requests}), "now": now})):
            members.setdefault(circle_id, []).append(Responder(*row))
    everyone = [row for rows in members.values() for row in rows]
    person_ids = sorted({row.person_id for row in everyone})
    counts: dict[int, PageCounts] = {}
    if person_ids:
        for pid, last, quarter, night, claims in (await connection.execute(_PAGE_COUNTS, {
                "people": person_ids, "quarter": now - QUARTER, "night": now - NIGHT,
                "memory": now - CLAIM_MEMORY})):
            counts[pid] = PageCounts(last, int(quarter or 0), int(night or 0), int(claims or 0))
    # Asked in this round, or said "can't" or let a claim lapse in any: not again. Those
    # whose pages were covered by a claim that lapsed may be asked in the new round. A
    # request not yet paged (wave 0) has no pages to read.
    rounds = {req.id: req.lapses for req, _ in requests if req.id and req.wave}
    paged_here: dict[int, set[int]] = {}
    if rounds:
        for request_id, member_id, round_, state in (await session.execute(
                _PAGED, {"requests": list(rounds)})):
            if round_ == rounds[request_id] or state in ("declined", "lapsed"):
                paged_here.setdefault(request_id, set()).add(member_id)
    requester_ids = [req.requester_member_id for req, _ in requests]
    return Pool(members, counts,
                await current_mentor_member_ids(connection, requester_ids), paged_here,
                await parties(ctx, requester_ids))


async def fallback(ctx: Ctx, req: LifelineRequest, circle: Circle, *,
                   tell_requester: bool = True) -> None:
    if req.state != State.PAGING:
        return
    move(req, "give_up")
    req.fallback_at = ctx.now
    await ctx.cancel_timers(key(req, f"wave:{req.wave + 1}"))
    requester = await party(ctx, req.requester_member_id)
    settings = ctx.section(LifelineSettings, circle)
    if requester is not None and tell_requester:
        t = ctx.texts_for(requester.person, circle)
        ctx.dm(requester.person, t("lifeline.fallback", id=req.id) + "\n" +
               resources_list(t, settings), label="fallback", priority=PRIORITY_LIFELINE)
    # Content-free notices: no name, no note; just that someone could not be reached, and
    # whether anyone was asked. Members who snoozed asked for quiet, even from notices.
    snoozed = set((await ctx.session.execute(
        select(Member.person_id).join(Availability, Availability.member_id == Member.id)
        .where(Member.circle_id == circle.id, Availability.snoozed_until > ctx.now)
    )).scalars())
    notify: dict[int, Person] = {p.id: p for p in await ctx.core.stewards(ctx, circle)}
    for person in (await ctx.session.execute(
        select(Person).join(Member, Member.person_id == Person.id)
        .join(Availability, Availability.member_id == Member.id)
        .where(Member.circle_id == circle.id, Availability.enabled.is_(True),
               Availability.accept_emergency.is_(True),
               or_(Availability.snoozed_until.is_(None), Availability.snoozed_until <= ctx.now))
    )).scalars():
        notify[person.id] = person
    # Those with an open page for this request were asked already; a notice would only blur it.
    asked = set((await ctx.session.execute(
        select(Member.person_id).join(LifelinePage, LifelinePage.member_id == Member.id)
        .where(LifelinePage.request_id == req.id, LifelinePage.state == "open"))).scalars())
    notice = "lifeline.fallback_notice_unanswered" if req.wave else "lifeline.fallback_notice"
    for person in notify.values():
        if person.id in snoozed | asked or (requester is not None
                                            and person.id == requester.person.id):
            continue
        t = ctx.texts_for(person, circle)
        ctx.dm(person, t(notice, circle=circle.name), label=f"fallback-notice:{person.id}",
               priority=PRIORITY_LIFELINE)


# -- closing ----------------------------------------------------------------------------------
async def close_other_pages(ctx: Ctx, req: LifelineRequest, circle: Circle, state: str,
                            text_key: str, keep: int | None = None) -> None:
    pages = (await ctx.session.execute(
        select(LifelinePage, Person)
        .join(Member, Member.id == LifelinePage.member_id)
        .join(Person, Person.id == Member.person_id)
        .where(LifelinePage.request_id == req.id, LifelinePage.state == "open")
    )).all()
    undelivered = [p.outbox_key for p, _ in pages if p.id != keep]
    if undelivered:  # pages still waiting in the outbox are no longer useful: dropped
        await ctx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key.in_(undelivered), OutboxMessage.sent_at.is_(None))
            .values(expires_at=ctx.now))
    for page, person in pages:
        if page.id == keep:
            continue
        page.state = state
        t = ctx.texts_for(person, circle)
        ctx.out.edit(person.platform, page.outbox_key, t(text_key, id=req.id),
                     label=f"edit:{page.id}:{state}", priority=PRIORITY_LIFELINE)


async def cancel_all_timers(ctx: Ctx, req: LifelineRequest) -> None:
    await ctx.cancel_timers(key(req, f"wave:{req.wave + 1}"),
                            *(key(req, f"give_up:{n}") for n in range(req.lapses + 1)),
                            *(key(req, f"connect:{n}") for n in range(req.lapses + 1)),
                            *(key(req, f"lapse:{n}") for n in range(req.lapses + 1)),
                            key(req, "expire"))


async def close(ctx: Ctx, req: LifelineRequest, circle: Circle, event: str,
                tell_claimer: str | None = None) -> None:
    """The one way a request ends: its state by the table, every timer cancelled, open pages
    edited to "closed", the note scheduled for deletion, and (when given) the one who took
    it told why, in their language."""
    claimer = await party(ctx, req.claimed_by_member_id) if req.state in TAKEN else None
    move(req, event)
    req.closed_at = ctx.now
    await cancel_all_timers(ctx, req)
    await close_other_pages(ctx, req, circle, "closed", "lifeline.page_closed")
    days = req.policy.get("lifeline_note_days",
                          ctx.section(PrivacySettings, circle).lifeline_note_days)
    from bot.features.lifeline.timers import ForgetNote

    await ctx.schedule(ForgetNote(req.id), ctx.now + timedelta(days=days),
                       key(req, "forget_note"))
    if tell_claimer is not None and claimer is not None:
        t = ctx.texts_for(claimer.person, circle)
        ctx.dm(claimer.person, t(tell_claimer, id=req.id), label=f"closed:{event}",
               priority=PRIORITY_LIFELINE)


async def requester_left(ctx: Ctx, req: LifelineRequest, circle: Circle) -> bool:
    """The requester left the circle (their membership is gone, so requester_member_id was
    set to NULL): nobody more is paged for them; the request is cancelled and the one who
    took it, if anyone, is told. Returns whether that happened."""
    if req.requester_member_id is not None or req.state not in (
            State.PAGING, State.CLAIMED, State.FALLBACK):
        return False
    await close(ctx, req, circle, "cancel", tell_claimer="lifeline.claimed_requester_gone")
    return True
