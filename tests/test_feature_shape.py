"""The feature shape: a feature is one package registered in one place; hooks reach every
table that holds a person; recurring timers keep wall-clock time across DST."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field
from sqlalchemy import ForeignKey, Text

from adapters.console import ConsoleSession
from bot.clock import FakeClock, parse_instant
from bot.config import Settings
from bot.context import Ctx
from bot.feature import Feature, Features
from bot.features import all_features, build_features
from bot.recurring import Recurrence, next_due, next_occurrence
from bot.section import SettingsSection
from bot.texts import unregister_catalogue
from storage.models import E2E_STORE_TABLES, Base
from tests.conftest import DbSpec, run_lines


def _toy(locale: Path) -> Feature:
    """A whole feature in a few lines: a command, a setting, an info line, a timer."""
    (locale / "en.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgctxt "help.wave"\nmsgid "wave at the circle"\nmsgstr "wave at the circle"\n\n'
        'msgctxt "setting.wave_emoji"\nmsgid "what a wave looks like"\n'
        'msgstr "what a wave looks like"\n', encoding="utf-8")

    class ToySettings(SettingsSection):
        section = "toy"
        wave_emoji: str = Field("o/", max_length=8, json_schema_extra={"info": True})

    feature = Feature("toy", settings=ToySettings, locale=locale)

    @dataclass(frozen=True)
    class WaveLater:
        member_id: int

    @feature.command("wave")
    async def wave(ctx: Ctx, args: dict[str, Any]) -> str:
        assert ctx.member is not None
        await ctx.schedule(WaveLater(ctx.member.id), ctx.now + timedelta(minutes=5),
                           f"toy:{ctx.member.id}")
        return f"{ctx.section(ToySettings).wave_emoji} (again in 5 minutes)"

    @feature.timer("toy.wave_later", WaveLater)
    async def later(ctx: Ctx, payload: WaveLater) -> None:
        assert ctx.circle is None
        from storage.models import Circle, Member

        member = await ctx.session.get(Member, payload.member_id)
        assert member is not None
        circle = await ctx.session.get(Circle, member.circle_id)
        assert circle is not None
        ctx.post(circle, ctx.section(ToySettings, circle).wave_emoji + " once more")

    @feature.circle_info
    async def info(ctx: Ctx) -> list[str]:
        return ["Toy: waving"]

    return feature


async def test_a_toy_feature_works_everywhere_without_touching_another(
        db_spec: DbSpec, clock: FakeClock, tmp_path: Path) -> None:
    features = build_features([_toy(tmp_path)])
    session = ConsoleSession(Settings(), clock, db_factory=db_spec.make)
    from bot import app

    original = app.open_core

    async def with_toy(*args: Any, **kw: Any) -> Any:
        return await original(*args, features=features, **kw)

    app.open_core = with_toy  # type: ignore[assignment]
    import adapters.console as console_module

    console_module.open_core = with_toy  # type: ignore[attr-defined]
    try:
        await session.start()
        said = await run_lines(session, """
            @alice> circle setup name:Toyland timezone:Europe/Berlin
            @alice> help wave
            @alice> circle settings wave_emoji:\\o/
            @alice> wave
            @alice> circle info
            :advance 5m
        """.replace("            ", ""))
    finally:
        app.open_core = original  # type: ignore[assignment]
        console_module.open_core = original  # type: ignore[attr-defined]
        await session.close()
        unregister_catalogue(tmp_path)
    text = "\n".join(said)
    assert "wave — wave at the circle" in text  # help, from the table and the catalogue
    assert "wave_emoji: \\o/" in text  # circle settings, generated from the section
    assert "[reply @alice] \\o/ (again in 5 minutes)" in text  # the parser and the handler
    assert "wave_emoji: \\o/" in said[-2] and "Toy: waving" in said[-2]  # circle info
    assert said[-1] == "[room] \\o/ once more"  # the typed timer fired


def test_startup_refuses_a_command_nobody_handles() -> None:
    from bot.commands import Command, CommandTable

    features = Features(all_features())
    table = CommandTable((*features.table.commands.values(), Command("orphan")))
    with pytest.raises(RuntimeError, match="commands without a handler: orphan"):
        features.check(table)
    smaller = CommandTable(tuple(c for c in features.table.commands.values()
                                 if c.path != "think"))
    with pytest.raises(RuntimeError, match="handlers without a command: think"):
        features.check(smaller)


def test_two_features_may_not_claim_one_setting_or_command() -> None:
    a, b = Feature("a"), Feature("b")

    @a.command("same")
    async def one(ctx: Ctx, args: dict[str, Any]) -> str:
        return ""

    @b.command("same")
    async def two(ctx: Ctx, args: dict[str, Any]) -> str:
        return ""

    with pytest.raises(ValueError, match="declared twice"):
        Features([a, b])


def _personal_or_free_text(table: Any) -> bool:
    for column in table.columns:
        targets = {fk.column.table.name for fk in column.foreign_keys}
        if targets & {"people", "members"} or column.name in ("user_id", "platform_user_id"):
            return True
        if isinstance(column.type, Text):
            return True
    return False


def test_every_personal_table_is_forgotten_by_some_feature() -> None:
    features = all_features()
    covered = {t for f in features for t in (*f.forgets, *f.aggregate_only, *f.transient)}
    covered |= set(E2E_STORE_TABLES)  # the Matrix encryption state, see storage/models.py
    missing = sorted(t.name for t in Base.metadata.sorted_tables
                     if _personal_or_free_text(t) and t.name not in covered)
    assert missing == [], f"tables no feature forgets or declares aggregate-only: {missing}"
    # And the declarations name real tables (a typo would hide a gap).
    assert covered <= set(Base.metadata.tables)


def test_the_coverage_check_can_fail() -> None:
    from sqlalchemy import Column, Integer, MetaData, Table

    meta = MetaData()
    Table("people", meta, Column("id", Integer, primary_key=True))
    diary = Table("diary", meta, Column("id", Integer, primary_key=True),
                  Column("person_id", Integer, ForeignKey("people.id")))
    assert _personal_or_free_text(diary)


async def test_leave_reaches_every_feature_through_hooks(console: ConsoleSession) -> None:
    await run_lines(console, """
        @alice> circle setup name:Riverbend timezone:Europe/Berlin
        @bob> join
        @bob> checkin 3 a note
        @bob dm> available set daily any
    """.replace("        ", ""))
    said = await run_lines(console, "@bob> leave")
    assert said[0].startswith("[reply @bob]")
    said = await run_lines(console, ":advance 8d")
    assert not any("@bob" in line for line in said)  # no onboarding follow-up reached bob
    said = await run_lines(console, "@alice> checkins")
    assert "a note" not in "\n".join(said)  # unlinked and forgotten by the check-ins hook


async def test_forget_and_export_hooks_cover_what_a_member_did(
        console: ConsoleSession) -> None:
    from sqlalchemy import select

    from bot.features.checkins.models import Checkin
    from bot.outbox import OutboxWriter
    from bot.texts import Texts
    from storage.models import Person

    await run_lines(console, """
        @alice> circle setup name:Riverbend timezone:Europe/Berlin
        @bob> join
        @bob> checkin 3 open words
        @bob dm> checkin 2 private words visibility:private
        @carol> join
        @carol dm> available set daily any
        @bob dm> call hold me
    """.replace("        ", ""))
    core = console.core
    assert core is not None
    async with core.db.transaction() as s:
        bob = (await s.execute(select(Person).where(Person.platform_user_id == "bob"))
               ).scalar_one()
        ctx = Ctx(core=core, session=s, now=console.clock.now(),
                  out=OutboxWriter(s, console.clock.now(), "test"), texts=Texts())
        exported = await core.export_person(ctx, bob)
        assert {c["note"] for c in exported["checkins"]["checkins"]} == {"open words",
                                                                         "private words"}
        assert exported["lifeline"]["requests"][0]["note"] == "hold me"
        assert exported["circles"]["person"]["id"] == "bob"
        await core.forget_person(ctx, bob)
    async with core.db.transaction() as s:
        assert (await s.execute(select(Person).where(Person.platform_user_id == "bob"))
                ).scalar_one_or_none() is None
        checkins = (await s.execute(select(Checkin))).scalars().all()
        assert len(checkins) == 2  # the counts stay
        assert all(c.member_id is None and c.note is None for c in checkins)


# -- recurring timers --------------------------------------------------------------------------
NY = "America/New_York"


def test_a_time_that_does_not_exist_fires_when_the_clocks_jump() -> None:
    rule = Recurrence({"hour": 2, "minute": 30}, NY)
    # 2027-03-14: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist that night.
    got = next_occurrence(rule, datetime(2027, 3, 13, 12, tzinfo=UTC))
    assert got == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert next_occurrence(rule, got) == datetime(2027, 3, 15, 6, 30, tzinfo=UTC)


def test_a_time_that_happens_twice_fires_once() -> None:
    rule = Recurrence({"hour": 1, "minute": 30}, NY)
    # 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
    first = next_occurrence(rule, datetime(2026, 10, 31, 12, tzinfo=UTC))
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert next_occurrence(rule, first) == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)


def test_a_weekly_time_keeps_its_wall_clock_across_both_changes() -> None:
    from zoneinfo import ZoneInfo

    rule = Recurrence({"day_of_week": "wed", "hour": 19, "minute": 0}, NY)
    due = datetime(2026, 10, 1, tzinfo=UTC)
    seen = []
    for _ in range(30):
        due = next_occurrence(rule, due)
        seen.append(due.astimezone(ZoneInfo(NY)))
    assert all((d.hour, d.minute, d.weekday()) == (19, 0, 2) for d in seen)
    assert {d.utcoffset() for d in seen} == {timedelta(hours=-4), timedelta(hours=-5)}


def test_an_overdue_timer_fires_once_and_its_successor_is_in_the_future() -> None:
    rule = Recurrence({"hour": 3, "minute": 0})
    previous = datetime(2026, 1, 1, 3, tzinfo=UTC)
    now = datetime(2027, 1, 5, 12, tzinfo=UTC)  # a year of downtime
    assert next_due(rule, previous, now) == datetime(2027, 1, 6, 3, tzinfo=UTC)
    # Late by minutes: the successor is counted from the due time, not from the firing.
    assert next_due(rule, previous, previous + timedelta(minutes=40)) == datetime(
        2026, 1, 2, 3, tzinfo=UTC)


async def test_an_overdue_housekeeping_timer_fires_once_at_start(db_spec: DbSpec) -> None:
    from sqlalchemy import func, select

    from storage.models import Timer

    clock = FakeClock(parse_instant("2026-11-22T04:00:00Z"))
    session = ConsoleSession(Settings(), clock, db_factory=db_spec.make)
    await session.start()
    await session.close()
    clock.set(parse_instant("2027-11-22T04:00:00Z"))
    await session.start()  # a year later: one overdue housekeeping timer
    try:
        core = session.core
        assert core is not None
        async with core.db.transaction() as s:
            rows = (await s.execute(select(Timer.fired_at, Timer.due_at).where(
                Timer.kind == "privacy.housekeeping"))).all()
            fired = (await s.execute(select(func.count()).select_from(Timer).where(
                Timer.kind == "privacy.housekeeping",
                Timer.fired_at.is_not(None)))).scalar_one()
        assert fired == 1
        pending = [due for f, due in rows if f is None]
        assert pending and all(due > clock.now() for due in pending)
    finally:
        await session.close()
