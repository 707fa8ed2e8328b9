"""Service roles end to end through the console: the first rotation ends the founder's
stewardship, terms keep their wall-clock time across DST and rotate once across a restart,
swaps, skips, pauses, leaving and forgetting, the balance, and bad input."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from adapters.console import ConsoleSession
from bot.clock import parse_instant
from bot.context import Ctx
from bot.features.rotation import is_paused
from bot.features.rotation.models import RotationSeat
from bot.outbox import OutboxWriter
from bot.texts import Texts
from storage.models import Member, Person, Timer
from tests.conftest import run_lines
from tests.rotation_helpers import (
    NAMES,
    SIX_WEEKLY,
    holding,
    jump,
    next_boundary,
    seats,
    swappable_pair,
)
from tests.test_bad_input import snapshot

# Six members, four weekly roles (no repair team), no newcomer wait: the first holders are
# drawn at once and serve from Monday 09:00 in Berlin (the clock starts on a Sunday).
SETUP = SIX_WEEKLY + "@alice> roles remove repair team\n"


async def first_term(console: ConsoleSession) -> list[str]:
    await run_lines(console, SETUP)
    return await jump(console, await next_boundary(console))


async def test_the_first_holders_are_drawn_ahead_and_announced(
        console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    said = await run_lines(console, "@bob> roles")
    assert said[0].startswith("[reply @bob] Service roles in Riverbend (times in Europe/Berlin):"
                              " | - steward (terms of 1 week): first term from Mon 23 Nov 09:00")
    assert "alice (who set the circle up) is its steward" in said[0]
    drawn = await run_lines(console, ":advance 1m")  # the draw a week ahead is due at once
    post = next(line for line in drawn if line.startswith("[room]"))
    assert post.startswith("[room] Service roles in Riverbend: the first holders, chosen by the "
                           "fair rule, start on Mon 23 Nov 09:00: | - steward: ")
    assert "Facilitates this term" in post  # each role's handbook line
    planned = await holding(console, "planned")
    assert sorted(w for ws in planned.values() for w in ws if w) == sorted(
        set(w for ws in planned.values() for w in ws if w))  # four different people
    assert not [line for line in drawn if line.startswith("[dm")]  # 05:01 in Berlin: asleep
    # The reminder waits for the holders' morning (09:00, the day before their term).
    assert not [x for x in await run_lines(console, ":at 2026-11-22T07:59:00Z")
                if x.startswith("[dm")]
    woken = await run_lines(console, ":advance 1m")
    for role, (who,) in planned.items():
        assert any(line.startswith(f"[dm @{who}] Coming up: from Mon 23 Nov 09:00 "
                                   f"(Europe/Berlin) you serve as {role} in Riverbend")
                   for line in woken)
    said = await jump(console, parse_instant("2026-11-23T08:00:00Z"))
    post = next(line for line in said if line.startswith("[room]"))
    assert post.startswith("[room] A new term of service begins in Riverbend: | - steward: "
                           f"{planned['steward'][0]}, until Mon 30 Nov 09:00 (next: ")
    assert await holding(console) == planned  # the holders drawn ahead took their seats
    for role, (who,) in planned.items():
        assert any(line.startswith(f"[dm @{who}] You serve as {role} in Riverbend from now "
                                   "until Mon 30 Nov 09:00") for line in said)
    info = await run_lines(console, "@erin> circle info")
    assert f"Steward: {planned['steward'][0]}" in info[0]
    assert "Serving: steward: " in info[0] and "Next rotation: Mon 30 Nov 09:00" in info[0]


async def test_after_the_first_rotation_the_founder_is_steward_only_holding_the_role(
        console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    said = await run_lines(console, "@alice> circle settings step_of_week:2")
    assert said[0].startswith("[reply @alice] Changed: step_of_week.")  # founder, for now
    for _ in range(2):  # within two terms someone other than the founder holds the role
        await jump(console, await next_boundary(console))
        steward = (await holding(console))["steward"][0]
        if steward != "alice":
            break
    assert steward is not None and steward != "alice"
    said = await run_lines(console, "@alice> circle settings step_of_week:3")
    assert said == ["[reply @alice] Only a steward can use circle settings; ask your circle's "
                    "steward."]
    said = await run_lines(console, f"@{steward}> circle settings step_of_week:3")
    assert said[0].startswith(f"[reply @{steward}] Changed: step_of_week.")
    said = await run_lines(console, f"@{steward}> roles define scribe 2w 1 keeps the notes")
    assert said[0] == (f"[reply @{steward}] scribe is a service role now; its first term starts "
                       f"{_local(await next_boundary(console))}.")
    assert said[1].startswith("[room] New service role: scribe (terms of 2 weeks), from ")


def _local(instant: object) -> str:
    return instant.astimezone(ZoneInfo("Europe/Berlin")).strftime(  # type: ignore[attr-defined]
        "%a %d %b %H:%M")


async def test_a_weekly_term_keeps_its_local_time_across_both_dst_changes_and_a_restart(
        console: ConsoleSession) -> None:
    ny = ZoneInfo("America/New_York")
    await run_lines(console, """
        @ann> circle setup name:Hudson timezone:America/New_York
        @ann> circle settings newcomer_days:0 period:1w rotation_day:sun rotation_hour:1
        @ben> join
        @cat> join
        @dov> join
        @ann> roles
    """.replace("        ", ""))
    starts = []
    restarted = 0
    while console.clock.now() < parse_instant("2027-11-15T00:00:00Z"):
        boundary = await next_boundary(console)
        local = boundary.astimezone(ny)
        if local.date().isoformat() in ("2027-03-14", "2027-11-07"):
            # The Sundays the clocks change: stop a minute before, restart as a crash would,
            # and go on: the term turns once.
            assert not [x for x in await jump(console, boundary - timedelta(minutes=1))
                        if x.startswith("[room] A new term")]
            await run_lines(console, ":restart")
            restarted += 1
            said = await run_lines(console, ":advance 2m")
        else:
            said = await jump(console, boundary)
        posts = [x for x in said if x.startswith("[room] A new term")]
        assert len(posts) == 1, said
        starts.append(local)
    assert restarted == 2
    assert len(starts) >= 51
    assert all((s.weekday(), s.hour, s.minute) == (6, 1, 0) for s in starts)
    assert {s.utcoffset() for s in starts} == {timedelta(hours=-4), timedelta(hours=-5)}
    # Each boundary turned once: as many terms as boundaries, and one seat per role per term.
    history = await seats(console)
    terms = {x.term for x in history if x.state in ("serving", "served")}
    assert terms == set(range(1, len(starts) + 1))
    per_term = {}
    for x in history:
        if x.state in ("serving", "served"):
            per_term.setdefault((x.role, x.term), []).append(x)
    assert all(len(v) == (3 if role == "repair team" else 1) for (role, _), v in
               per_term.items())
    assert all(x.starts_at.astimezone(ny).hour == 1 for x in history
               if x.state in ("serving", "served"))


async def test_a_restart_right_before_a_rotation_rotates_once(console: ConsoleSession) -> None:
    await first_term(console)
    boundary = await next_boundary(console)
    before = await holding(console, "planned")
    await jump(console, boundary - timedelta(seconds=30))
    await run_lines(console, ":restart")
    said = await run_lines(console, ":advance 1m\n:restart\n:advance 1h")
    assert len([x for x in said if x.startswith("[room] A new term")]) == 1
    assert await holding(console) == before
    assert console.core is not None
    async with console.core.db.transaction() as s:
        ticks = (await s.execute(select(func.count()).select_from(Timer).where(
            Timer.kind == "rotation.tick", Timer.fired_at.is_(None)))).scalar_one()
    assert ticks == 1  # one next boundary, not one per restart


async def test_two_processes_at_one_boundary_rotate_once(console: ConsoleSession) -> None:
    from adapters.console import ConsoleSession as Session

    await first_term(console)
    other = Session(console.settings, console.clock, db_factory=console.db_factory)
    await other.start()
    try:
        console.clock.set(await next_boundary(console))  # type: ignore[attr-defined]
        assert other.core is not None and console.core is not None
        import asyncio

        fired = await asyncio.gather(console.core.fire_due(), other.core.fire_due())
        assert sum(fired) >= 1
        await console.drain()
        said = console.take()
        assert len([x for x in said if x.startswith("[room] A new term")]) == 1
    finally:
        await other.close()


async def test_swap_asks_the_other_who_accepts_and_stewardship_follows(
        console: ConsoleSession) -> None:
    await first_term(console)
    now = await holding(console)
    steward, keeper = now["steward"][0], now["timekeeper"][0]
    said = await run_lines(console, f"@{steward}> roles swap @{keeper}")
    assert said[0] == (f"[reply @{steward}] Asked {keeper}: you would take timekeeper and they "
                       "would take your steward, if they accept within 24 hours.")
    offer = said[1]
    assert offer.startswith(f"[dm @{keeper}] {steward} in Riverbend asks to swap roles: you "
                            f"would take steward and {steward} would take your timekeeper.")
    assert offer.endswith("[actions: roles swap accept 1 | roles swap decline 1]")
    # The action, as pressed from the DM.
    assert console.core is not None
    said = await run_lines(console, f"@{keeper} dm> roles swap accept 1")
    assert said[0] == (f"[reply @{keeper}] Swapped: steward is yours now, and {steward} takes "
                       "yours.")
    assert f"[room] {steward} and {keeper} swapped roles for the rest of this term" in said[1]
    assert said[2] == f"[dm @{steward}] {keeper} accepted the swap: timekeeper is yours now."
    assert (await holding(console))["steward"] == [keeper]
    said = await run_lines(console, f"@{keeper}> circle settings step_of_week:4\n"
                                    f"@{steward}> circle settings step_of_week:5")
    assert said[0].startswith(f"[reply @{keeper}] Changed: step_of_week.")
    assert said[-1] == (f"[reply @{steward}] Only a steward can use circle settings; ask your "
                        "circle's steward.")


async def test_an_unanswered_swap_lapses_and_a_declined_one_changes_nothing(
        console: ConsoleSession) -> None:
    await first_term(console)
    now = await holding(console)
    a, b = await swappable_pair(console)
    said = await run_lines(console, f"@{a}> roles swap @{b}")
    assert said[0].startswith(f"[reply @{a}] Asked {b}:")
    said = await run_lines(console, ":advance 23h59m")
    assert not any("didn't answer" in x for x in said)
    said = await run_lines(console, ":advance 1m")
    assert f"[dm @{a}] {b} didn't answer within a day, so your swap offer lapsed; you serve " \
           "as before." in said
    said = await run_lines(console, f"@{b}> roles swap accept")
    assert said == [f"[reply @{b}] There's no swap offer waiting for you."]
    await run_lines(console, f"@{a}> roles swap @{b}")
    said = await run_lines(console, f"@{b} dm> roles swap decline")
    assert said == [f"[reply @{b}] No swap; {a} has been told.",
                    f"[dm @{a}] {b} can't swap this time; you serve as before."]
    assert await holding(console) == now


async def test_a_skip_costs_nothing_the_skipper_comes_up_first_next_draw(
        console: ConsoleSession) -> None:
    await first_term(console)
    now, planned = await holding(console), await holding(console, "planned")
    greeter = now["greeter"][0]
    assert greeter is not None
    said = await run_lines(console, f"@{greeter}> roles skip")
    assert said[0] == (f"[reply @{greeter}] You passed greeter for the rest of this term. It "
                       "costs nothing: you simply come up sooner next time.")
    new = (await holding(console))["greeter"][0]
    assert new not in (None, greeter)
    assert said[1] == f"[room] greeter: {new} serves the rest of this term, in place of {greeter}."
    assert said[2].startswith(f"[dm @{new}] You serve as greeter in Riverbend from now until")
    history = await seats(console)
    assert [x.state for x in history if x.who == greeter and x.term == 1] == ["passed"]
    # Term 2 was drawn when term 1 began; the next draw (when term 2 begins) puts the one
    # who passed first, having served least.
    if greeter not in {w for ws in planned.values() for w in ws}:
        await jump(console, await next_boundary(console))
        nxt = await holding(console, "planned")
        assert greeter in {w for ws in nxt.values() for w in ws}


async def test_pause_frees_seats_quiets_the_lifeline_and_unpause_ends_it(
        console: ConsoleSession) -> None:
    await first_term(console)
    now = await holding(console)
    keeper = now["timekeeper"][0]
    assert keeper is not None
    await run_lines(console, f"@{keeper} dm> available set daily any")
    said = await run_lines(console, f"@{keeper} dm> pause 2026-12-20")
    assert said[0].startswith(f"[reply @{keeper}] You're paused in Riverbend until Sun 20 Dec "
                              "00:00 (Europe/Berlin): no service roles, no lifeline pages, no "
                              "nudges. unpause ends it sooner. | You passed: timekeeper")
    assert said[0].endswith("It costs nothing later.")
    # No seat now, and none drawn for next term either: the pause covers it.
    assert keeper not in {w for phase in ("serving", "planned")
                          for ws in (await holding(console, phase)).values() for w in ws}
    assert console.core is not None
    async with console.core.db.transaction() as s:
        member = (await s.execute(select(Member.id).join(Person).where(
            Person.platform_user_id == keeper))).scalar_one()
        assert await is_paused(s, member, console.clock.now())
    # No page reaches someone on pause; once back, they can be paged again.
    caller = next(n for n in NAMES if n != keeper)
    said = await run_lines(console, f"@{caller} dm> call")
    assert not any(x.startswith(f"[dm @{keeper}] Lifeline page") for x in said)
    await run_lines(console, f"@{caller} dm> call cancel")
    said = await run_lines(console, f"@{keeper} dm> unpause")
    assert said == [f"[reply @{keeper}] Welcome back: your pause in Riverbend has ended."]
    said = await run_lines(console, f"@{caller} dm> call")
    assert any(x.startswith(f"[dm @{keeper}] Lifeline page") for x in said)
    said = await run_lines(console, f"@{keeper} dm> unpause")
    assert said == [f"[reply @{keeper}] You're not paused in Riverbend."]


async def test_a_short_pause_keeps_the_seat(console: ConsoleSession) -> None:
    await first_term(console)
    keeper = (await holding(console))["timekeeper"][0]
    said = await run_lines(console, f"@{keeper} dm> pause 1d")  # under a quarter of the week
    assert "You passed" not in said[0]
    assert (await holding(console))["timekeeper"] == [keeper]


async def test_a_holder_who_leaves_frees_the_seat_at_once(console: ConsoleSession) -> None:
    await first_term(console)
    care = (await holding(console))["care lead"][0]
    said = await run_lines(console, f"@{care}> leave")
    new = (await holding(console))["care lead"][0]
    assert new not in (None, care)
    assert f"[room] care lead: {new} serves the rest of this term, in place of {care}." in said
    assert not [x for x in await seats(console) if x.who == care]


async def test_forget_unlinks_the_history_and_the_counts_stay(console: ConsoleSession) -> None:
    await first_term(console)
    await jump(console, await next_boundary(console))
    greeter = (await holding(console))["greeter"][0]
    before = await run_lines(console, "@alice> roles balance")
    assert console.core is not None
    core = console.core
    async with core.db.transaction() as s:
        person = (await s.execute(select(Person).where(
            Person.platform_user_id == greeter))).scalar_one()
        ctx = Ctx(core=core, session=s, now=console.clock.now(),
                  out=OutboxWriter(s, console.clock.now(), "test"), texts=Texts())
        exported = await core.export_person(ctx, person)
        assert [x["role"] for x in exported["rotation"]["service"]
                if x["state"] == "serving"] == ["greeter"]
        await core.forget_person(ctx, person)
    await console.drain()
    said = console.take()
    new = (await holding(console))["greeter"][0]
    assert said[0] == f"[room] greeter: {new} serves the rest of this term."  # no name
    assert said[1].startswith(f"[dm @{new}] You serve as greeter")
    async with core.db.transaction() as s:
        unlinked = (await s.execute(select(func.count()).select_from(RotationSeat).where(
            RotationSeat.member_id.is_(None), RotationSeat.filled.is_(True)))).scalar_one()
    assert unlinked >= 1
    after = await run_lines(console, "@alice> roles balance")
    total = [p for p in before[0].split(" | ") if "given in all" in p]
    assert total and total[0] in after[0]  # the circle's count of service given stays


async def test_balance_shows_the_spread_to_the_room_and_history_to_the_member(
        console: ConsoleSession) -> None:
    await first_term(console)
    await jump(console, await next_boundary(console))
    said = await run_lines(console, "@bob> roles balance")
    assert said[0].startswith("[reply @bob] Service in Riverbend over the last 12 months is ")
    assert "% even across the 6 members who can serve now" in said[0]
    assert "1 − Gini" in said[0] and "Your own service is in your direct messages." in said[0]
    for name in NAMES:  # no one is named, so no one is ranked
        assert f" {name}" not in said[0].replace("@bob]", "")
    assert said[1].startswith("[dm @bob] Your service in Riverbend, last 12 months: ")
    said = await run_lines(console, "@bob dm> roles balance")
    assert len(said) == 1 and "Your service in Riverbend" in said[0]


async def test_reminders_reach_holders_in_their_waking_hours(console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "\n".join(
        f"@{n} dm> available set daily any Asia/Tokyo" for n in NAMES))
    await run_lines(console, ":advance 1m")
    assert console.core is not None
    async with console.core.db.transaction() as s:
        due = (await s.execute(select(Timer.due_at).where(
            Timer.kind == "rotation.remind"))).scalars().all()
    assert due
    for instant in due:
        assert 9 <= instant.astimezone(ZoneInfo("Asia/Tokyo")).hour < 21, instant


async def test_a_spanish_circle_names_its_roles_in_spanish(console: ConsoleSession) -> None:
    await first_term(console)
    await run_lines(console, "@alice> circle settings language:es")  # founder until filled
    steward = (await holding(console))["steward"][0]
    await run_lines(console, f"@{steward}> circle settings language:es")
    said = await run_lines(console, "@bob> roles bienvenida")
    assert said[0].startswith("[reply @bob] bienvenida (periodos de 1 semana): Acoge a quienes")
    greeter = (await holding(console))["greeter"][0]
    said = await run_lines(console, f"@{greeter}> roles skip bienvenida")
    assert said[0].startswith(f"[reply @{greeter}] Pasaste bienvenida el resto de este periodo.")


async def test_bad_input_is_one_sentence_and_changes_nothing(console: ConsoleSession) -> None:
    await first_term(console)
    now = await holding(console)
    steward, keeper = now["steward"][0], now["timekeeper"][0]
    holders = {w for ws in now.values() for w in ws}
    idle = next(n for n in NAMES if n not in holders)
    roles = "steward, timekeeper, greeter, care lead"
    cases = [
        (f"@{steward}> roles define greeter",
         "There's already a role called greeter; pick another name, or remove that one first "
         "with roles remove."),
        (f'@{steward}> roles define "Care-Lead"',
         "There's already a role called care lead; pick another name, or remove that one "
         "first with roles remove."),
        (f"@{steward}> roles define scribe 2w 0", "seats 0 is out of range; use a number from "
                                                  "1 to 5."),
        (f"@{steward}> roles define scribe 2w 6", "seats 6 is out of range; use a number from "
                                                  "1 to 5."),
        (f"@{steward}> roles define scribe fortnight",
         'period "fortnight" is not a length in weeks; write it like 1w, 2w or 4w (up to 26w) '
         'right after the name, like roles define scribe 2w 1 "takes the notes".'),
        (f"@{steward}> circle settings period:3x",
         'period "3x" is not a length in weeks; write it like 1w, 2w or 4w (up to 26w).'),
        (f"@{steward}> roles remove steward",
         "The steward role can't be removed: each term someone holds the circle's settings, "
         "and the role rotates like every other."),
        (f"@{steward}> roles remove scribe",
         f'There\'s no role "scribe" in this circle; its roles are: {roles}.'),
        (f"@{steward}> roles rotate scribe",
         f'There\'s no role "scribe" in this circle; its roles are: {roles}.'),
        (f"@{idle}> roles define scribe", "Only a steward can use roles define; ask your "
                                          "circle's steward."),
        (f"@{keeper}> roles swap @zed", "@zed is not a member of Riverbend; you can swap only "
                                        "with someone in the circle."),
        (f"@{keeper}> roles swap @{keeper}",
         "You can't swap with yourself; name another member, like roles swap @member."),
        (f"@{keeper}> roles swap @{idle}",
         f"{idle} holds no role this term, so there is nothing to swap with; roles skip passes "
         "your turn instead."),
        (f"@{keeper}> roles swap accept", "There's no swap offer waiting for you."),
        (f"@{idle} dm> pause 2020-01-01",
         '"2020-01-01" is in the past; pause until a later date like 2026-12-07, for a while '
         "like 2w, or with nothing until you unpause."),
        (f"@{idle} dm> pause someday",
         '"someday" is not a date or a while; pause until a date like 2026-12-07, for a while '
         "like 2w or 10d, or with nothing until you unpause."),
        (f"@{idle} dm> pause 400d",
         "A pause can last up to a year; with no date it lasts until you unpause."),
    ]
    for line, expected in cases:
        before = await snapshot(console)
        said = await run_lines(console, line)
        name = line.split(">")[0].split()[0].lstrip("@")
        assert said == [f"[reply @{name}] {expected}"], line
        assert await snapshot(console) == before, line


async def test_after_downtime_the_circle_turns_once_into_the_current_term(
        console: ConsoleSession) -> None:
    await first_term(console)
    boundary = await next_boundary(console)
    # Down for three boundaries: at start the overdue boundary turns once, into the term that
    # holds now (no replay of the missed ones), and the next one is in the future.
    await run_lines(console, ":restart")
    said = await jump(console, boundary + timedelta(weeks=2, days=1))
    assert len([x for x in said if x.startswith("[room] A new term")]) == 1
    current = [x for x in await seats(console) if x.state == "serving"]
    assert {x.term for x in current} == {2}
    assert {x.starts_at for x in current} == {boundary + timedelta(weeks=2)}
    assert await next_boundary(console) == boundary + timedelta(weeks=3)


async def test_a_role_defined_rotated_and_removed_keeps_its_history(
        console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    said = await run_lines(console, '@alice> roles define scribe 2w 1 "keeps the notes"')
    assert said[0] == ("[reply @alice] scribe is a service role now; its first term starts "
                       "Mon 23 Nov 09:00.")
    said = await run_lines(console, "@alice> roles rotate scribe")
    assert said[0] == "[reply @alice] A new term started now for 1 role; the room has the holders."
    assert said[1].startswith("[room] A new term of service begins in Riverbend: | - scribe: ")
    # Started on a Sunday: it runs to the second regular boundary, not fourteen days.
    assert "until Mon 30 Nov 09:00" in said[1]
    scribe = (await holding(console))["scribe"][0]
    said = await run_lines(console, "@bob> roles scribe")
    assert said[0] == (f"[reply @bob] scribe (terms of 2 weeks): keeps the notes | Now: {scribe}, "
                       "until Mon 30 Nov 09:00 | Next, from Mon 30 Nov 09:00: "
                       f"{(await holding(console, 'planned'))['scribe'][0]}")
    said = await run_lines(console, "@alice> roles remove scribe")
    assert said == ["[reply @alice] Removed scribe.",
                    "[room] The role scribe was removed; the service given in it stays in the "
                    "circle's history."]
    history = [x for x in await seats(console) if x.role == "scribe"]
    assert [(x.who, x.state) for x in history] == [(scribe, "served")]
