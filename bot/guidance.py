"""Help, the steps, and the THINK card."""

from __future__ import annotations

from typing import Any

from bot.context import Ctx, Registry, UserError
from bot.parser import _closest

handlers = Registry()


@handlers.command("help")
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
        guess = _closest(wanted, sorted({c.path for c in table.visible()}))
        if guess:
            raise UserError(ctx.t("err.unknown_command_suggest", word=wanted[:40], guess=guess))
        raise UserError(ctx.t("err.unknown_command", word=wanted[:40]))
    lines = []
    for cmd in matches:
        lines.append(f"{cmd.usage()} — {ctx.t(cmd.key)}")
        lines.append("  " + ctx.t("help.where_" + cmd.where.value))
    return "\n".join(lines)


@handlers.command("think")
async def think(ctx: Ctx, args: dict[str, Any]) -> str:
    return ctx.t("think.card")


@handlers.command("step")
async def step(ctx: Ctx, args: dict[str, Any]) -> str:
    n = args["n"]
    if n is None and ctx.circle is not None:
        n = ctx.settings.step_of_week
        if n:
            return ctx.t("step.of_week", n=n, text=ctx.t(f"step.{n}"))
    if n is None:
        return "\n".join([ctx.t("step.all_head")] +
                         [f"{i}. {ctx.t(f'step.{i}')}" for i in range(1, 13)])
    return ctx.t("step.one", n=n, text=ctx.t(f"step.{n}"))
