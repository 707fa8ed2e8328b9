"""`nudges [show]`, `nudges on|off`, `nudges quiet <from-to>`: all private."""

from __future__ import annotations

from typing import Any

from bot.commands import Arg, Kind
from bot.context import Ctx, UserError
from bot.features.nudges.feature import NudgeSettings, feature
from bot.features.nudges.models import DEFAULT_QUIET, NudgePref
from bot.features.nudges.quiet import parse_quiet, zone_and_quiet
from bot.features.nudges.timers import plan


async def pref_of(ctx: Ctx) -> NudgePref:
    assert ctx.member is not None
    pref = await ctx.session.get(NudgePref, ctx.member.id)
    if pref is None:
        pref = NudgePref(member_id=ctx.member.id, enabled=False, quiet=DEFAULT_QUIET,
                         since=ctx.now)
        ctx.session.add(pref)
    return pref


@feature.command("nudges show", private=True)
async def show(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.member is not None and ctx.circle is not None
    pref = await ctx.session.get(NudgePref, ctx.member.id)
    zone, quiet = await zone_and_quiet(ctx.session, ctx.member.id, ctx.circle)
    days = ctx.section(NudgeSettings).after_days
    key = "nudges.show_on" if pref is not None and pref.enabled else "nudges.show_off"
    return ctx.t(key, days=days, quiet=quiet, tz=zone)


@feature.command("nudges on", private=True)
async def on(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.circle is not None and ctx.member is not None
    pref = await pref_of(ctx)
    days = ctx.section(NudgeSettings).after_days
    zone, _ = await zone_and_quiet(ctx.session, ctx.member.id, ctx.circle)
    if not pref.enabled:
        pref.enabled, pref.since, pref.nudged_at = True, ctx.now, None
        await ctx.session.flush()
        await plan(ctx, pref, ctx.now)
    return ctx.t("nudges.on", days=days, quiet=pref.quiet, tz=zone)


@feature.command("nudges off", private=True)
async def off(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.member is not None
    # Off is the default: saying it stores nothing about someone who never turned them on.
    pref = await ctx.session.get(NudgePref, ctx.member.id)
    if pref is not None:
        pref.enabled, pref.next_check_at = False, None
    return ctx.t("nudges.off")


@feature.command("nudges quiet", Arg("hours", Kind.REST, required=True, max_len=20,
                                     help="arg.nudges.hours"), private=True)
async def quiet(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.circle is not None and ctx.member is not None
    value = parse_quiet(args["hours"])
    if value is None:
        raise UserError(ctx.t("err.nudges_quiet", value=args["hours"][:20]))
    pref = await pref_of(ctx)
    pref.quiet = value
    zone, _ = await zone_and_quiet(ctx.session, ctx.member.id, ctx.circle)
    if pref.enabled:
        await ctx.session.flush()
        await plan(ctx, pref, ctx.now)  # look again under the new hours
    return ctx.t("nudges.quiet_set", quiet=value, tz=zone)
