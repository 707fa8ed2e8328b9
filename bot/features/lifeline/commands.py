"""`call ...`, `ack`, `decline`: the requester's and the responder's side."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot.commands import NOTE_LIMIT, Arg, Kind, Who
from bot.context import Ctx, UserError
from bot.features.lifeline import requests as r
from bot.features.lifeline.feature import feature
from bot.features.lifeline.models import LifelinePage, LifelineRequest
from bot.features.lifeline.settings import LifelineSettings
from bot.features.lifeline.states import ACTIVE, CLAIMABLE, TAKEN, State, move, sources
from bot.membership import circle_for_room, circles_of, member_of, person_for
from bot.mentions import mention
from bot.outbox import PRIORITY_LIFELINE
from bot.refs import Invocation
from bot.texts import Texts
from storage.models import Circle

SEEN_LATE = timedelta(minutes=15)  # a `call` first seen this late asks before paging
_REQUEST_ID = Arg("id", Kind.INT, minimum=1, maximum=999_999_999)


# Who.ANYONE: a non-member still gets the crisis resources with the answer.
@feature.command("call open",
                 Arg("note", Kind.REST, max_len=NOTE_LIMIT, help="arg.call.note"),
                 Arg("room", Kind.BOOL, named_only=True, default=False, help="arg.call.room"),
                 who=Who.ANYONE, private=True)
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
        return ctx.t("lifeline.no_circle") + "\n" + _default_resources(ctx)
    settings = ctx.section(LifelineSettings)
    resources = r.resources_block(ctx.texts, settings)
    if member is None:
        return ctx.t("lifeline.join_first", circle=circle.name) + "\n" + resources
    note: str | None = args["note"] or None
    if ctx.sent_at is not None and ctx.now - ctx.sent_at > SEEN_LATE:
        # Seen long after it was sent (the bot was down): paging people for a need that may
        # have passed could wake them for nothing, and the member may have found help.
        sent = r.local_time(ctx.sent_at, circle.timezone)
        return ctx.t("lifeline.seen_late", sent=sent) + "\n" + resources
    assert ctx.person is not None
    # One active request per person, whichever of their circles the repeat `call` lands in;
    # and a cap per day. One read for both (the person's row is held: no race between them).
    recent = await r.recent_requests_of(ctx, ctx.person, ctx.now - timedelta(days=1))
    active = next((q for q in recent if q.state in ACTIVE), None)
    if active is not None:
        if note:  # a repeat `call` attaches to the open request
            req = await ctx.session.get(LifelineRequest, active.id)
            assert req is not None  # the person's row is held: it cannot have gone
            req.note = f"{req.note}\n{note}" if req.note else note
            if req.state in TAKEN:
                # Taken already: what they add must still reach the one who took it.
                claimer = await r.party(ctx, req.claimed_by_member_id)
                if claimer is not None:
                    t = ctx.texts_for(claimer.person, await ctx.session.get(
                        Circle, req.circle_id))
                    ctx.dm(claimer.person, t("lifeline.note_added", id=req.id, note=note),
                           label="note-added", priority=PRIORITY_LIFELINE)
        return ctx.t("lifeline.still_open", id=active.id) + "\n" + resources
    opened_today = sum(q.opened_at > ctx.now - timedelta(days=1) for q in recent)
    if opened_today >= settings.max_requests_per_day:
        return ctx.t("lifeline.too_many") + "\n" + resources
    req = LifelineRequest(circle_id=circle.id, requester_member_id=member.id,
                          state=State.PAGING.value, note=note, policy=settings.policy(),
                          wave=0, emergency_wave_done=False, opened_at=ctx.now, lapses=0,
                          followup=True)
    if args["room"]:
        ctx.post(circle, ctx.circle_texts()("lifeline.room_notice",
                                            name=ctx.person.display_name))
    # Stored there with its first wave: one INSERT.
    paged = await r.next_wave(ctx, req, circle, tell_requester=False)
    from bot.features.lifeline.timers import Expire, GiveUp

    # After the wave: these go in with its timer, one statement (bot/pending_rows.py).
    await ctx.schedule_all(
        (GiveUp(req.id, 0), ctx.now + timedelta(minutes=settings.give_up_minutes),
         r.key(req, "give_up:0")),
        (Expire(req.id), ctx.now + r.EXPIRE_AFTER, r.key(req, "expire")))
    if not paged and req.state == State.FALLBACK:
        # No one reachable at all: say so first, not "finding someone", and the resources once.
        return ctx.t("lifeline.fallback", id=req.id) + "\n" + r.resources_list(ctx.texts,
                                                                             settings)
    return ctx.t("lifeline.finding", id=req.id) + chosen_note + "\n" + resources


def _default_resources(ctx: Ctx) -> str:
    defaults = ctx.core.host_defaults[LifelineSettings.section]
    assert isinstance(defaults, LifelineSettings)
    return r.resources_block(ctx.texts, defaults)


@feature.on_failure("call open")
async def call_failed(core: Any, inv: Invocation) -> str:
    """Handling `call` failed and nothing was opened: the answer still carries the crisis
    resources (the circle's if they can be read, else the host's) and says so plainly."""
    texts = Texts()
    defaults = core.host_defaults[LifelineSettings.section]
    resources = r.resources_block(texts, defaults)
    try:
        async with core.db.transaction() as session:
            person = await person_for(session, inv.actor, core.clock.now())
            circles = ([c for c in [await circle_for_room(session, inv.place.room.platform,
                                                          inv.place.room.id)] if c]
                       if inv.place.room is not None else await circles_of(session, person))
            if circles:
                circle = circles[0]
                texts = Texts(person.language or circle.language)
                from bot.section import merged

                settings = merged(LifelineSettings, defaults, circle.settings or {}, {})
                assert isinstance(settings, LifelineSettings)
                resources = r.resources_block(texts, settings)
    except Exception:  # the database may be what failed: the host's resources still go out
        pass
    return texts("lifeline.call_failed") + "\n" + resources


async def _best_circle(ctx: Ctx, circles: list[Circle]) -> Circle | None:
    from bot.features.lifeline.selection import rank

    probes = [(LifelineRequest(id=0, requester_member_id=None,
                               policy=ctx.section(LifelineSettings, circle).policy()), circle)
              for circle in circles]
    pool = await r.load_pool(ctx, probes)
    best: tuple[int, int] | None = None
    found: Circle | None = None
    for probe, circle in probes:
        loaded = pool.loaded(probe, circle)
        count = len(rank(loaded.candidates, **loaded.args(ctx.now, emergency=False)))
        if best is None or (count, -circle.id) > best:
            best, found = (count, -circle.id), circle
    return found


# -- ack / decline ----------------------------------------------------------------------------
async def _open_pages(ctx: Ctx, ids: list[int]) -> list[tuple[LifelinePage, LifelineRequest]]:
    if not ids:
        return []
    return [(pg, rq) for pg, rq in (await ctx.session.execute(
        select(LifelinePage, LifelineRequest)
        .join(LifelineRequest, LifelineRequest.id == LifelinePage.request_id)
        .where(LifelinePage.member_id.in_(ids), LifelinePage.state == "open",
               LifelineRequest.state.in_(CLAIMABLE))
        .order_by(LifelinePage.id)
    )).all()]


async def _page_for(ctx: Ctx, args: dict[str, Any], verb: str) -> tuple[LifelinePage,
                                                                        LifelineRequest]:
    assert ctx.person is not None
    ids = await r.member_ids(ctx, ctx.person)
    wanted: int | None = args["id"]
    if wanted is None:
        pages = await _open_pages(ctx, ids)
        if not pages and ids:
            # Pressed just after someone else: answer about that page, kindly.
            recent = (await ctx.session.execute(
                select(LifelinePage, LifelineRequest)
                .join(LifelineRequest, LifelineRequest.id == LifelinePage.request_id)
                .where(LifelinePage.member_id.in_(ids),
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
    if req is not None and ids:
        page = (await ctx.session.execute(
            select(LifelinePage).where(LifelinePage.request_id == req.id,
                                       LifelinePage.member_id.in_(ids))
            .order_by(LifelinePage.id.desc()).limit(1)  # the newest round's page
        )).scalar_one_or_none()
    if req is None or page is None:
        raise UserError(ctx.t("lifeline.not_paged", id=wanted))
    return page, req


@feature.command("ack", _REQUEST_ID, who=Who.ANYONE, private=True)
async def ack(ctx: Ctx, args: dict[str, Any]) -> str:
    page, req = await _page_for(ctx, args, "ack")
    await r.lock(ctx, req)
    circle = await ctx.session.get(Circle, req.circle_id)
    assert circle is not None and ctx.person is not None
    if req.state not in CLAIMABLE:
        return await _already_covered(ctx, req)
    if await r.requester_left(ctx, req, circle):
        return ctx.t("lifeline.claimed_requester_gone")
    # First "I'll take it" wins: a compare-and-set on the request's state.
    won = await ctx.session.execute(
        update(LifelineRequest)
        .where(LifelineRequest.id == req.id, LifelineRequest.state.in_(sources("claim")))
        .values(state=State.CLAIMED.value, claimed_by_member_id=page.member_id,
                claimed_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    await ctx.session.refresh(req)
    if not won.rowcount:  # type: ignore[attr-defined]
        return await _already_covered(ctx, req)
    if req.first_claimed_at is None:
        req.first_claimed_at = ctx.now
    page.state, page.responded_at = "claimed", ctx.now
    await r.close_other_pages(ctx, req, circle, "covered", "lifeline.page_covered",
                              keep=page.id)
    await ctx.cancel_timers(r.key(req, f"wave:{req.wave + 1}"),
                            r.key(req, f"give_up:{req.lapses}"))
    p = req.policy
    from bot.features.lifeline.timers import ConnectCheck

    await ctx.schedule(ConnectCheck(req.id, req.lapses),
                       ctx.now + timedelta(minutes=p["connect_minutes"]),
                       r.key(req, f"connect:{req.lapses}"))
    requester = await r.party(ctx, req.requester_member_id)
    if requester is None:
        return ctx.t("lifeline.claimed_requester_gone")
    t = ctx.texts_for(requester.person, circle)
    ctx.dm(requester.person, t("lifeline.coming", name=ctx.person.display_name,
                               contact=mention(ctx.person), minutes=p["connect_minutes"]),
           label=f"coming:{req.lapses}", priority=PRIORITY_LIFELINE)
    note = ctx.t("lifeline.note_is", note=req.note) if req.note else ctx.t("lifeline.no_note")
    return ctx.t("lifeline.you_took_it", name=requester.person.display_name,
                 contact=mention(requester.person), note=note,
                 resources=r.resources_list(ctx.texts, ctx.section(LifelineSettings, circle)))


async def _already_covered(ctx: Ctx, req: LifelineRequest) -> str:
    if req.state in TAKEN:
        claimer = await r.party(ctx, req.claimed_by_member_id)
        name = claimer.person.display_name if claimer else ctx.t("checkin.someone")
        return ctx.t("lifeline.already_claimed", id=req.id, name=name)
    return ctx.t("lifeline.already_closed", id=req.id)


@feature.command("decline", _REQUEST_ID, who=Who.ANYONE, private=True)
async def decline(ctx: Ctx, args: dict[str, Any]) -> str:
    page, req = await _page_for(ctx, args, "decline")
    await r.lock(ctx, req)
    await ctx.session.refresh(page)
    if page.state == "declined" and req.state in CLAIMABLE:
        return ctx.t("lifeline.declined")  # said twice: still true, and nothing changes
    if page.state != "open" or req.state not in CLAIMABLE:
        return ctx.t("lifeline.decline_noted_closed")
    page.state, page.responded_at = "declined", ctx.now
    await ctx.session.flush()
    if req.state == State.PAGING:
        still_open = int((await ctx.session.execute(
            select(func.count()).select_from(LifelinePage)
            .where(LifelinePage.request_id == req.id, LifelinePage.wave == req.wave,
                   LifelinePage.state == "open"))).scalar_one())
        if still_open == 0:  # the whole wave said no: the next one starts now
            circle = await ctx.session.get(Circle, req.circle_id)
            assert circle is not None
            await ctx.cancel_timers(r.key(req, f"wave:{req.wave + 1}"))
            await r.next_wave(ctx, req, circle)
    return ctx.t("lifeline.declined")


# -- the requester's side ---------------------------------------------------------------------
async def _my_request(ctx: Ctx, as_claimer: bool) -> tuple[LifelineRequest, Circle, bool]:
    """The caller's active request, or (as_claimer) the one they took; and whether the
    caller is its requester."""
    assert ctx.person is not None
    ids = await r.member_ids(ctx, ctx.person)
    req = await r.active_request_of(ctx, ids)
    is_requester = req is not None
    if req is None and as_claimer and ids:
        req = (await ctx.session.execute(
            select(LifelineRequest)
            .where(LifelineRequest.claimed_by_member_id.in_(ids),
                   LifelineRequest.state.in_(TAKEN))
            .order_by(LifelineRequest.id.desc()).limit(1)
        )).scalar_one_or_none()
    if req is None:
        raise UserError(ctx.t("lifeline.nothing_open"))
    circle = await ctx.session.get(Circle, req.circle_id)
    assert circle is not None
    await r.lock(ctx, req)
    if req.state not in (State.PAGING, State.CLAIMED, State.CONNECTED, State.FALLBACK):
        raise UserError(ctx.t("lifeline.nothing_open"))  # closed by someone else just now
    return req, circle, is_requester


@feature.command("call cancel", who=Who.ANYONE, private=True)
async def call_cancel(ctx: Ctx, args: dict[str, Any]) -> str:
    req, circle, _ = await _my_request(ctx, as_claimer=False)
    await r.close(ctx, req, circle, "cancel", tell_claimer="lifeline.cancelled_to_claimer")
    return ctx.t("lifeline.cancelled")


@feature.command("call resolve",
                 Arg("followup", Kind.BOOL, named_only=True, default=True,
                     help="arg.call.followup"),
                 who=Who.ANYONE, private=True)
async def call_resolve(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.person is not None
    try:
        req, circle, is_requester = await _my_request(ctx, as_claimer=True)
    except UserError:
        if not args["followup"] and await _no_followup_after_close(ctx):
            return ctx.t("lifeline.followup_off")  # `followup:no` is honoured whenever given
        raise
    was_taken = req.state in TAKEN
    if is_requester:
        req.followup = bool(args["followup"])
    await r.close(ctx, req, circle, "resolve",
                  tell_claimer="lifeline.resolved_to_claimer" if is_requester else None)
    if not is_requester:
        requester = await r.party(ctx, req.requester_member_id)
        if requester is not None:
            t = ctx.texts_for(requester.person, circle)
            ctx.dm(requester.person, t("lifeline.resolved_by_claimer", id=req.id,
                                       name=ctx.person.display_name),
                   label="resolved-by-claimer", priority=PRIORITY_LIFELINE)
    if req.followup and req.requester_member_id is not None:
        from bot.features.lifeline.timers import FollowUp

        await ctx.schedule(FollowUp(req.id), ctx.now + r.FOLLOWUP_AFTER, r.key(req, "followup"))
    if not is_requester:
        return ctx.t("lifeline.resolved_claimer")
    key = "lifeline.resolved" if was_taken else "lifeline.resolved_untaken"
    # No promise of a message tomorrow to someone who just said no to it.
    return ctx.t(key if req.followup else key + "_quiet", id=req.id)


async def _no_followup_after_close(ctx: Ctx) -> bool:
    """The requester says `call resolve followup:no` after the request closed (the one who
    took it resolved it): the follow-up is cancelled all the same."""
    assert ctx.person is not None
    ids = await r.member_ids(ctx, ctx.person)
    if not ids:
        return False
    req = (await ctx.session.execute(
        select(LifelineRequest).where(LifelineRequest.requester_member_id.in_(ids))
        .order_by(LifelineRequest.id.desc()).limit(1))).scalar_one_or_none()
    if req is None or req.closed_at is None or ctx.now - req.closed_at > r.FOLLOWUP_AFTER:
        return False
    req.followup = False
    await ctx.cancel_timers(r.key(req, "followup"))
    return True


@feature.command("call connected", who=Who.ANYONE, private=True)
async def call_connected(ctx: Ctx, args: dict[str, Any]) -> str:
    req, circle, is_requester = await _my_request(ctx, as_claimer=True)
    if req.state == State.CONNECTED:
        return ctx.t("lifeline.connected_already")
    if req.state != State.CLAIMED:
        raise UserError(ctx.t("lifeline.not_claimed_fallback" if req.state == State.FALLBACK
                              else "lifeline.not_claimed_yet"))
    move(req, "connect")
    req.connected_at = ctx.now
    await ctx.cancel_timers(r.key(req, f"connect:{req.lapses}"),
                            r.key(req, f"lapse:{req.lapses}"))
    other = await r.party(ctx, req.claimed_by_member_id if is_requester
                          else req.requester_member_id)
    if other is not None:
        t = ctx.texts_for(other.person, circle)
        ctx.dm(other.person, t("lifeline.connected_other", id=req.id),
               label="connected-other", priority=PRIORITY_LIFELINE)
    return ctx.t("lifeline.connected")
