"""`help`, `step`, `think`."""

from __future__ import annotations

from typing import Any

from bot.commands import Arg, Kind, Who
from bot.context import Ctx, UserError
from bot.feature import Feature
from bot.features.guidance.settings import GuidanceSettings
from bot.parser import closest

feature = Feature("guidance", settings=GuidanceSettings)


@feature.command("help", Arg("command", Kind.REST, max_len=100), who=Who.ANYONE)
async def help_(ctx: Ctx, args: dict[str, Any]) -> str:
    table = ctx.core.table
    wanted = (args["command"] or "").strip().lower().lstrip("!/")
    if not wanted:
        lines = [ctx.t("help.head")]
        for cmd in table.visible():
            lines.append(f"- {cmd.usage()} — {ctx.t(cmd.key)}")
        lines.append(ctx.t("help.tail"))
        return "\n".join(lines)
    matches = [c for c in table.visible() if c.path == wanted or c.words[0] == wanted]
    if not matches:
        guess = closest(wanted, sorted({c.path for c in table.visible()}))
        if guess:
            raise UserError(ctx.t("err.unknown_command_suggest", word=wanted[:40], guess=guess))
        raise UserError(ctx.t("err.unknown_command", word=wanted[:40]))
    lines = []
    for cmd in matches:
        lines.append(f"{cmd.usage()} — {ctx.t(cmd.key)}")
        for arg in cmd.args:
            if arg.help:
                lines.append(f"  {arg.name}: {ctx.t(arg.help)}")
        lines.append("  " + ctx.t("help.where_" + cmd.where.value))
    return "\n".join(lines)


@feature.command("think", who=Who.ANYONE)
async def think(ctx: Ctx, args: dict[str, Any]) -> str:
    return ctx.t("think.card")


@feature.command("step", Arg("step", Kind.INT, minimum=1, maximum=12, help="arg.step.n"),
                 who=Who.ANYONE)
async def step(ctx: Ctx, args: dict[str, Any]) -> str:
    n = args["step"]
    if n is None and ctx.circle is not None:
        n = ctx.section(GuidanceSettings).step_of_week
        if n:
            return ctx.t("step.of_week", n=n, text=ctx.t(f"step.{n}"))
    if not n:
        return "\n".join([ctx.t("step.all_head")] +
                         [f"{i}. {ctx.t(f'step.{i}')}" for i in range(1, 13)])
    return ctx.t("step.one", n=n, text=ctx.t(f"step.{n}"))
