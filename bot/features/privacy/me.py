"""`me`: what the bot holds about you, as a file you can keep, and forgetting it all.
Each feature answers for its own data through its export and forget hooks."""

from __future__ import annotations

import json
from typing import Any

from bot.answer import Answer, Attachment
from bot.commands import Arg, Kind, Who
from bot.context import Ctx, UserError
from bot.features.privacy.housekeeping import feature
from bot.texts import LANGUAGES


async def _export(ctx: Ctx) -> dict[str, Any]:
    assert ctx.person is not None
    return await ctx.core.export_person(ctx, ctx.person)


def _what(ctx: Ctx, owner: str, name: str) -> str:
    """A feature's export key as words; a feature may name its own (me.what.<key>, or
    me.what.<feature>.<key> where two features use one key: mentor and lifeline `requests`)."""
    for key in (f"me.what.{owner}.{name}", f"me.what.{name}"):
        if ctx.texts.has(key):
            return ctx.t(key)
    return name.replace("_", " ")


def _summary(ctx: Ctx, data: dict[str, Any]) -> list[str]:
    """One short line per kind of thing held: how many, never the words themselves."""
    lines = []
    for owner, part in data.items():
        for name, value in part.items():
            if isinstance(value, list) and value:
                lines.append(ctx.n("me.count", len(value), what=_what(ctx, owner, name)))
    return lines


@feature.command("me show", who=Who.ANYONE, private=True)
async def me_show(ctx: Ctx, args: dict[str, Any]) -> Answer:
    assert ctx.person is not None
    data = await _export(ctx)
    lines = [ctx.t("me.head", name=ctx.person.display_name,
                   language=ctx.person.language or "-")]
    lines += _summary(ctx, data) or [ctx.t("me.nothing")]
    lines.append(ctx.t("me.tail"))
    return Answer("\n".join(lines), private=True)


@feature.command("me export", who=Who.ANYONE, private=True)
async def me_export(ctx: Ctx, args: dict[str, Any]) -> Answer:
    data = await _export(ctx)
    body = json.dumps({"exported_at": ctx.now.isoformat(), **data}, indent=2,
                      sort_keys=True, ensure_ascii=False).encode()
    return Answer(ctx.t("me.exported"), private=True, attachments=(
        Attachment("peercircle-export.json", "application/json", body,
                   alt=ctx.t("me.export_alt")),))


@feature.command("me forget", Arg("confirm", Kind.CHOICE, choices=("confirm",)),
                 who=Who.ANYONE, private=True)
async def me_forget(ctx: Ctx, args: dict[str, Any]) -> Answer:
    assert ctx.person is not None
    if args["confirm"] != "confirm":
        # Nothing changes until they say so: forgetting cannot be undone.
        return Answer(ctx.t("me.forget_ask"), private=True)
    summary = _summary(ctx, await _export(ctx))
    texts = ctx.texts
    await ctx.core.forget_person(ctx, ctx.person)
    ctx.person = None
    lines = [texts("me.forgotten"), *summary, texts("me.forgotten_tail")]
    return Answer("\n".join(lines), private=True)


@feature.command("me language", Arg("language", Kind.TEXT, required=True, max_len=8),
                 who=Who.ANYONE, private=True)
async def me_language(ctx: Ctx, args: dict[str, Any]) -> Answer:
    assert ctx.person is not None
    wanted = args["language"].strip().lower()
    if wanted not in LANGUAGES:
        raise UserError(ctx.t("err.language", value=wanted[:8], known=", ".join(LANGUAGES)))
    ctx.person.language = wanted
    from bot.texts import Texts

    return Answer(Texts(wanted)("me.language_set", language=wanted), private=True)
