"""`repair request [about:@name] [note]`, `repair confirm`, `repair status`,
`repair close [id:N] [summary]` and `repair agree [id]`. Every answer is private: a request
is never seen by the room, and never by the member it is about."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.answer import Answer
from bot.commands import NOTE_LIMIT, Arg, Kind, Who
from bot.context import Ctx, UserError
from bot.features.repair.feature import feature
from bot.features.repair.models import SUMMARY_LIMIT, RepairRequest
from bot.features.repair.requests import close, convene, mine, unclosed_of
from bot.features.repair.states import State
from bot.features.repair.team import hearers, names, set_team, team_of
from bot.membership import Party, circles_of, find_member, member_of
from bot.textsafety import visible_text
from storage.models import Circle, Member


def _circle(ctx: Ctx) -> tuple[Circle, Party]:
    assert ctx.circle is not None and ctx.member is not None and ctx.person is not None
    return ctx.circle, Party(ctx.member, ctx.person)


def _one_line(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    return text if visible_text(text) else None


async def _circle_of(ctx: Ctx, request: RepairRequest) -> Circle:
    circle = await ctx.session.get(Circle, request.circle_id)
    assert circle is not None
    return circle


async def _held(ctx: Ctx, request: RepairRequest) -> RepairRequest:
    """Read again and held: the requester and the team may close at the same instant."""
    await ctx.session.refresh(request, with_for_update=True)
    return request


@feature.command("repair request",
                 Arg("about", Kind.MEMBER, named_only=True, help="arg.repair.about"),
                 Arg("note", Kind.REST, max_len=NOTE_LIMIT, help="arg.repair.note"),
                 private=True)
async def repair_request(ctx: Ctx, args: dict[str, Any]) -> Answer:
    circle, me = _circle(ctx)
    subject = None
    if args["about"]:
        found = await find_member(ctx, circle, args["about"])
        if found is None:
            raise UserError(ctx.t("err.repair_about_unknown", who=args["about"][:60],
                                  circle=circle.name))
        if found[0].id == me.member.id:
            raise UserError(ctx.t("err.repair_about_self"))
        subject = Party(*found)
    # One request at a time (the person's row is held for this transaction, so two at once
    # find each other): asking again while one waits for confirm replaces it.
    [request, *_] = await unclosed_of(ctx, me.person, circle, as_team=False) or [None]
    if request is not None and request.state == State.CONVENED.value:
        raise UserError(ctx.t("err.repair_convened", id=request.id))
    team, stewards = await hearers(ctx, circle, me.member.id,
                                   subject.member.id if subject else None)
    if not team:
        raise UserError(ctx.t("err.repair_nobody", circle=circle.name))
    if request is None:
        request = RepairRequest(circle_id=circle.id, requester_member_id=me.member.id,
                                state=State.OPEN.value,
                                history=[{"state": State.OPEN.value,
                                          "at": ctx.now.isoformat()}],
                                created_at=ctx.now)
        ctx.session.add(request)
    request.note = (args["note"] or "").strip() or None
    request.subject_member_id = subject.member.id if subject else None
    await ctx.session.flush()
    await set_team(ctx, request, team)
    lines = [ctx.t("repair.ask", id=request.id, circle=circle.name, names=names(team))]
    if stewards:
        lines.append(ctx.t("repair.ask_stewards"))
    if subject is not None:
        lines.append(ctx.t("repair.ask_about", name=subject.person.display_name))
    lines.append(ctx.t("repair.ask_confirm"))
    return Answer("\n".join(lines), private=True)


@feature.command("repair confirm", who=Who.ANYONE, private=True)
async def repair_confirm(ctx: Ctx, args: dict[str, Any]) -> Answer:
    assert ctx.person is not None
    pending = [r for r in await unclosed_of(ctx, ctx.person, ctx.circle, as_team=False)
               if r.state == State.OPEN.value]
    if not pending:
        raise UserError(ctx.t("err.repair_nothing_pending"))
    if len(pending) > 1:  # one per circle: asked from a direct conversation, in two circles
        circles = [await _circle_of(ctx, r) for r in pending]
        raise UserError(ctx.t("err.repair_which_circle",
                              names=", ".join(c.name for c in circles),
                              first=circles[0].name))
    request = await _held(ctx, pending[0])
    if request.state != State.OPEN.value:
        raise UserError(ctx.t("err.repair_nothing_pending"))
    circle = await _circle_of(ctx, request)
    team = await team_of(ctx, request)
    if not team:  # everyone named has left since: ask again, to be told who hears it now
        raise UserError(ctx.t("err.repair_team_gone"))
    assert request.requester_member_id is not None
    requester = Party(await ctx.session.get_one(Member, request.requester_member_id),
                      ctx.person)
    await convene(ctx, request, circle, requester, team)
    return Answer(ctx.t("repair.confirmed", id=request.id, names=names(team)), private=True)


@feature.command("repair status", who=Who.ANYONE, private=True)
async def repair_status(ctx: Ctx, args: dict[str, Any]) -> Answer:
    person = ctx.person
    assert person is not None
    query = select(RepairRequest).where(
        RepairRequest.requester_member_id.in_(mine(person)))
    if ctx.circle is not None:
        query = query.where(RepairRequest.circle_id == ctx.circle.id)
    asked = list((await ctx.session.execute(query.order_by(RepairRequest.id))).scalars())
    heard = [r for r in await unclosed_of(ctx, person, ctx.circle, as_team=True)
             if r.id not in {a.id for a in asked}]
    if not asked and not heard:
        if ctx.circle is None and not await circles_of(ctx.session, person):
            raise UserError(ctx.t("err.no_circles"))
        return Answer(ctx.t("repair.status_none"), private=True)
    t = ctx.texts
    lines = [t("repair.status_head")]
    for request in asked:
        lines.append(await _line(ctx, request, "repair.status_asked"))
    for request in heard:
        lines.append(await _line(ctx, request, "repair.status_heard"))
    return Answer("\n".join(lines), private=True)


async def _line(ctx: Ctx, request: RepairRequest, key: str) -> str:
    t = ctx.texts
    circle = await _circle_of(ctx, request)
    # Each date as it was on the circle's calendar (the history holds UTC instants).
    history = ", ".join(t(f"repair.state.{h['state']}",
                          at=t.when(datetime.fromisoformat(h["at"]), circle.timezone,
                                    "yyyy-MM-dd"))
                        for h in request.history or ())
    line = t(key, id=request.id, circle=circle.name, history=history)
    if request.state != State.CLOSED.value:
        line += " " + t("repair.status_with", names=names(await team_of(ctx, request)))
    if request.summary and request.summary_agreed:
        line += " " + t("repair.status_summary", summary=request.summary)
    elif request.summary and key == "repair.status_asked":
        line += " " + t("repair.status_summary_offered", summary=request.summary,
                        id=request.id)
    return line


@feature.command("repair close",
                 Arg("id", Kind.INT, minimum=1, maximum=10**9, named_only=True,
                     help="arg.repair.id"),
                 Arg("summary", Kind.REST, max_len=SUMMARY_LIMIT, help="arg.repair.summary"),
                 who=Who.ANYONE, private=True)
async def repair_close(ctx: Ctx, args: dict[str, Any]) -> Answer:
    person = ctx.person
    assert person is not None
    found = await unclosed_of(ctx, person, ctx.circle, as_team=True)
    if args["id"] is not None:
        found = [r for r in found if r.id == args["id"]]
    if not found:
        raise UserError(ctx.t("err.repair_close_outside"))
    if len(found) > 1:
        raise UserError(ctx.t("err.repair_which", ids=", ".join(f"#{r.id}" for r in found),
                              first=found[0].id))
    request = await _held(ctx, found[0])
    if request.state == State.CLOSED.value:
        raise UserError(ctx.t("err.repair_close_outside"))
    circle = await _circle_of(ctx, request)
    by = await _party_in(ctx, request, circle)
    was = request.state
    summary = _one_line(args["summary"])
    if was == State.OPEN.value:
        # Dropped before anything was sent: nothing to summarise, no one to tell.
        await close(ctx, request, circle, by=by, why="closed")
        return Answer(ctx.t("repair.withdrawn", id=request.id), private=True)
    await close(ctx, request, circle, by=by, why="closed", summary=summary)
    lines = [ctx.t("repair.closed", id=request.id)]
    if summary and request.summary_agreed:
        lines.append(ctx.t("repair.closed_summary", summary=summary))
    elif summary:
        lines.append(ctx.t("repair.closed_proposed"))
    return Answer("\n".join(lines), private=True)


async def _party_in(ctx: Ctx, request: RepairRequest, circle: Circle) -> Party:
    assert ctx.person is not None
    member = await member_of(ctx.session, circle, ctx.person)
    assert member is not None  # the requester or someone convened: a member of its circle
    return Party(member, ctx.person)


@feature.command("repair agree", Arg("id", Kind.INT, minimum=1, maximum=10**9,
                                     help="arg.repair.id"),
                 who=Who.ANYONE, private=True)
async def repair_agree(ctx: Ctx, args: dict[str, Any]) -> Answer:
    person = ctx.person
    assert person is not None
    query = select(RepairRequest).where(
        RepairRequest.requester_member_id.in_(mine(person)),
        RepairRequest.state == State.CLOSED.value, RepairRequest.summary.is_not(None),
        RepairRequest.summary_agreed.is_(False))
    if args["id"] is not None:
        query = query.where(RepairRequest.id == args["id"])
    offered = list((await ctx.session.execute(query.order_by(RepairRequest.id))).scalars())
    if not offered:
        raise UserError(ctx.t("err.repair_nothing_to_agree"))
    if len(offered) > 1:
        raise UserError(ctx.t("err.repair_which_agree",
                              ids=", ".join(f"#{r.id}" for r in offered), first=offered[0].id))
    offered[0].summary_agreed = True
    return Answer(ctx.t("repair.agreed", id=offered[0].id, summary=offered[0].summary),
                  private=True)
