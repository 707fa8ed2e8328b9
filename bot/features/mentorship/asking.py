"""A request's life: asking candidates in rounds, the first yes winning, the introduction,
and a pairing's end. Every change happens in the caller's transaction with its outbox rows and
its next timer, so a restart continues where it was and nobody is asked twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select, update

from bot.answer import Action
from bot.context import Ctx
from bot.features.availability.models import Availability
from bot.features.mentorship.matching import (
    MentorCandidate,
    Ranked,
    Schedule,
    rank,
)
from bot.features.mentorship.models import (
    MentorAsk,
    MentorOffer,
    MentorPairing,
    MentorRequest,
)
from bot.features.mentorship.settings import MentorshipSettings
from bot.features.mentorship.tags import show
from bot.membership import Party, party
from bot.mentions import mention
from bot.timezones import zone
from storage.models import Circle, Member, OutboxMessage, Person

NUDGE_EVERY = timedelta(days=7)
NUDGE_HOUR = 10  # local time: a nudge never lands in anyone's night
END_FOLLOWUP_AFTER = timedelta(days=7)




async def member_ids(ctx: Ctx, person: Person) -> list[int]:
    return list((await ctx.session.execute(
        select(Member.id).where(Member.person_id == person.id))).scalars())


def key(req: MentorRequest, what: str) -> str:
    return f"mentor:{req.id}:{what}"


def ask_actions(request_id: int) -> tuple[Action, ...]:
    return (Action("accept", "action.mentor_accept", "mentor accept", (str(request_id),), "✅"),
            Action("pass", "action.mentor_pass", "mentor pass", (str(request_id),), "❌"))


async def lock(ctx: Ctx, req: MentorRequest) -> None:
    """Every change to a request holds its row (FOR UPDATE on PostgreSQL) and reads it fresh:
    three yeses at the same instant then happen one after the other."""
    await ctx.session.refresh(req, with_for_update=True)


def local_zone(avail: Availability | None, circle: Circle) -> str:
    return avail.timezone if avail is not None and avail.timezone else circle.timezone


async def schedule_of(ctx: Ctx, member_id: int, circle: Circle) -> Schedule:
    avail = await ctx.session.get(Availability, member_id)
    return Schedule(avail.windows if avail is not None else "", local_zone(avail, circle))


async def zone_of(ctx: Ctx, member_id: int, circle: Circle) -> str:
    return local_zone(await ctx.session.get(Availability, member_id), circle)


# -- candidates -------------------------------------------------------------------------------
async def mentees_by_mentor(ctx: Ctx, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    return {m: int(n) for m, n in (await ctx.session.execute(
        select(MentorPairing.mentor_member_id, func.count())
        .where(MentorPairing.mentor_member_id.in_(ids), MentorPairing.ended_at.is_(None))
        .group_by(MentorPairing.mentor_member_id))).all()}


async def load_candidates(ctx: Ctx, circle: Circle) -> list[MentorCandidate]:
    """Everyone in the circle who offers and is not paused, with what ranking needs."""
    rows = (await ctx.session.execute(
        select(MentorOffer, Person, Availability)
        .join(Member, Member.id == MentorOffer.member_id)
        .join(Person, Person.id == Member.person_id)
        .outerjoin(Availability, Availability.member_id == Member.id)
        .where(Member.circle_id == circle.id, MentorOffer.paused.is_(False))
    )).all()
    load = await mentees_by_mentor(ctx, [o.member_id for o, _, _ in rows])
    return [MentorCandidate(
        member_id=offer.member_id, capacity=offer.capacity, mentees=load.get(offer.member_id, 0),
        tags=frozenset(offer.tags or ()),
        schedule=Schedule(avail.windows if avail is not None else "",
                          local_zone(avail, circle)),
        dm_closed=person.dm_closed_at is not None) for offer, person, avail in rows]


async def excluded_for(ctx: Ctx, req: MentorRequest) -> set[int]:
    """Asked for this request already; or, for this requester, ever passed on one of their
    requests or shared a pairing with them: never asked again."""
    asked = set((await ctx.session.execute(
        select(MentorAsk.member_id).where(MentorAsk.request_id == req.id))).scalars())
    who = req.requester_member_id
    if who is None:
        return asked
    passed = set((await ctx.session.execute(
        select(MentorAsk.member_id).join(MentorRequest, MentorRequest.id == MentorAsk.request_id)
        .where(MentorRequest.requester_member_id == who, MentorAsk.state == "passed")
    )).scalars())
    paired = set()
    for mentor, mentee in (await ctx.session.execute(
        select(MentorPairing.mentor_member_id, MentorPairing.mentee_member_id)
        .where(or_(MentorPairing.mentor_member_id == who,
                   MentorPairing.mentee_member_id == who)))).all():
        paired.update(m for m in (mentor, mentee) if m is not None and m != who)
    return asked | passed | paired


async def ranked_for(ctx: Ctx, req: MentorRequest, circle: Circle) -> list[Ranked]:
    schedule = (await schedule_of(ctx, req.requester_member_id, circle)
                if req.requester_member_id is not None else Schedule("", circle.timezone))
    return rank(await load_candidates(ctx, circle), request_id=req.id,
                requester_member_id=req.requester_member_id, tags=list(req.tags or ()),
                schedule=schedule, excluded=await excluded_for(ctx, req), now=ctx.now)


# -- asking -----------------------------------------------------------------------------------
async def ask_round(ctx: Ctx, req: MentorRequest, circle: Circle) -> int:
    """Ask the next candidates now (the named member alone, the first time); returns how many
    were asked. With nobody left to ask, the request waits for the next offer."""
    settings = ctx.section(MentorshipSettings, circle)
    chosen: list[tuple[int, tuple[str, ...]]]
    if req.round == 0 and req.named_member_id is not None:
        chosen = [(req.named_member_id, ())]  # asked by name: whatever their offer says
    else:
        chosen = [(r.candidate.member_id, r.shared_tags)
                  for r in (await ranked_for(ctx, req, circle))[: settings.ask_at_once]]
    parties = [(p, shared) for member_id, shared in chosen
               if (p := await party(ctx, member_id)) is not None]
    if not parties:
        req.waiting = True
        return 0
    req.round += 1
    req.waiting = False
    for asked, shared in parties:
        _ask(ctx, req, circle, asked, shared)
    from bot.features.mentorship.timers import AskRound

    await ctx.schedule(AskRound(req.id, req.round),
                       ctx.now + timedelta(hours=settings.ask_hours),
                       key(req, f"round:{req.round}"))
    return len(parties)


def _ask(ctx: Ctx, req: MentorRequest, circle: Circle, asked: Party,
         shared: tuple[str, ...]) -> None:
    """The anonymised ask: the circle, the tags and the note, never a name."""
    t = ctx.texts_for(asked.person, circle)
    lines = [t("mentor.ask_named" if req.named_member_id == asked.member.id
               else "mentor.ask", id=req.id, circle=circle.name)]
    if req.tags:
        lines.append(t("mentor.ask_tags", tags=show(req.tags)))
    if shared:
        lines.append(t("mentor.ask_shared", tags=show(shared)))
    if req.note:
        lines.append(t("mentor.ask_note", note=req.note))
    lines.append(t("mentor.ask_how", id=req.id))
    outbox_key = ctx.dm(asked.person, "\n".join(lines), label=f"ask:{req.id}:{asked.member.id}",
                        actions=ask_actions(req.id))
    ctx.session.add(MentorAsk(request_id=req.id, member_id=asked.member.id, round=req.round,
                              state="open", asked_at=ctx.now, outbox_key=outbox_key))


async def open_asks(ctx: Ctx, req: MentorRequest) -> list[tuple[MentorAsk, Person]]:
    return [(a, p) for a, p in (await ctx.session.execute(
        select(MentorAsk, Person).join(Member, Member.id == MentorAsk.member_id)
        .join(Person, Person.id == Member.person_id)
        .where(MentorAsk.request_id == req.id, MentorAsk.state == "open")
        .order_by(MentorAsk.id))).all()]


async def close_asks(ctx: Ctx, req: MentorRequest, circle: Circle, state: str,
                     text_key: str) -> None:
    """Every open ask of a request is settled: an ask still waiting in the outbox is dropped,
    a delivered one is edited to say so."""
    asks = await open_asks(ctx, req)
    if not asks:
        return
    await ctx.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.key.in_([a.outbox_key for a, _ in asks]),
               OutboxMessage.sent_at.is_(None))
        .values(expires_at=ctx.now))
    for ask, person in asks:
        ask.state = state
        t = ctx.texts_for(person, circle)
        ctx.out.edit(person.platform, ask.outbox_key, t(text_key, id=req.id),
                     label=f"edit:ask:{ask.id}:{state}")


async def cancel_round_timers(ctx: Ctx, req: MentorRequest) -> None:
    await ctx.cancel_timers(*(key(req, f"round:{n}") for n in range(1, req.round + 1)))


async def next_round_now(ctx: Ctx, req: MentorRequest, circle: Circle, why: str) -> None:
    """Everyone asked so far said no (or the time ran out): the next ones are asked now, and
    the requester is told what is happening, kindly and without names."""
    named = req.round == 1 and req.named_member_id is not None
    await cancel_round_timers(ctx, req)
    was_waiting = req.waiting
    asked = await ask_round(ctx, req, circle)
    requester = await party(ctx, req.requester_member_id)
    if requester is None:
        return
    t = ctx.texts_for(requester.person, circle)
    if named:
        who = await party(ctx, req.named_member_id)
        head = t("mentor.named_not_now", name=who.person.display_name if who else "?")
    elif why == "passed":
        head = t("mentor.round_passed", id=req.id)
    else:
        head = t("mentor.round_no_yes", id=req.id)
    if asked:
        text = head + " " + ctx.texts_for(requester.person, circle).n(
            "mentor.round_asked_more", asked)
    elif was_waiting:
        return  # said already; nothing new to tell
    else:
        text = head + " " + t("mentor.round_none_left", circle=circle.name)
    ctx.dm(requester.person, text, label=f"round:{req.id}:{req.round}")


async def retry_waiting(ctx: Ctx, circle: Circle) -> None:
    """Someone offered (or has room again): requests that had nobody left to ask are asked
    again now, oldest first."""
    waiting = (await ctx.session.execute(
        select(MentorRequest).where(MentorRequest.circle_id == circle.id,
                                    MentorRequest.state == "open",
                                    MentorRequest.waiting.is_(True))
        .order_by(MentorRequest.id))).scalars().all()
    for req in waiting:
        await lock(ctx, req)
        if req.state != "open" or not req.waiting:
            continue  # another process got to it first
        asked = await ask_round(ctx, req, circle)
        requester = await party(ctx, req.requester_member_id)
        if asked and requester is not None:
            t = ctx.texts_for(requester.person, circle)
            ctx.dm(requester.person, t.n("mentor.retry_asked", asked, id=req.id,
                                         circle=circle.name),
                   label=f"retry:{req.id}:{req.round}")


# -- the first yes ----------------------------------------------------------------------------
async def pair(ctx: Ctx, req: MentorRequest, circle: Circle, mentor: Party,
               mentee: Party) -> MentorPairing:
    """A new pairing: both introduced by DM, a private room opened for the two of them, and
    the weekly nudges scheduled for each side in their own morning."""
    pairing = MentorPairing(circle_id=circle.id, request_id=req.id,
                            mentor_member_id=mentor.member.id,
                            mentee_member_id=mentee.member.id, started_at=ctx.now,
                            nudge_mentor=True, nudge_mentee=True)
    ctx.session.add(pairing)
    await ctx.session.flush()
    tm = ctx.texts_for(mentee.person, circle)
    ctx.dm(mentee.person, tm("mentor.intro_mentee", circle=circle.name,
                             name=mentor.person.display_name, contact=mention(mentor.person))
           + "\n" + tm("mentor.first_questions"), label=f"intro:{pairing.id}:mentee")
    tr = ctx.texts_for(mentor.person, circle)
    ctx.dm(mentor.person, tr("mentor.intro_mentor", circle=circle.name,
                             name=mentee.person.display_name, contact=mention(mentee.person))
           + "\n" + tr("mentor.first_questions"), label=f"intro:{pairing.id}:mentor")
    ct = ctx.circle_texts(circle)
    ctx.out.room(circle.platform, room_label(pairing), [mentee.person, mentor.person],
                 ct("mentor.room_hello", mentor=mentor.person.display_name,
                    mentee=mentee.person.display_name, circle=circle.name),
                 name=ct("mentor.room_name", mentor=mentor.person.display_name,
                         mentee=mentee.person.display_name),
                 label=f"room:{pairing.id}")
    from bot.features.mentorship.timers import Nudge

    for side in (mentor, mentee):
        due = at_local(ctx.now + NUDGE_EVERY, await zone_of(ctx, side.member.id, circle))
        await ctx.schedule(Nudge(pairing.id, side.member.id), due,
                           nudge_key(pairing.id, side.member.id, due))
    return pairing


def local_day(instant: datetime, tz: str) -> str:
    return instant.astimezone(zone(tz)).date().isoformat()  # the same in every language


def room_label(pairing: MentorPairing) -> str:
    return f"mentor#{pairing.id}"


def nudge_key(pairing_id: int, member_id: int, due: datetime) -> str:
    return f"mentor:pair:{pairing_id}:nudge:{member_id}:{due.date().isoformat()}"


def at_local(instant: datetime, tz: str, hour: int = NUDGE_HOUR) -> datetime:
    """`hour` o'clock on the local day of `instant` in `tz` (wall-clock time, so DST never
    moves it), as a UTC instant."""
    tzinfo = zone(tz)
    day: date = instant.astimezone(tzinfo).date()
    return datetime.combine(day, time(hour), tzinfo=tzinfo).astimezone(UTC)


# -- the end ----------------------------------------------------------------------------------
async def end_pairing(ctx: Ctx, pairing: MentorPairing, circle: Circle, *,
                      by_member_id: int | None, why: str, note: str | None = None,
                      followup: bool = True) -> None:
    """No-fault, whoever ends it: the other side is thanked (and hears a reason only when one
    was given), the mentor's capacity is free again, and the mentee may later get one gentle
    word that another mentor is there if they'd like one."""
    pairing.ended_at = ctx.now
    mentor = await party(ctx, pairing.mentor_member_id)
    mentee = await party(ctx, pairing.mentee_member_id)
    ender = mentor if mentor is not None and mentor.member.id == by_member_id else mentee
    for other in (mentor, mentee):
        if other is None or other.member.id == by_member_id:
            continue
        t = ctx.texts_for(other.person, circle)
        name = ender.person.display_name if ender is not None else ""
        text = t(f"mentor.ended_{why}", name=name, circle=circle.name)
        if note:
            text += "\n" + t("mentor.ended_words", note=note)
        ctx.dm(other.person, text, label=f"ended:{pairing.id}:{other.member.id}")
    # Whoever stays in the circle: a mentor who has room again, a mentee who may want another.
    stays = {p.member.id for p in (mentor, mentee) if p is not None
             and (why == "ended" or p.member.id != by_member_id)}
    if followup and mentee is not None and mentee.member.id in stays:
        from bot.features.mentorship.timers import EndFollowUp

        await ctx.schedule(EndFollowUp(mentee.member.id), ctx.now + END_FOLLOWUP_AFTER,
                           f"mentor:pair:{pairing.id}:followup")
    if mentor is not None and mentor.member.id in stays:
        await retry_waiting(ctx, circle)
