"""Who hears a repair request: the repair team's holders this term, else the stewards; never
the member it is about, and not the requester (who is in the room anyway)."""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.context import Ctx
from bot.features.repair.models import RepairRequest, RepairTeamSeat
from bot.features.rotation import role_holders
from bot.membership import Party, member_of
from storage.models import Circle, Member, Person

REPAIR_TEAM = "repair_team"  # the default rotation role


async def hearers(ctx: Ctx, circle: Circle, requester_id: int,
                  subject_id: int | None) -> tuple[list[Party], bool]:
    """The people to convene, and whether they are the stewards (no one on the team)."""
    left_out = {requester_id, subject_id}
    team = [Party(m, p) for m, p in await role_holders(ctx.session, circle.id, REPAIR_TEAM)
            if m.id not in left_out]
    if team:
        return _unique(team), False
    stewards = []
    for person in await ctx.core.stewards(ctx, circle):
        member = await member_of(ctx.session, circle, person)
        if member is not None and member.id not in left_out:
            stewards.append(Party(member, person))
    return _unique(stewards), True


def _unique(parties: list[Party]) -> list[Party]:
    """Each once, in the order `team_of` reads them back (so the names match)."""
    return sorted({p.member.id: p for p in parties}.values(), key=lambda p: p.member.id)


async def team_of(ctx: Ctx, request: RepairRequest) -> list[Party]:
    """Those a request convenes (or will), as they were named to the requester."""
    rows = (await ctx.session.execute(
        select(Member, Person).join(Person, Person.id == Member.person_id)
        .join(RepairTeamSeat, RepairTeamSeat.member_id == Member.id)
        .where(RepairTeamSeat.request_id == request.id).order_by(Member.id))).all()
    return [Party(m, p) for m, p in rows]


async def set_team(ctx: Ctx, request: RepairRequest, team: list[Party]) -> None:
    await ctx.session.execute(delete(RepairTeamSeat).where(
        RepairTeamSeat.request_id == request.id))
    for party in team:
        ctx.session.add(RepairTeamSeat(request_id=request.id, member_id=party.member.id))
    await ctx.session.flush()


def names(parties: list[Party]) -> str:
    return ", ".join(p.person.display_name for p in parties)
