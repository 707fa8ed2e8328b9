"""The lifeline: a member asks for a peer (`call`), the bot pages reachable peers by DM in
waves until one says "I'll take it". Peers refer, they do not assess; crisis resources are
shown at once and never withheld.

Every transition happens in one transaction with its outbox rows and its next timer:
  PAGING --ack--> CLAIMED --connected--> CONNECTED --resolve--> RESOLVED
  PAGING --give-up / no one reachable--> FALLBACK (late acks still connect)
  CLAIMED --no confirmation--> PAGING (the claim lapses)
  any active --cancel--> CANCELLED, --24 h--> RESOLVED
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select, update

from bot.circle_settings import CircleSettings
from bot.context import Ctx, Registry, UserError
from bot.membership import circles_of, member_of, stewards
from bot.mentions import mention
from bot.outbox import PRIORITY_LIFELINE
from bot.texts import Texts
from bot.windows import inside_text
from storage.models import (
    Availability,
    Circle,
    LifelinePage,
    LifelineRequest,
    Member,
    Person,
)

handlers = Registry()

CLAIMABLE = ("PAGING", "FALLBACK")
ACTIVE = ("PAGING", "CLAIMED", "CONNECTED", "FALLBACK")
CONFIRM_GRACE = timedelta(minutes=5)  # after "connected?", before a claim lapses
EXPIRE_AFTER = timedelta(hours=24)
FOLLOWUP_AFTER = timedelta(days=1)
NIGHT = timedelta(hours=12)  # the window the per-night page cap counts over
QUARTER = timedelta(minutes=15)
CLAIM_MEMORY = timedelta(days=30)
SEEN_LATE = timedelta(minutes=15)  # a `call` first seen this late asks before paging


# -- helpers ------------------------------------------------------------------------------
def resources_block(t: Texts, settings: CircleSettings) -> str:
    return "\n".join([t("lifeline.resources_head"), *(f"- {r}" for r in
                                                      settings.crisis_resources)])


def default_resources(ctx: Ctx) -> str:
    from bot.circle_settings import effective

    return resources_block(ctx.texts, effective(ctx.core.settings.circle_defaults, {}))


def policy(req: LifelineRequest) -> dict[str, Any]:
    return req.policy


def _key(req: LifelineRequest, what: str) -> str:
    return f"lifeline:{req.id}:{what}"


@dataclass
class Party:
    member: Member
    person: Person


async def _party(ctx: Ctx, member_id: int | None) -> Party | None:
    if member_id is None:
        return None
    member = await ctx.session.get(Member, member_id)
    if member is None:
        return None
    person = await ctx.session.get(Person, member.person_id)
    return Party(member, person) if person is not None else None


async def _lock(ctx: Ctx, req: LifelineRequest) -> None:
    """Every change to a request holds its row (FOR UPDATE on PostgreSQL; SQLite's writes are
    already serial), and reads its state fresh: a wave and an ack, or two declines, at the
    same moment then happen one after the other, each seeing what the other did."""
    await ctx.session.refresh(req, with_for_update=True)


async def _load(ctx: Ctx, request_id: int) -> tuple[LifelineRequest, Circle] | None:
    req = await ctx.session.get(LifelineRequest, request_id, with_for_update=True)
    if req is None:
        return None
    circle = await ctx.session.get(Circle, req.circle_id)
    return (req, circle) if circle is not None else None


async def _member_ids(ctx: Ctx, person: Person) -> list[int]:
    return list((await ctx.session.execute(
        select(Member.id).where(Member.person_id == person.id))).scalars())


async def active_request_of(ctx: Ctx, member_ids: list[int]) -> LifelineRequest | None:
    if not member_ids:
        return None
    return (await ctx.session.execute(
        select(LifelineRequest)
        .where(LifelineRequest.requester_member_id.in_(member_ids),
               LifelineRequest.state.in_(ACTIVE))
        .order_by(LifelineRequest.id.desc()).limit(1)
    )).scalar_one_or_none()


def _local(instant: datetime, tz: str) -> str:
    return instant.astimezone(ZoneInfo(tz)).strftime("%H:%M")


# -- call ---------------------------------------------------------------------------------
@handlers.command("call open")
async def call_open(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member = ctx.circle, ctx.member
    chosen_note = ""
    if circle is None and ctx.person is not None:
        # In several circles and none named: at 4am we don't ask which; we pick the circle
        # where most peers are reachable now, and say so.
        circle = await _best_circle(ctx, await circles_of(ctx.session, ctx.person))
        if circle is not None:
            ctx.circle = circle
            ctx.member = member = await member_of(ctx.session, circle, ctx.person)
            chosen_note = ctx.t("lifeline.chose_circle", circle=circle.name)
    if circle is None:
        return ctx.t("lifeline.no_circle") + "\n" + default_resources(ctx)
    settings = ctx.settings
    resources = resources_block(ctx.texts, settings)
    if member is None:
        return ctx.t("lifeline.join_first", circle=circle.name) + "\n" + resources
    note: str | None = args["note"] or None
    if ctx.sent_at is not None and ctx.now - ctx.sent_at > SEEN_LATE:
        # Seen long after it was sent (the bot was down): paging people for a need that may
        # have passed could wake them for nothing, and the member may have found help.
        sent = _local(ctx.sent_at, circle.timezone)
        return resources + "\n" + ctx.t("lifeline.seen_late", sent=sent)
    assert ctx.person is not None
    # One active request per person, whichever of their circles the repeat `call` lands in.
    active = await active_request_of(ctx, await _member_ids(ctx, ctx.person))
    if active is not None:
        if note:  # a repeat `call` attaches to the open request
            active.note = f"{active.note}\n{note}" if active.note else note
            if active.state in ("CLAIMED", "CONNECTED"):
                # Taken already: what they add must still reach the one who took it.
                claimer = await _party(ctx, active.claimed_by_member_id)
                if claimer is not None:
                    t = ctx.texts_for(claimer.person, await ctx.session.get(
                        Circle, active.circle_id))
                    ctx.dm(claimer.person, t("lifeline.note_added", id=active.id, note=note),
                           label="note-added", priority=PRIORITY_LIFELINE)
        return resources + "\n" + ctx.t("lifeline.still_open", id=active.id)
    assert ctx.person is not None
    opened_today = int((await ctx.session.execute(
        select(func.count()).select_from(LifelineRequest)
        .where(LifelineRequest.requester_member_id.in_(await _member_ids(ctx, ctx.person)),
               LifelineRequest.opened_at > ctx.now - timedelta(days=1))
    )).scalar_one())
    if opened_today >= settings.max_requests_per_day:
        return resources + "\n" + ctx.t("lifeline.too_many")
    req = LifelineRequest(circle_id=circle.id, requester_member_id=member.id, state="PAGING",
                          note=note, policy=settings.lifeline_policy(), wave=0,
                          emergency_wave_done=False, opened_at=ctx.now, lapses=0,
                          followup=True)
    ctx.session.add(req)
    await ctx.session.flush()
    await ctx.schedule("lifeline.give_up",
                       ctx.now + timedelta(minutes=settings.give_up_minutes),
                       _key(req, "give_up:0"), {"request_id": req.id, "round": 0})
    await ctx.schedule("lifeline.expire", ctx.now + EXPIRE_AFTER, _key(req, "expire"),
                       {"request_id": req.id})
    if args["room"]:
        assert ctx.person is not None
        ctx.post(circle, ctx.circle_texts()("lifeline.room_notice",
                                            name=ctx.person.display_name))
    paged = await next_wave(ctx, req, circle)
    head = resources + "\n" + ctx.t("lifeline.finding", id=req.id) + chosen_note
    if not paged and req.state == "FALLBACK":
        return head + "\n" + ctx.t("lifeline.none_reachable_reply")
    return head


async def _best_circle(ctx: Ctx, circles: list[Circle]) -> Circle | None:
    best: tuple[int, int] | None = None
    found: Circle | None = None
    for circle in circles:
        probe = LifelineRequest(id=0, requester_member_id=None,
                                policy=ctx.settings_of(circle).lifeline_policy())
        count = len(await reachable(ctx, probe, circle, emergency=False))
        if best is None or (count, -circle.id) > best:
            best, found = (count, -circle.id), circle
    return found


async def next_wave(ctx: Ctx, req: LifelineRequest, circle: Circle) -> int:
    """Page the next wave now (or fall back); returns how many were paged."""
    if await _requester_left(ctx, req, circle):
        return 0
    p = policy(req)
    give_up_at = req.opened_at + timedelta(minutes=p["give_up_minutes"])
    if req.lapses == 0 and ctx.now >= give_up_at:
        return 0  # too late for another wave: the give-up timer takes it from here
    regular = await reachable(ctx, req, circle, emergency=False)
    chosen: list[Party] = regular[: p["wave_size"]]
    emergency = False
    if not chosen and p.get("emergency_wave", True) and not req.emergency_wave_done:
        chosen = await reachable(ctx, req, circle, emergency=True)
        emergency = True
        req.emergency_wave_done = True
    if not chosen:
        await fallback(ctx, req, circle)
        return 0
    req.wave += 1
    for party in chosen:
        _page(ctx, req, circle, party, emergency)
    if req.first_page_at is None:
        req.first_page_at = ctx.now
    await ctx.schedule("lifeline.wave", ctx.now + timedelta(minutes=p["wave_minutes"]),
                       _key(req, f"wave:{req.wave + 1}"),
                       {"request_id": req.id, "wave": req.wave + 1})
    return len(chosen)


def _page(ctx: Ctx, req: LifelineRequest, circle: Circle, party: Party, emergency: bool) -> None:
    requester_name = ctx.extras.get("requester_name", "")
    t = ctx.texts_for(party.person, circle)
    tz = ctx.extras.get("tz_of", {}).get(party.member.id, circle.timezone)
    text = t("lifeline.page_emergency" if emergency else "lifeline.page", id=req.id,
             circle=circle.name, name=requester_name, time=_local(ctx.now, tz), tz=tz)
    key = ctx.dm(party.person, text, label=f"page:{req.id}:{party.member.id}",
                 priority=PRIORITY_LIFELINE,
                 meta={"lifeline_request": req.id, "actions": ["ack", "decline"]})
    ctx.session.add(LifelinePage(request_id=req.id, member_id=party.member.id, wave=req.wave,
                                 emergency=emergency, state="open", paged_at=ctx.now,
                                 outbox_key=key))


async def reachable(ctx: Ctx, req: LifelineRequest, circle: Circle,
                    emergency: bool) -> list[Party]:
    """Reachable members, in paging order. Re-evaluated at every wave."""
    p = policy(req)
    now = ctx.now
    requester = await _party(ctx, req.requester_member_id)
    ctx.extras["requester_name"] = requester.person.display_name if requester else ""
    paged_here = set((await ctx.session.execute(
        select(LifelinePage.member_id).where(LifelinePage.request_id == req.id))).scalars())
    rows = (await ctx.session.execute(
        select(Member, Person, Availability)
        .join(Person, Person.id == Member.person_id)
        .join(Availability, Availability.member_id == Member.id)
        .where(Member.circle_id == circle.id, Availability.enabled.is_(True))
    )).all()
    # Caps and order count a responder's pages from every circle they are in (by person).
    person_ids = sorted({m.person_id for m, _, _ in rows})
    stats: dict[int, tuple[datetime | None, int, int, int]] = {}
    if person_ids:
        for pid, last, quarter, night, claims in (await ctx.session.execute(
            select(
                Member.person_id,
                func.max(LifelinePage.paged_at),
                func.sum(case((LifelinePage.paged_at > now - QUARTER, 1), else_=0)),
                func.sum(case((LifelinePage.paged_at > now - NIGHT, 1), else_=0)),
                func.sum(case((LifelinePage.state == "claimed", 1), else_=0)),
            )
            .join(Member, Member.id == LifelinePage.member_id)
            .where(Member.person_id.in_(person_ids),
                   LifelinePage.paged_at > now - CLAIM_MEMORY)
            .group_by(Member.person_id)
        )).all():
            stats[pid] = (last, int(quarter or 0), int(night or 0), int(claims or 0))
    tz_of: dict[int, str] = ctx.extras.setdefault("tz_of", {})
    found: list[tuple[tuple[Any, ...], Party]] = []
    for member, person, avail in rows:
        if member.id == req.requester_member_id or member.id in paged_here:
            continue
        if person.dm_closed_at is not None:
            continue
        if avail.snoozed_until is not None and avail.snoozed_until > now:
            continue
        in_window = inside_text(avail.windows, avail.timezone, now)
        if emergency:
            if in_window or not avail.accept_emergency:
                continue
        elif not in_window:
            continue
        last, quarter, night, claims = stats.get(person.id, (None, 0, 0, 0))
        if quarter >= p["pages_per_15_minutes"] or night >= p["pages_per_night"]:
            continue
        tz_of[member.id] = avail.timezone
        seed = hashlib.sha256(f"{req.id}:{member.id}".encode()).hexdigest()
        order = (last is not None, last or now, claims, seed)
        found.append((order, Party(member, person)))
    found.sort(key=lambda item: item[0])
    return [party for _, party in found]


async def fallback(ctx: Ctx, req: LifelineRequest, circle: Circle) -> None:
    if req.state != "PAGING":
        return
    req.state = "FALLBACK"
    req.fallback_at = ctx.now
    await ctx.cancel_timers(_key(req, f"wave:{req.wave + 1}"))
    requester = await _party(ctx, req.requester_member_id)
    settings = ctx.settings_of(circle)
    if requester is not None:
        t = ctx.texts_for(requester.person, circle)
        ctx.dm(requester.person, t("lifeline.fallback", id=req.id) + "\n" +
               resources_block(t, settings), label="fallback", priority=PRIORITY_LIFELINE)
    # Content-free notices: no name, no note; just that someone could not be reached.
    notify: dict[int, Person] = {p.id: p for p in await stewards(ctx.session, circle)}
    for person in (await ctx.session.execute(
        select(Person).join(Member, Member.person_id == Person.id)
        .join(Availability, Availability.member_id == Member.id)
        .where(Member.circle_id == circle.id, Availability.enabled.is_(True),
               Availability.accept_emergency.is_(True),
               or_(Availability.snoozed_until.is_(None), Availability.snoozed_until <= ctx.now))
    )).scalars():
        notify[person.id] = person  # snoozed members asked for quiet, even from notices
    for person in notify.values():
        if requester is not None and person.id == requester.person.id:
            continue
        t = ctx.texts_for(person, circle)
        ctx.dm(person, t("lifeline.fallback_notice", circle=circle.name),
               label=f"fallback-notice:{person.id}", priority=PRIORITY_LIFELINE)


# -- ack / decline ----------------------------------------------------------------------------
async def _open_pages(ctx: Ctx, member_ids: list[int]) -> list[tuple[LifelinePage,
                                                                      LifelineRequest]]:
    if not member_ids:
        return []
    return [(pg, rq) for pg, rq in (await ctx.session.execute(
        select(LifelinePage, LifelineRequest)
        .join(LifelineRequest, LifelineRequest.id == LifelinePage.request_id)
        .where(LifelinePage.member_id.in_(member_ids), LifelinePage.state == "open",
               LifelineRequest.state.in_(CLAIMABLE))
        .order_by(LifelinePage.id)
    )).all()]


async def _page_for(ctx: Ctx, args: dict[str, Any], verb: str) -> tuple[LifelinePage,
                                                                        LifelineRequest]:
    assert ctx.person is not None
    member_ids = await _member_ids(ctx, ctx.person)
    wanted: int | None = args["id"]
    if wanted is None:
        pages = await _open_pages(ctx, member_ids)
        if not pages and member_ids:
            # Pressed just after someone else: answer about that page, kindly.
            recent = (await ctx.session.execute(
                select(LifelinePage, LifelineRequest)
                .join(LifelineRequest, LifelineRequest.id == LifelinePage.request_id)
                .where(LifelinePage.member_id.in_(member_ids),
                       LifelinePage.paged_at > ctx.now - timedelta(hours=1))
                .order_by(LifelinePage.id.desc()).limit(1)
            )).first()
            if recent is not None:
                return recent[0], recent[1]
        if not pages:
            raise UserError(ctx.t("lifeline.no_open_page"))
        if len(pages) > 1:
            listing = ", ".join(f"#{rq.id}" for _, rq in pages)
            raise UserError(ctx.t("lifeline.which_page", ids=listing, verb=verb,
                                  first=pages[0][1].id))
        return pages[0]
    req = await ctx.session.get(LifelineRequest, wanted)
    page = None
    if req is not None and member_ids:
        page = (await ctx.session.execute(
            select(LifelinePage).where(LifelinePage.request_id == req.id,
                                       LifelinePage.member_id.in_(member_ids))
        )).scalar_one_or_none()
    if req is None or page is None:
        raise UserError(ctx.t("lifeline.not_paged", id=wanted))
    return page, req


@handlers.command("ack")
async def ack(ctx: Ctx, args: dict[str, Any]) -> str:
    page, req = await _page_for(ctx, args, "ack")
    await _lock(ctx, req)
    circle = await ctx.session.get(Circle, req.circle_id)
    assert circle is not None and ctx.person is not None
    if req.state not in CLAIMABLE:
        return await _already_covered(ctx, req)
    if await _requester_left(ctx, req, circle):
        return ctx.t("lifeline.claimed_requester_gone")
    # First "I'll take it" wins: a compare-and-set on the request's state.
    won = await ctx.session.execute(
        update(LifelineRequest)
        .where(LifelineRequest.id == req.id, LifelineRequest.state.in_(CLAIMABLE))
        .values(state="CLAIMED", claimed_by_member_id=page.member_id, claimed_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    await ctx.session.refresh(req)
    if not won.rowcount:  # type: ignore[attr-defined]
        return await _already_covered(ctx, req)
    if req.first_claimed_at is None:
        req.first_claimed_at = ctx.now
    page.state, page.responded_at = "claimed", ctx.now
    await _close_other_pages(ctx, req, circle, "covered", "lifeline.page_covered",
                             keep=page.id)
    await ctx.cancel_timers(_key(req, f"wave:{req.wave + 1}"),
                            _key(req, f"give_up:{req.lapses}"))
    p = policy(req)
    await ctx.schedule("lifeline.connect_check",
                       ctx.now + timedelta(minutes=p["connect_minutes"]),
                       _key(req, f"connect:{req.lapses}"),
                       {"request_id": req.id, "lapses": req.lapses})
    requester = await _party(ctx, req.requester_member_id)
    if requester is None:
        return ctx.t("lifeline.claimed_requester_gone")
    t = ctx.texts_for(requester.person, circle)
    ctx.dm(requester.person, t("lifeline.coming", name=ctx.person.display_name,
                               contact=mention(ctx.person), minutes=p["connect_minutes"]),
           label=f"coming:{req.lapses}", priority=PRIORITY_LIFELINE)
    note = ctx.t("lifeline.note_is", note=req.note) if req.note else ctx.t("lifeline.no_note")
    return ctx.t("lifeline.you_took_it", name=requester.person.display_name,
                 contact=mention(requester.person), note=note,
                 resources=resources_block(ctx.texts, ctx.settings_of(circle)))


async def _already_covered(ctx: Ctx, req: LifelineRequest) -> str:
    if req.state in ("CLAIMED", "CONNECTED"):
        claimer = await _party(ctx, req.claimed_by_member_id)
        name = claimer.person.display_name if claimer else ctx.t("checkin.someone")
        return ctx.t("lifeline.already_claimed", id=req.id, name=name)
    return ctx.t("lifeline.already_closed", id=req.id)


async def _close_other_pages(ctx: Ctx, req: LifelineRequest, circle: Circle, state: str,
                             text_key: str, keep: int | None = None) -> None:
    pages = (await ctx.session.execute(
        select(LifelinePage, Member, Person)
        .join(Member, Member.id == LifelinePage.member_id)
        .join(Person, Person.id == Member.person_id)
        .where(LifelinePage.request_id == req.id, LifelinePage.state == "open")
    )).all()
    for page, _member, person in pages:
        if page.id == keep:
            continue
        page.state = state
        t = ctx.texts_for(person, circle)
        ctx.out.edit(person.platform, page.outbox_key, t(text_key, id=req.id),
                     label=f"edit:{page.id}:{state}", priority=PRIORITY_LIFELINE)


@handlers.command("decline")
async def decline(ctx: Ctx, args: dict[str, Any]) -> str:
    page, req = await _page_for(ctx, args, "decline")
    await _lock(ctx, req)
    await ctx.session.refresh(page)
    if page.state == "declined" and req.state in CLAIMABLE:
        return ctx.t("lifeline.declined")  # said twice: still true, and nothing changes
    if page.state != "open" or req.state not in CLAIMABLE:
        return ctx.t("lifeline.decline_noted_closed")
    page.state, page.responded_at = "declined", ctx.now
    await ctx.session.flush()
    if req.state == "PAGING":
        still_open = int((await ctx.session.execute(
            select(func.count()).select_from(LifelinePage)
            .where(LifelinePage.request_id == req.id, LifelinePage.wave == req.wave,
                   LifelinePage.state == "open"))).scalar_one())
        if still_open == 0:  # the whole wave said no: the next one starts now
            circle = await ctx.session.get(Circle, req.circle_id)
            assert circle is not None
            await ctx.cancel_timers(_key(req, f"wave:{req.wave + 1}"))
            await next_wave(ctx, req, circle)
    return ctx.t("lifeline.declined")


# -- the requester's side ---------------------------------------------------------------------
async def _my_request(ctx: Ctx, as_claimer: bool) -> tuple[LifelineRequest, Circle]:
    assert ctx.person is not None
    member_ids = await _member_ids(ctx, ctx.person)
    req = await active_request_of(ctx, member_ids)
    if req is None and as_claimer and member_ids:
        req = (await ctx.session.execute(
            select(LifelineRequest)
            .where(LifelineRequest.claimed_by_member_id.in_(member_ids),
                   LifelineRequest.state.in_(("CLAIMED", "CONNECTED")))
            .order_by(LifelineRequest.id.desc()).limit(1)
        )).scalar_one_or_none()
    if req is None:
        raise UserError(ctx.t("lifeline.nothing_open"))
    circle = await ctx.session.get(Circle, req.circle_id)
    assert circle is not None
    await _lock(ctx, req)
    if req.state not in ACTIVE:  # closed by someone else a moment ago
        raise UserError(ctx.t("lifeline.nothing_open"))
    return req, circle


async def _cancel_all_timers(ctx: Ctx, req: LifelineRequest) -> None:
    await ctx.cancel_timers(_key(req, f"wave:{req.wave + 1}"),
                            *(_key(req, f"give_up:{n}") for n in range(req.lapses + 1)),
                            *(_key(req, f"connect:{n}") for n in range(req.lapses + 1)),
                            *(_key(req, f"lapse:{n}") for n in range(req.lapses + 1)),
                            _key(req, "expire"))


async def _close(ctx: Ctx, req: LifelineRequest, circle: Circle, state: str) -> None:
    req.state = state
    req.closed_at = ctx.now
    await _cancel_all_timers(ctx, req)
    await _close_other_pages(ctx, req, circle, "closed", "lifeline.page_closed")
    days = policy(req).get("lifeline_note_days", ctx.settings_of(circle).lifeline_note_days)
    await ctx.schedule("lifeline.forget_note", ctx.now + timedelta(days=days),
                       _key(req, "forget_note"), {"request_id": req.id})


@handlers.command("call cancel")
async def call_cancel(ctx: Ctx, args: dict[str, Any]) -> str:
    req, circle = await _my_request(ctx, as_claimer=False)
    claimer = await _party(ctx, req.claimed_by_member_id) if req.state in (
        "CLAIMED", "CONNECTED") else None
    await _close(ctx, req, circle, "CANCELLED")
    if claimer is not None:
        t = ctx.texts_for(claimer.person, circle)
        ctx.dm(claimer.person, t("lifeline.cancelled_to_claimer", id=req.id), label="cancelled")
    return ctx.t("lifeline.cancelled")


@handlers.command("call resolve")
async def call_resolve(ctx: Ctx, args: dict[str, Any]) -> str:
    req, circle = await _my_request(ctx, as_claimer=True)
    req.followup = bool(args["followup"])
    await _close(ctx, req, circle, "RESOLVED")
    requester = await _party(ctx, req.requester_member_id)
    if req.followup and requester is not None:
        await ctx.schedule("lifeline.followup", ctx.now + FOLLOWUP_AFTER,
                           _key(req, "followup"), {"request_id": req.id})
    return ctx.t("lifeline.resolved")


@handlers.command("call connected")
async def call_connected(ctx: Ctx, args: dict[str, Any]) -> str:
    req, _circle = await _my_request(ctx, as_claimer=True)
    if req.state == "CONNECTED":
        return ctx.t("lifeline.connected_already")
    if req.state != "CLAIMED":
        raise UserError(ctx.t("lifeline.not_claimed_yet"))
    req.state = "CONNECTED"
    req.connected_at = ctx.now
    await ctx.cancel_timers(_key(req, f"connect:{req.lapses}"), _key(req, f"lapse:{req.lapses}"))
    return ctx.t("lifeline.connected")


async def _requester_left(ctx: Ctx, req: LifelineRequest, circle: Circle) -> bool:
    """The requester left the circle (their membership is gone, so requester_member_id was
    set to NULL): nobody more is paged for them; the request is cancelled and the one who
    took it, if anyone, is told. Returns whether that happened."""
    if req.requester_member_id is not None or req.state not in ("PAGING", "CLAIMED",
                                                                  "FALLBACK"):
        return False
    claimer = await _party(ctx, req.claimed_by_member_id) if req.state == "CLAIMED" else None
    await _close(ctx, req, circle, "CANCELLED")
    if claimer is not None:
        t = ctx.texts_for(claimer.person, circle)
        ctx.dm(claimer.person, t("lifeline.claimed_requester_gone"), label="requester-left")
    return True


async def member_leaving(ctx: Ctx, member: Member, circle: Circle) -> None:
    """Called by `leave` before the membership goes, so nothing waits on someone who left:
    their own request is cancelled, a claim they hold lapses and paging resumes now."""
    own = await active_request_of(ctx, [member.id])
    if own is not None:
        claimer = await _party(ctx, own.claimed_by_member_id) if own.state in (
            "CLAIMED", "CONNECTED") else None
        await _close(ctx, own, circle, "CANCELLED")
        if claimer is not None:
            t = ctx.texts_for(claimer.person, circle)
            ctx.dm(claimer.person, t("lifeline.claimed_requester_gone"), label="requester-left")
    held = (await ctx.session.execute(
        select(LifelineRequest).where(LifelineRequest.claimed_by_member_id == member.id,
                                      LifelineRequest.state == "CLAIMED")
    )).scalars().all()
    for req in held:
        req.claimed_by_member_id = None  # nobody to tell "no confirmation" to
        await lapse(ctx, req, circle, {"request_id": req.id, "lapses": req.lapses})


# -- timers -----------------------------------------------------------------------------------
RequestTimer = Callable[[Ctx, LifelineRequest, Circle, dict[str, Any]], Awaitable[None]]


def request_timer(kind: str) -> Callable[[RequestTimer], RequestTimer]:
    """A lifeline timer handler gets its request and circle; gone ones are skipped."""
    def deco(fn: RequestTimer) -> RequestTimer:
        @handlers.timer(kind)
        async def run(ctx: Ctx, payload: dict[str, Any]) -> None:
            loaded = await _load(ctx, payload["request_id"])
            if loaded is not None and not await _requester_left(ctx, *loaded):
                await fn(ctx, loaded[0], loaded[1], payload)
        return fn
    return deco


@request_timer("lifeline.wave")
async def wave_due(
    ctx: Ctx, req: LifelineRequest, circle: Circle, payload: dict[str, Any]
) -> None:
    if req.state != "PAGING" or req.wave + 1 != payload["wave"]:
        return  # stale: claimed, closed, or a decline already started this wave
    # After downtime this fires late, once: one wave now, not every missed one.
    await next_wave(ctx, req, circle)


@request_timer("lifeline.give_up")
async def give_up_due(
    ctx: Ctx, req: LifelineRequest, circle: Circle, payload: dict[str, Any]
) -> None:
    if req.state == "PAGING" and req.lapses == payload["round"]:
        await fallback(ctx, req, circle)


@request_timer("lifeline.connect_check")
async def connect_check(
    ctx: Ctx, req: LifelineRequest, circle: Circle, payload: dict[str, Any]
) -> None:
    if req.state != "CLAIMED" or req.lapses != payload["lapses"]:
        return
    if req.claimed_by_member_id is None:  # the one who took it left the circle: don't wait
        await lapse(ctx, req, circle, payload)
        return
    for party in filter(None, [await _party(ctx, req.requester_member_id),
                               await _party(ctx, req.claimed_by_member_id)]):
        t = ctx.texts_for(party.person, circle)
        ctx.dm(party.person, t("lifeline.connected_question", id=req.id),
               label=f"connected?:{party.member.id}", priority=PRIORITY_LIFELINE)
    await ctx.schedule("lifeline.lapse", ctx.now + CONFIRM_GRACE,
                       _key(req, f"lapse:{req.lapses}"),
                       {"request_id": req.id, "lapses": req.lapses})


@request_timer("lifeline.lapse")
async def lapse(
    ctx: Ctx, req: LifelineRequest, circle: Circle, payload: dict[str, Any]
) -> None:
    if req.state != "CLAIMED" or req.lapses != payload["lapses"]:
        return
    claimer = await _party(ctx, req.claimed_by_member_id)
    if claimer is not None:
        page = (await ctx.session.execute(
            select(LifelinePage).where(LifelinePage.request_id == req.id,
                                       LifelinePage.member_id == claimer.member.id)
        )).scalar_one_or_none()
        if page is not None:
            page.state = "lapsed"
        t = ctx.texts_for(claimer.person, circle)
        ctx.dm(claimer.person, t("lifeline.lapsed_to_claimer", id=req.id),
               label=f"lapsed-claimer:{req.lapses}")
    req.state = "PAGING"
    req.claimed_by_member_id = None
    req.claimed_at = None
    req.lapses += 1
    requester = await _party(ctx, req.requester_member_id)
    if requester is not None:
        t = ctx.texts_for(requester.person, circle)
        ctx.dm(requester.person, t("lifeline.lapsed_to_requester", id=req.id),
               label=f"lapsed:{req.lapses}", priority=PRIORITY_LIFELINE)
    p = policy(req)
    await ctx.schedule("lifeline.give_up", ctx.now + timedelta(minutes=p["give_up_minutes"]),
                       _key(req, f"give_up:{req.lapses}"),
                       {"request_id": req.id, "round": req.lapses})
    await next_wave(ctx, req, circle)


@request_timer("lifeline.expire")
async def expire(
    ctx: Ctx, req: LifelineRequest, circle: Circle, payload: dict[str, Any]
) -> None:
    if req.state in ACTIVE:
        await _close(ctx, req, circle, "RESOLVED")


@request_timer("lifeline.followup")
async def followup(
    ctx: Ctx, req: LifelineRequest, circle: Circle, payload: dict[str, Any]
) -> None:
    requester = await _party(ctx, req.requester_member_id)
    if requester is not None and req.followup:
        t = ctx.texts_for(requester.person, circle)
        ctx.dm(requester.person, t("lifeline.followup", circle=circle.name), label="followup")


@handlers.timer("lifeline.forget_note")
async def forget_note(ctx: Ctx, payload: dict[str, Any]) -> None:
    req = await ctx.session.get(LifelineRequest, payload["request_id"])
    if req is not None:
        req.note = None
