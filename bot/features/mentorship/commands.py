"""`mentor ...`: offering, asking, answering, the pairing's status and its end. Every answer is
private: who mentors whom, and who asked, is for the two of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from bot.commands import NOTE_LIMIT, Arg, Kind, Who
from bot.context import Ctx, UserError
from bot.features.mentorship import asking as a
from bot.features.mentorship.feature import feature
from bot.features.mentorship.models import (
    DyadMember,
    MentorAsk,
    MentorOffer,
    MentorPairing,
    MentorRequest,
)
from bot.features.mentorship.people import find_member
from bot.features.mentorship.tags import normalise, parse_tags, show, split_words
from storage.models import Circle, Member, Person

TAGS_LIMIT = 300
_ID = Arg("id", Kind.INT, minimum=1, maximum=999_999_999, help="arg.mentor.id")
_WHO = Arg("who", Kind.MEMBER, help="arg.mentor.who")


def _circle(ctx: Ctx) -> tuple[Circle, Member, Person]:
    assert ctx.circle is not None and ctx.member is not None and ctx.person is not None
    return ctx.circle, ctx.member, ctx.person


# -- offering ---------------------------------------------------------------------------------
@feature.command("mentor offer",
                 Arg("capacity", Kind.INT, minimum=1, maximum=10, help="arg.mentor.capacity"),
                 Arg("tags", Kind.REST, max_len=TAGS_LIMIT, help="arg.mentor.tags"),
                 private=True)
async def mentor_offer(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member, _ = _circle(ctx)
    offer = await ctx.session.get(MentorOffer, member.id)
    tags = parse_tags(ctx, args["tags"]) if args["tags"] else None
    if offer is None:
        offer = MentorOffer(member_id=member.id, capacity=args["capacity"] or 2,
                            tags=tags or [], paused=False, updated_at=ctx.now)
        ctx.session.add(offer)
    else:
        if args["capacity"] is not None:
            offer.capacity = args["capacity"]
        if tags is not None:
            offer.tags = tags
        offer.paused = False
        offer.updated_at = ctx.now
    await ctx.session.flush()
    lines = [ctx.n("mentor.offered", offer.capacity, circle=circle.name,
                   tags=show(offer.tags))]
    mentees = (await a.mentees_by_mentor(ctx, [member.id])).get(member.id, 0)
    if mentees >= offer.capacity:
        lines.append(ctx.n("mentor.offered_full", mentees))
    await a.retry_waiting(ctx, circle)
    return "\n".join(lines)


async def _my_offer(ctx: Ctx) -> MentorOffer:
    circle, member, _ = _circle(ctx)
    offer = await ctx.session.get(MentorOffer, member.id)
    if offer is None:
        raise UserError(ctx.t("mentor.err.not_offering", circle=circle.name))
    return offer


@feature.command("mentor pause", private=True)
async def mentor_pause(ctx: Ctx, args: dict[str, Any]) -> str:
    offer = await _my_offer(ctx)
    offer.paused, offer.updated_at = True, ctx.now
    return ctx.t("mentor.paused")


@feature.command("mentor stop", private=True)
async def mentor_stop(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, _, _ = _circle(ctx)
    await ctx.session.delete(await _my_offer(ctx))
    return ctx.t("mentor.stopped", circle=circle.name)


# -- asking -----------------------------------------------------------------------------------
async def _open_request(ctx: Ctx, member: Member) -> MentorRequest | None:
    return (await ctx.session.execute(
        select(MentorRequest).where(MentorRequest.requester_member_id == member.id,
                                    MentorRequest.state == "open"))).scalar_one_or_none()


async def _known_tags(ctx: Ctx, circle: Circle) -> set[str]:
    """Tags someone in the circle uses: leading words of a request that are one of these are
    read as tags, the rest as its note (`mentor request spanish housing just moved here`)."""
    found: set[str] = set()
    for table in (MentorOffer, DyadMember):
        for tags in (await ctx.session.execute(
                select(table.tags).join(Member, Member.id == table.member_id)
                .where(Member.circle_id == circle.id))).scalars():
            found.update(tags or ())
    return found


@feature.command("mentor request", _WHO,
                 Arg("tags", Kind.TEXT, named_only=True, max_len=TAGS_LIMIT,
                     help="arg.mentor.tags"),
                 Arg("note", Kind.REST, max_len=NOTE_LIMIT, help="arg.mentor.note"),
                 private=True)
async def mentor_request(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member, _ = _circle(ctx)
    mentor = await _current_mentor(ctx, member)
    if mentor is not None:
        raise UserError(ctx.t("mentor.err.have_mentor", name=mentor.person.display_name))
    existing = await _open_request(ctx, member)
    if existing is not None:
        raise UserError(ctx.t("mentor.err.request_open", id=existing.id) + " "
                        + await _request_state(ctx, existing))
    named: a.Party | None = None
    if args["who"] is not None:
        found = await find_member(ctx, circle, args["who"])
        if found is None:
            raise UserError(ctx.t("mentor.err.not_in_circle", who=args["who"][:60],
                                  circle=circle.name))
        if found[0].id == member.id:
            raise UserError(ctx.t("mentor.err.not_yourself"))
        named = a.Party(*found)
    tags, note = await _tags_and_note(ctx, circle, args["tags"], args["note"])
    req = MentorRequest(circle_id=circle.id, requester_member_id=member.id,
                        named_member_id=named.member.id if named else None, tags=tags,
                        note=note or None, state="open", round=0, waiting=False,
                        opened_at=ctx.now)
    ctx.session.add(req)
    await ctx.session.flush()
    asked = await a.ask_round(ctx, req, circle)
    lines = []
    if named is not None:
        lines.append(ctx.t("mentor.requested_named", id=req.id,
                           name=named.person.display_name))
    elif asked:
        lines.append(ctx.n("mentor.requested", asked, id=req.id))
    else:
        lines.append(ctx.t("mentor.requested_none", id=req.id, circle=circle.name))
    if tags:
        lines.append(ctx.t("mentor.requested_tags", tags=show(tags)))
    lines.append(ctx.t("mentor.requested_cancel"))
    return "\n".join(lines)


async def _tags_and_note(ctx: Ctx, circle: Circle, named: str | None,
                         text: str | None) -> tuple[list[str], str]:
    """Tags given by name, then leading words of the text that are tags someone in the
    circle uses (`spanish housing`, `spanish,housing`); the rest, as typed, is the note."""
    tags = parse_tags(ctx, named)
    known = await _known_tags(ctx, circle)
    rest = (text or "").strip()
    while rest:
        word, *after_parts = rest.split(None, 1)
        after = after_parts[0] if after_parts else ""
        parts = [normalise(p) for p in split_words(word)]
        if not parts or not all(p in known for p in parts):
            break
        tags += [p for p in parts if p not in tags]
        rest = after.strip()
    return parse_tags(ctx, " ".join(tags)), rest.strip(" ,;")


@feature.command("mentor cancel", private=True)
async def mentor_cancel(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member, _ = _circle(ctx)
    req = await _open_request(ctx, member)
    if req is None:
        raise UserError(ctx.t("mentor.err.no_request"))
    await a.lock(ctx, req)
    if req.state != "open":
        raise UserError(ctx.t("mentor.err.no_request"))
    req.state, req.closed_at = "cancelled", ctx.now
    await a.cancel_round_timers(ctx, req)
    await a.close_asks(ctx, req, circle, "closed", "mentor.ask_withdrawn")
    return ctx.t("mentor.cancelled", id=req.id)


# -- answering --------------------------------------------------------------------------------
async def _asks_open_to(ctx: Ctx, ids: list[int]) -> list[tuple[MentorAsk, MentorRequest]]:
    if not ids:
        return []
    return [(q, r) for q, r in (await ctx.session.execute(
        select(MentorAsk, MentorRequest).join(MentorRequest,
                                              MentorRequest.id == MentorAsk.request_id)
        .where(MentorAsk.member_id.in_(ids), MentorAsk.state == "open",
               MentorRequest.state == "open")
        .order_by(MentorAsk.id))).all()]


async def _ask_for(ctx: Ctx, wanted: int | None, verb: str) -> tuple[MentorAsk, MentorRequest]:
    assert ctx.person is not None
    ids = await a.member_ids(ctx, ctx.person)
    if wanted is None:
        asks = await _asks_open_to(ctx, ids)
        if not asks:
            raise UserError(ctx.t("mentor.err.no_open_ask"))
        if len(asks) > 1:
            raise UserError(ctx.t("mentor.err.which_ask", verb=verb, first=asks[0][1].id,
                                  ids=", ".join(f"#{r.id}" for _, r in asks)))
        return asks[0]
    req = await ctx.session.get(MentorRequest, wanted)
    if req is not None and req.requester_member_id in ids:
        raise UserError(ctx.t("mentor.err.own_request", id=wanted))
    ask = None
    if req is not None and ids:
        ask = (await ctx.session.execute(
            select(MentorAsk).where(MentorAsk.request_id == req.id,
                                    MentorAsk.member_id.in_(ids)))).scalar_one_or_none()
    if req is None or ask is None:
        raise UserError(ctx.t("mentor.err.not_asked", id=wanted))
    return ask, req


def _settled(ctx: Ctx, req: MentorRequest, ask: MentorAsk) -> UserError:
    if req.state == "matched" and req.mentor_member_id == ask.member_id:
        return UserError(ctx.t("mentor.err.already_yours", id=req.id))
    if req.state == "matched":
        return UserError(ctx.t("mentor.err.taken", id=req.id))
    return UserError(ctx.t("mentor.err.withdrawn", id=req.id))


@feature.command("mentor accept", _ID, who=Who.ANYONE, private=True)
async def mentor_accept(ctx: Ctx, args: dict[str, Any]) -> str:
    ask, req = await _ask_for(ctx, args["id"], "accept")
    await a.lock(ctx, req)
    await ctx.session.refresh(ask)
    if req.state != "open" or req.requester_member_id is None:
        raise _settled(ctx, req, ask)
    # The first yes wins: a compare-and-set on the request's state.
    won = await ctx.session.execute(
        update(MentorRequest)
        .where(MentorRequest.id == req.id, MentorRequest.state == "open")
        .values(state="matched", mentor_member_id=ask.member_id, closed_at=ctx.now)
        .execution_options(synchronize_session=False))
    await ctx.session.refresh(req)
    if not won.rowcount:  # type: ignore[attr-defined]
        raise _settled(ctx, req, ask)
    circle = await ctx.session.get(Circle, req.circle_id)
    mentor = await a.party(ctx, ask.member_id)
    mentee = await a.party(ctx, req.requester_member_id)
    assert circle is not None and mentor is not None and mentee is not None
    ask.state, ask.responded_at = "accepted", ctx.now
    await a.cancel_round_timers(ctx, req)
    await a.close_asks(ctx, req, circle, "taken", "mentor.ask_taken")
    await a.pair(ctx, req, circle, mentor, mentee)
    return ctx.t("mentor.accepted", id=req.id, name=mentee.person.display_name,
                 circle=circle.name)


@feature.command("mentor pass", _ID, who=Who.ANYONE, private=True)
async def mentor_pass(ctx: Ctx, args: dict[str, Any]) -> str:
    ask, req = await _ask_for(ctx, args["id"], "pass")
    await a.lock(ctx, req)
    await ctx.session.refresh(ask)
    if req.state != "open":
        raise _settled(ctx, req, ask)
    if ask.state != "passed":
        ask.state, ask.responded_at = "passed", ctx.now
        await ctx.session.flush()
        if not await a.open_asks(ctx, req):  # everyone asked said no: ask the next now
            circle = await ctx.session.get(Circle, req.circle_id)
            assert circle is not None
            await a.next_round_now(ctx, req, circle, why="passed")
    return ctx.t("mentor.passed", id=req.id)


# -- the pairing ------------------------------------------------------------------------------
async def _current_mentor(ctx: Ctx, member: Member) -> a.Party | None:
    from bot.features.mentorship.queries import current_mentor_member_id

    return await a.party(ctx, await current_mentor_member_id(ctx.session, member.id))


async def _pairings_of(ctx: Ctx, member: Member) -> list[tuple[MentorPairing, a.Party]]:
    """The member's current pairings, each with the other side."""
    rows = (await ctx.session.execute(
        select(MentorPairing).where(
            MentorPairing.ended_at.is_(None),
            (MentorPairing.mentor_member_id == member.id)
            | (MentorPairing.mentee_member_id == member.id))
        .order_by(MentorPairing.id))).scalars().all()
    found = []
    for pairing in rows:
        other_id = (pairing.mentee_member_id if pairing.mentor_member_id == member.id
                    else pairing.mentor_member_id)
        other = await a.party(ctx, other_id)
        if other is not None:
            found.append((pairing, other))
    return found


