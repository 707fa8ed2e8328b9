"""Peer dyads: everybody in a pair or a trio every round, no pair again within the avoid
window, across working groups where possible, one DM each, rounds that survive restarts."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import combinations

from adapters.console import ConsoleSession
from bot.features.mentorship.grouping import make_groups
from tests.conftest import run_lines

SETUP = "@alice> circle setup name:Riverbend timezone:Europe/Madrid\n"
NINE = ["ana", "bea", "cruz", "dee", "eli", "fay", "gus", "hal", "ivy"]
DYAD = re.compile(r"^(\S+Z )?\[dm @(\w+)\] Your peer dyad in Riverbend for the next 14 days"
                  r"(?: is a trio this time)?: (.*?)\. (A dyad|Talk)")


async def jump(console: ConsoleSession, days: int, restart: bool = False) -> list[str]:
    """Move the clock straight on by `days` and fire what is due: as `:advance`, but without
    stepping through every hourly housekeeping on the way (not the subject here)."""
    if restart:
        await console.restart()
    console.clock.advance(timedelta(days=days))  # type: ignore[attr-defined]
    await console.settle()
    return console.take()


def groups_in(said: list[str]) -> dict[str, set[str]]:
    """Each member's partners, as their DM names them."""
    found: dict[str, set[str]] = {}
    for line in said:
        m = DYAD.match(line)
        if m:
            assert m.group(2) not in found, f"two dyad DMs for {m.group(2)}"
            found[m.group(2)] = set(m.group(3).split(", "))
    return found


async def test_eight_rounds_of_nine_members(console: ConsoleSession) -> None:
    console.show_time = True
    tags = {"ana": "outreach", "bea": "outreach", "cruz": "legal", "dee": "legal",
            "eli": "kitchen", "fay": "kitchen", "gus": "outreach", "hal": "legal",
            "ivy": "kitchen"}
    lines = [f"@{m}> join\n@{m}> dyads on {tags[m]}" for m in NINE]
    said = await run_lines(console, SETUP + "\n".join(lines))
    assert ("[reply @ana] You're in the peer dyads of Riverbend (tags: outreach): every 14 "
            "days you're paired with another member for a conversation. Next pairing: "
            "2026-11-23 10:00 circle time.") in " ".join(said)
    history: list[set[frozenset[str]]] = []
    said = await run_lines(console, ":at 2026-11-23T09:00:00Z")  # 10:00 in Madrid
    for number in range(8):
        if number:  # a restart before every other round: each happens once, none is skipped
            said = await jump(console, 14, restart=number % 2 == 1)
        partners = groups_in(said)
        assert sorted(partners) == sorted(NINE), number  # everybody, every round, once
        stamps = {line[:20] for line in said if DYAD.match(line)}
        assert len(stamps) == 1 and stamps.pop().endswith("T09:00:00Z"), number  # 10:00 there
        groups = {frozenset({m, *p}) for m, p in partners.items()}
        assert all(partners[o] == g - {o} for g in groups for o in g)  # they agree
        assert sorted(len(g) for g in groups) == [2, 2, 2, 3]  # three pairs and a trio
        history.append({frozenset(p) for g in groups for p in combinations(sorted(g), 2)})
    # No pair meets again within the avoid window (4 rounds): any five rounds in a row are
    # all different pairs.
    for start in range(len(history) - 4):
        window = history[start:start + 5]
        everything = [p for pairs in window for p in pairs]
        assert len(everything) == len(set(everything)), start


def test_dyads_cross_working_groups_when_they_can() -> None:
    tags = {1: frozenset({"outreach"}), 2: frozenset({"outreach"}), 3: frozenset({"legal"}),
            4: frozenset({"legal"}), 5: frozenset({"kitchen"}), 6: frozenset({"kitchen"})}
    for seed in ("a", "b", "c"):
        groups = make_groups(list(tags), tags=tags, seed=seed)
        assert all(not (tags[a] & tags[b]) for a, b in groups), groups
    # An odd count: one trio, nobody left out; fewer than two: nobody paired.
    assert sorted(len(g) for g in make_groups([1, 2, 3, 4, 5])) == [2, 3]
    assert make_groups([1]) == []


async def test_dyads_off_and_alone(console: ConsoleSession) -> None:
    said = await run_lines(console, SETUP + "@ana> join\n@bea> join\n@ana> dyads on\n"
                           "@bea> dyads on\n@bea> dyads off\n@bea> dyads")
    assert said[-2] == ("[reply @bea] You're out of the peer dyads of Riverbend. dyads on "
                        "brings you back.")
    assert said[-1].startswith("[reply @bea] You're not in the peer dyads of Riverbend")
    said = await run_lines(console, ":advance 2d")
    assert said == ["[dm @ana] No dyad this round in Riverbend: you're the only one who has "
                    "opted in so far. You'll be paired as soon as someone else joins."]
    # Leaving takes ana out; with nobody in, no more rounds are planned.
    await run_lines(console, "@ana> leave")
    said = await jump(console, 30)
    assert not any("dyad" in line for line in said)
