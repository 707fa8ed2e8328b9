"""Finding a member's repair requests, convening one, and closing one: the note and the
convened list go, from every table, the outbox included; the date and the state history stay,
with a one-line summary only if the requester wrote it or agrees to it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, delete, or_, select

from bot.answer import Action
from bot.context import Ctx
from bot.features.repair.models import RepairRequest, RepairTeamSeat
from bot.features.repair.states import State, move
from bot.features.repair.team import names, set_team, team_of
from bot.membership import Party, party
from storage.models import Circle, Member, OutboxMessage, Person

NOTE_LABEL = "repair-note:"  # the outbox label of the post that carries a request's note
SUMMARY_WAIT = timedelta(days=7)  # a team's summary not agreed to by then is not kept


def room_label(request: RepairRequest) -> str:
    return f"repair#{request.id}"


def mine(person: Person) -> Select[tuple[int]]:
    return select(Member.id).where(Member.person_id == person.id)


async def unclosed_of(ctx: Ctx, person: Person, circle: Circle | None, *,
                      as_team: bool) -> list[RepairRequest]:
    """Requests not yet closed that the person asked for, and (with `as_team`) convenings
    they are part of. The team never learns of a request before it is confirmed."""
    asked = RepairRequest.requester_member_id.in_(mine(person))
    where = asked
    if as_team:
        heard = (RepairRequest.state == State.CONVENED.value) & RepairRequest.id.in_(
            select(RepairTeamSeat.request_id).where(
                RepairTeamSeat.member_id.in_(mine(person))))
        where = or_(asked, heard)
    query = select(RepairRequest).where(where, RepairRequest.state != State.CLOSED.value)
    if circle is not None:
        query = query.where(RepairRequest.circle_id == circle.id)
    return list((await ctx.session.execute(query.order_by(RepairRequest.id))).scalars())


async def convene(ctx: Ctx, request: RepairRequest, circle: Circle, requester: Party,
                  team: list[Party]) -> None:
    """The private room: the requester and exactly the people they were told about. The note
    travels in a post of its own, so the close can delete it whole."""
    move(request, "confirm", ctx.now)
    ct = ctx.circle_texts(circle)
    people = [requester.person, *(p.person for p in team)]
    name = ct("repair.room_name", id=request.id, circle=circle.name)
    ctx.out.room(circle.platform, room_label(request), people,
                 ct("repair.room_hello", requester=requester.person.display_name,
                    names=names(team), circle=circle.name),
                 name=name, label=f"repair-hello:{request.id}")
    if request.note:
        ctx.out.room(circle.platform, room_label(request), people,
                     ct("repair.room_note", note=request.note), name=name,
                     label=f"{NOTE_LABEL}{request.id}")


async def close(ctx: Ctx, request: RepairRequest, circle: Circle, *, by: Party | None,
                why: str, summary: str | None = None) -> None:
    """`why`: closed (by someone in it), left (the requester left), forgotten."""
    was = State(request.state)
    team = await team_of(ctx, request)
    requester = await party(ctx, request.requester_member_id)
    move(request, "close", ctx.now)
    request.note = None
    request.subject_member_id = None
    request.closed_at = ctx.now
    await scrub(ctx, request)
    agreed = by is not None and requester is not None and by.member.id == requester.member.id
    if summary:
        request.summary, request.summary_agreed = summary, agreed
    if was is State.CONVENED:
        ct = ctx.circle_texts(circle)
        lines = [ct(f"repair.room_closed_{why}", id=request.id,
                    name=by.person.display_name if by is not None else "")]
        if summary:
            lines.append(ct("repair.room_summary" if agreed else "repair.room_summary_proposed",
                            summary=summary,
                            requester=requester.person.display_name if requester else ""))
        people = [p.person for p in ([requester] if requester else []) + team]
        if people:
            ctx.out.room(circle.platform, room_label(request), people, "\n".join(lines),
                         name=ct("repair.room_name", id=request.id, circle=circle.name),
                         label=f"repair-closed:{request.id}")
    if summary and not agreed and requester is not None and by is not None:
        t = ctx.texts_for(requester.person, circle)
        ctx.dm(requester.person, t("repair.summary_offer", name=by.person.display_name,
                                   id=request.id, summary=summary, circle=circle.name),
               label=f"repair-summary:{request.id}", expires_at=ctx.now + SUMMARY_WAIT,
               actions=(Action("repair-agree", "action.repair_agree", "repair agree",
                               (str(request.id),), "✅"),))
    await set_team(ctx, request, [])


async def scrub(ctx: Ctx, request: RepairRequest) -> None:
    """The post that carried the note goes from the outbox, sent or not."""
    await ctx.session.execute(delete(OutboxMessage).where(
        OutboxMessage.kind == "room",
        OutboxMessage.key.like(f"%:{NOTE_LABEL}{request.id}")))