async def _pick(ctx: Ctx, member: Member, who: str | None) -> list[tuple[MentorPairing, a.Party]]:
    circle = ctx.circle
    assert circle is not None
    mine = await _pairings_of(ctx, member)
    if not mine:
        raise UserError(ctx.t("mentor.err.no_pairing", circle=circle.name))
    if who is None:
        return mine
    found = await find_member(ctx, circle, who)
    chosen = [(p, o) for p, o in mine if found is not None and o.member.id == found[0].id]
    if not chosen:
        raise UserError(ctx.t("mentor.err.not_paired_with", who=who[:60],
                              names=", ".join(o.person.display_name for _, o in mine)))
    return chosen


@feature.command("mentor end", _WHO,
                 Arg("note", Kind.REST, max_len=NOTE_LIMIT, help="arg.mentor.end_note"),
                 Arg("followup", Kind.BOOL, named_only=True, default=True,
                     help="arg.mentor.followup"),
                 private=True)
async def mentor_end(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member, _ = _circle(ctx)
    chosen = await _pick(ctx, member, args["who"])
    if len(chosen) > 1:
        raise UserError(ctx.t("mentor.err.which_pairing", names=", ".join(
            o.person.display_name for _, o in chosen), first=_handle(chosen[0][1].person)))
    pairing, other = chosen[0]
    # Both sides may end it at the same instant: held, and read fresh, it ends once.
    await ctx.session.refresh(pairing, with_for_update=True)
    if pairing.ended_at is not None:
        raise UserError(ctx.t("mentor.err.no_pairing", circle=circle.name))
    await a.end_pairing(ctx, pairing, circle, by_member_id=member.id, why="ended",
                        note=args["note"] or None, followup=bool(args["followup"]))
    text = ctx.t("mentor.ended", name=other.person.display_name, circle=circle.name)
    if args["note"]:
        text += " " + ctx.t("mentor.ended_passed_on")
    return text


def _handle(person: Person) -> str:
    uid = person.platform_user_id
    return uid if uid.startswith("@") else f"@{uid}"


@feature.command("mentor nudges", Arg("state", Kind.CHOICE, choices=("on", "off"),
                                      required=True), _WHO, private=True)
async def mentor_nudges(ctx: Ctx, args: dict[str, Any]) -> str:
    _, member, _ = _circle(ctx)
    on = args["state"] == "on"
    chosen = await _pick(ctx, member, args["who"])
    for pairing, _other in chosen:
        if pairing.mentor_member_id == member.id:
            pairing.nudge_mentor = on
        else:
            pairing.nudge_mentee = on
    names = ", ".join(o.person.display_name for _, o in chosen)
    return ctx.t("mentor.nudges_" + args["state"], names=names)


# -- status -----------------------------------------------------------------------------------
async def _request_state(ctx: Ctx, req: MentorRequest) -> str:
    asked = int((await ctx.session.execute(
        select(func.count()).select_from(MentorAsk).where(MentorAsk.request_id == req.id)
    )).scalar_one())
    if req.waiting and not await a.open_asks(ctx, req):
        return ctx.t("mentor.status_waiting")
    return ctx.n("mentor.status_asked", asked)


@feature.command("mentor status", private=True)
async def mentor_status(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member, _ = _circle(ctx)
    tz = circle.timezone
    lines = [ctx.t("mentor.status_head", circle=circle.name)]
    for pairing, other in await _pairings_of(ctx, member):
        since = a.local_day(pairing.started_at, tz)
        mine_on = (pairing.nudge_mentor if pairing.mentor_member_id == member.id
                   else pairing.nudge_mentee)
        key = ("mentor.status_mentee" if pairing.mentor_member_id == member.id
               else "mentor.status_mentor")
        line = ctx.t(key, name=other.person.display_name, since=since)
        if not mine_on:
            line += " " + ctx.t("mentor.status_nudges_off")
        lines.append(line)
    req = await _open_request(ctx, member)
    if req is not None:
        lines.append(ctx.t("mentor.status_request", id=req.id, tags=show(req.tags))
                     + " " + await _request_state(ctx, req))
    offer = await ctx.session.get(MentorOffer, member.id)
    if offer is None:
        lines.append(ctx.t("mentor.status_no_offer"))
    else:
        lines.append(ctx.n("mentor.status_offer", offer.capacity, tags=show(offer.tags))
                     + (" " + ctx.t("mentor.status_paused") if offer.paused else ""))
    for _, r in await _asks_open_to(ctx, [member.id]):
        lines.append(ctx.t("mentor.status_ask", id=r.id))
    if len(lines) == 2 and offer is None:
        lines.append(ctx.t("mentor.status_how"))
    return "\n".join(lines)
