"""Half a year of weekly service in a circle of twelve, four roles, with skips, pauses, swaps,
a newcomer joining at term 5 and a member leaving at term 12, checked against the rule's
promises: everyone who can serve does, service stays within one term of even, no one holds a
role twice running or two roles at once, and passing a turn costs nothing later."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from adapters.console import ConsoleSession
from tests.conftest import run_lines
from tests.rotation_helpers import Seat, holding, jump, next_boundary, seats, swappable_pair

TERMS = 26
NEWCOMER_DAYS = 14
ROLES = ("steward", "timekeeper", "greeter", "care lead")


def credited(all_seats: list[Seat]) -> list[Seat]:
    """Seats served or being served by someone (passed seats earn nothing)."""
    return [x for x in all_seats if x.state in ("serving", "served")]


async def test_twelve_members_four_roles_twenty_six_weekly_terms(
        console: ConsoleSession) -> None:
    names = [f"m{i:02d}" for i in range(1, 13)]
    await run_lines(console, "\n".join([
        "@m01> circle setup name:Twelve timezone:Europe/Berlin",
        f"@m01> circle settings period:1w newcomer_days:{NEWCOMER_DAYS}",
        *(f"@{n}> join" for n in names[1:]),
        '@m01> roles remove "repair team"']))
    start = await next_boundary(console)
    # The first term waits until the founding members are past their newcomer days.
    assert start - console.clock.now() >= timedelta(days=NEWCOMER_DAYS)
    joined_at = {n: console.clock.now() for n in names}
    said: dict[int, list[str]] = {}
    skips: list[tuple[int, str]] = []  # (the term drawn next after a skip, who skipped)
    paused: dict[str, tuple[int, int]] = {}  # who -> first and last term fully away
    swaps = 0
    for term in range(1, TERMS + 1):
        said[term] = await jump(console, await next_boundary(console))
        now, nxt = await holding(console), await holding(console, "planned")
        assert set(now) == set(ROLES) and all(who for w in now.values() for who in w), term
        if term == 3:  # a holder passes the rest of this term
            who = now["greeter"][0]
            assert who is not None
            skips.append((term + 2, who))  # term + 1 was drawn when this term began
            out = await run_lines(console, f"@{who}> roles skip")
            assert out[0].startswith(f"[reply @{who}] You passed greeter for the rest of this")
            assert out[1].startswith("[room] greeter: ") and f"in place of {who}" in out[1]
        if term == 5:
            joined_at["m13"] = console.clock.now()
            await run_lines(console, "@m13> join")
        if term in (6, 14):  # a swap now, then one of next term's seats
            swaps += await _swap_some_pair(console, "serving" if term == 6 else "planned")
        if term == 8:  # someone drawn for next term passes it before it starts
            who = nxt["care lead"][0]
            assert who is not None
            skips.append((term + 2, who))  # drawn when the passed term begins
            out = await run_lines(console, f"@{who}> roles skip")
            assert out[0].startswith(f"[reply @{who}] You passed your turn as care lead")
        if term == 10:  # three weeks away: the seat held now is passed, and no turns meanwhile
            who = now["timekeeper"][0]
            assert who is not None
            out = await run_lines(console, f"@{who} dm> pause 3w")
            assert "You passed: timekeeper." in out[0]
            paused[who] = (term + 1, term + 2)
        if term == 12:
            assert (await run_lines(console, "@m12> leave"))[0].startswith("[reply @m12]")
        if term == 15:  # away with no date, back three terms later
            await run_lines(console, "@m07 dm> pause")
        if term == 18:
            await run_lines(console, "@m07 dm> unpause")
            paused["m07"] = (16, 18)  # term 19 was drawn while m07 was still away
        if term == 20:  # an offer no one answers lapses and changes nothing
            a, b = now["greeter"][0], now["care lead"][0]
            await run_lines(console, f"@{a}> roles swap @{b}")
            lapsed = await jump(console, console.clock.now() + timedelta(hours=24))
            assert f"[dm @{a}] {b} didn't answer within a day" in "\n".join(lapsed)
            assert await holding(console) == now
    assert swaps == 2

    history = await seats(console)
    served = credited(history)
    by_term: dict[int, list[Seat]] = defaultdict(list)
    for x in served:
        by_term[x.term].append(x)
    assert sorted(by_term) == list(range(1, TERMS + 1))
    # Every seat of every term was filled: twelve people are plenty for four seats.
    assert not [x for x in history if not x.filled]
    counts = Counter(x.who for x in served if x.who)
    present = [n for n in [*names, "m13"] if n != "m12"]
    # Everyone who could serve did, the newcomer and those who paused, skipped or swapped
    # included; and service is within one term of even among all of them.
    assert set(counts) == set(present)
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    # No one holds the same role two terms running, or two roles in one term.
    for term, term_seats in by_term.items():
        people = [x.who for x in term_seats if x.who]
        assert len(people) == len(set(people)), (term, people)
        for x in term_seats:
            after = {y.who for y in by_term.get(term + 1, []) if y.role == x.role}
            assert x.who is None or x.who not in after, (term, x)
    # Passing costs nothing: the skipper is drawn in the very next draw, ranked first for
    # having served less.
    for term, who in skips:
        assert who in {x.who for x in by_term[term]}, (term, who)
    # Away is away: no seat while paused for the whole term.
    for who, (first, last) in paused.items():
        for term in range(first, last + 1):
            assert who not in {x.who for x in by_term[term]}, (who, term)
    # The newcomer serves from the first term that starts after their newcomer days.
    newcomer = min(x.term for x in served if x.who == "m13")
    first_allowed = min(t for t, xs in by_term.items()
                        if xs[0].starts_at >= joined_at["m13"] + timedelta(days=NEWCOMER_DAYS))
    assert newcomer == first_allowed
    # The member who left holds nothing any more; their past seats are no longer linked.
    assert not [x for x in history if x.who == "m12"]
    # What the room saw: one announcement per term, never a count per person.
    for term in range(1, TERMS + 1):
        posts = [line for line in said[term] if line.startswith("[room] A new term")]
        assert len(posts) == 1, (term, said[term])
        assert "terms" not in posts[0].split("|")[0].replace("A new term", "")
    balance = await run_lines(console, "@m01> roles balance")
    assert balance[0].startswith("[reply @m01] Service in Twelve over the last 12 months is ")
    assert not any(n in balance[0] for n in present if n != "m01")


async def _swap_some_pair(console: ConsoleSession, state: str) -> int:
    """Two holders the rule lets swap offer and accept it; both then hold the other's role."""
    a, b = await swappable_pair(console, state)
    before = await holding(console, state)
    out = await run_lines(console, f"@{a}> roles swap @{b}\n@{b} dm> roles swap accept")
    assert out[0].startswith(f"[reply @{a}] Asked {b}:"), out
    assert any(line.startswith("[room]") and f"{a} and {b} swapped" in line for line in out)
    after = await holding(console, state)
    swapped = {role: [b if w == a else a if w == b else w for w in ws]
               for role, ws in before.items()}
    assert after == swapped
    return 1
