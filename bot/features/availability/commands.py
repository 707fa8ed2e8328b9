"""`available ...`: a member's consent to be paged, with windows in their own timezone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from bot.commands import Arg, Kind
from bot.context import Ctx, UserError
from bot.durations import parse_duration
from bot.feature import Feature
from bot.features.availability.models import Availability
from bot.features.availability.windows import (
    WindowError,
    describe,
    inside_text,
    is_window_word,
    parse_windows,
)
from bot.outbox import PRIORITY_LIFELINE
from bot.timezones import looks_like_timezone, resolve_timezone, zone
from storage.models import Circle, Member, Person

feature = Feature("availability", group_defaults={"available": "show"},
                  forgets=("availability",))
_EMERGENCY = Arg("emergency", Kind.BOOL, named_only=True, help="arg.available.emergency")

DEFAULT_SNOOZE = timedelta(hours=8)


async def availability_of(ctx: Ctx) -> Availability:
    assert ctx.member is not None and ctx.circle is not None
    row = await ctx.session.get(Availability, ctx.member.id)
    if row is None:
        row = Availability(member_id=ctx.member.id, enabled=False, windows="",
                           timezone=ctx.circle.timezone, accept_emergency=False,
                           updated_at=ctx.now)
        ctx.session.add(row)
    return row


@feature.command("available set",
                 Arg("windows", Kind.REST, required=True, max_len=300,
                     help="arg.available.windows"),
                 Arg("timezone", Kind.TIMEZONE, named_only=True), _EMERGENCY, private=True)
async def available_set(ctx: Ctx, args: dict[str, Any]) -> str:
    text: str = args["windows"]
    tz = args["timezone"]
    words = text.split()
    if words and _timezone_attempt(words):
        # `available set mon-fri 21:00-02:00 Europe/Berlin`: the timezone may come last.
        found, guess = resolve_timezone(words[-1])
        if found is None:
            raise UserError(ctx.t("err.timezone_suggest", value=words[-1][:60], guess=guess))
        if tz is None:
            tz, text = found, " ".join(words[:-1])
    try:
        windows = parse_windows(text)
    except WindowError as exc:
        raise UserError(exc.text(ctx.texts)) from None
    row = await availability_of(ctx)
    row.windows = describe(windows)
    if tz is not None:
        row.timezone = tz
    if args["emergency"] is not None:
        row.accept_emergency = bool(args["emergency"])
    was_enabled = row.enabled
    row.enabled = True
    row.updated_at = ctx.now
    if not was_enabled:
        _test_page(ctx)
    return _describe(ctx, row)


def _timezone_attempt(words: list[str]) -> bool:
    """Whether the last word was meant as a timezone, so a wrong one is blamed, not the
    windows before it (`any Berlin` is a city said without its region, not a bad day)."""
    last = words[-1]
    if is_window_word(last):
        return False
    if "/" in last or resolve_timezone(last)[0] is not None:
        return True  # a name, or the Area/City form, even with no windows before it
    return len(words) > 1 and (last[:1].isupper() or looks_like_timezone(last))


@feature.command("available on", _EMERGENCY, private=True)
async def available_on(ctx: Ctx, args: dict[str, Any]) -> str:
    row = await availability_of(ctx)
    row.enabled = True
    row.snoozed_until = None
    if args["emergency"] is not None:
        row.accept_emergency = bool(args["emergency"])
    row.updated_at = ctx.now
    _test_page(ctx)
    text = _describe(ctx, row)
    if not row.windows:
        text += "\n" + ctx.t("available.no_windows_hint")
    return text


def _test_page(ctx: Ctx) -> None:
    """Sent now, so a closed DM is found at 2pm, not at 4am."""
    assert ctx.person is not None and ctx.circle is not None
    ctx.dm(ctx.person, ctx.t("available.test_page", circle=ctx.circle.name),
           label="test-page", priority=PRIORITY_LIFELINE)


@feature.command("available off", private=True)
async def available_off(ctx: Ctx, args: dict[str, Any]) -> str:
    row = await availability_of(ctx)
    row.enabled = False
    row.updated_at = ctx.now
    return ctx.t("available.off")


@feature.command("available snooze", Arg("until", Kind.REST, max_len=40), private=True)
async def available_snooze(ctx: Ctx, args: dict[str, Any]) -> str:
    row = await availability_of(ctx)
    until = _snooze_until(ctx, (args["until"] or "").strip(), row.timezone)
    row.snoozed_until = until
    row.updated_at = ctx.now
    return ctx.t("available.snoozed", until=ctx.texts.when(until, row.timezone),
                 tz=row.timezone)


def _snooze_until(ctx: Ctx, text: str, tz: str) -> datetime:
    if not text:
        return ctx.now + DEFAULT_SNOOZE
    try:
        delta = parse_duration(text)
    except OverflowError:  # `99999999999999d`: more days than a timedelta holds
        raise UserError(ctx.t("err.snooze_too_long")) from None
    if delta is not None:
        if delta > timedelta(days=90):
            raise UserError(ctx.t("err.snooze_too_long"))
        return ctx.now + delta
    local_now = ctx.now.astimezone(zone(tz))
    # The example date is a week ahead, so the form shown is never itself in the past.
    example = (local_now + timedelta(days=7)).date().isoformat()
    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(p) for p in text.split(":"))
            candidate = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if candidate <= local_now:
                candidate += timedelta(days=1)
            return candidate.astimezone(zone("UTC"))
        day = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(ctx.t("err.snooze_until", value=text[:40], example=example)) from None
    local = day.replace(tzinfo=zone(tz)) if day.tzinfo is None else day
    if local <= ctx.now:
        raise UserError(ctx.t("available.snooze_past", value=text[:40], example=example))
    if local - ctx.now > timedelta(days=90):
        raise UserError(ctx.t("err.snooze_too_long"))
    return local.astimezone(zone("UTC"))


@feature.command("available show", private=True)
async def available_show(ctx: Ctx, args: dict[str, Any]) -> str:
    row = await ctx.session.get(Availability, ctx.member.id) if ctx.member else None
    if row is None:
        return ctx.t("available.never_set")
    return _describe(ctx, row)


def _describe(ctx: Ctx, row: Availability) -> str:
    state = ctx.t("available.state_on" if row.enabled else "available.state_off")
    lines = [ctx.t("available.summary", state=state, windows=row.windows or "-",
                   tz=row.timezone,
                   emergency=ctx.t("available.yes" if row.accept_emergency else "available.no"))]
    if row.snoozed_until is not None and row.snoozed_until > ctx.now:
        lines.append(ctx.t("available.snoozed",
                           until=ctx.texts.when(row.snoozed_until, row.timezone),
                           tz=row.timezone))
    now_in = row.enabled and inside_text(row.windows, row.timezone, ctx.now) and not (
        row.snoozed_until is not None and row.snoozed_until > ctx.now)
    lines.append(ctx.t("available.now_yes" if now_in else "available.now_no"))
    return "\n".join(lines)


async def enabled_rows(ctx: Ctx, circle_id: int) -> list[Availability]:
    return list((await ctx.session.execute(
        select(Availability).join(Member, Member.id == Availability.member_id)
        .where(Member.circle_id == circle_id, Availability.enabled.is_(True))
    )).scalars())


@feature.forget_person
async def _forget(ctx: Ctx, person: Person) -> int:
    result = await ctx.session.execute(
        delete(Availability).where(Availability.member_id.in_(
            select(Member.id).where(Member.person_id == person.id))))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@feature.export_person
async def _export(ctx: Ctx, person: Person) -> dict[str, Any]:
    rows = (await ctx.session.execute(
        select(Availability, Circle).join(Member, Member.id == Availability.member_id)
        .join(Circle, Circle.id == Member.circle_id).where(Member.person_id == person.id)
    )).all()
    return {"availability": [
        {"circle": c.name, "enabled": a.enabled, "windows": a.windows, "timezone": a.timezone,
         "accept_emergency": a.accept_emergency,
         "snoozed_until": a.snoozed_until.isoformat() if a.snoozed_until else None}
        for a, c in rows]}
