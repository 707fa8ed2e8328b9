"""Peer dyads: opted-in members in pairs (one trio when the count is odd), a pure function so
the rule can be read and tested on its own.

Cost of a grouping, lower is better: a pair that met within the avoid window costs a lot (more
the more recent); two members who share a working-group tag cost a little (dyads are meant to
cross silos); a pair that met long ago costs a touch more than one that never met. The search
is a seeded local search (swap two members while that lowers the cost, from several shuffled
starts), so the same round of the same circle always gives the same groups.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from itertools import combinations

Pair = frozenset[int]

REPEAT = 10_000  # a pair within the avoid window, per round of recency
SAME_GROUP = 10  # both in one working group
MET_BEFORE = 1  # per earlier meeting outside the window
STARTS = 24


def pair_cost(a: int, b: int, *, tags: Mapping[int, frozenset[str]],
              recent: Mapping[Pair, int], window: int, met: Mapping[Pair, int]) -> int:
    pair = frozenset((a, b))
    cost = 0
    age = recent.get(pair)  # 1: the last round
    if age is not None and age <= window:
        cost += REPEAT * (window + 1 - age)
    if tags.get(a, frozenset()) & tags.get(b, frozenset()):
        cost += SAME_GROUP
    return cost + MET_BEFORE * met.get(pair, 0)


def groups_of(order: Sequence[int]) -> list[tuple[int, ...]]:
    """Consecutive pairs; with an odd count the last three are a trio."""
    n = len(order)
    if n < 2:
        return []
    cut = n - 3 if n % 2 else n
    found = [tuple(order[i:i + 2]) for i in range(0, cut, 2)]
    if n % 2:
        found.append(tuple(order[cut:]))
    return found


def make_groups(members: Sequence[int], *, tags: Mapping[int, frozenset[str]] | None = None,
                recent: Mapping[Pair, int] | None = None, window: int = 4,
                met: Mapping[Pair, int] | None = None, seed: str = "") -> list[tuple[int, ...]]:
    """Everybody in a pair or a trio (nobody left out), at the lowest cost found."""
    people = sorted(set(members))
    if len(people) < 2:
        return []
    tags, recent, met = tags or {}, recent or {}, met or {}
    costs = {frozenset(p): pair_cost(*p, tags=tags, recent=recent, window=window, met=met)
             for p in combinations(people, 2)}

    def group_cost(group: tuple[int, ...]) -> int:
        return sum(costs[frozenset(p)] for p in combinations(group, 2))

    def total(order: list[int]) -> int:
        return sum(group_cost(g) for g in groups_of(order))

    rng = random.Random(hashlib.sha256(seed.encode()).hexdigest())
    n = len(people)
    cut = n - 3 if n % 2 else n
    group_at = [i // 2 if i < cut else cut // 2 for i in range(n)]  # position -> group
    spans: dict[int, list[int]] = {}
    for pos, g in enumerate(group_at):
        spans.setdefault(g, []).append(pos)

    def cost_of(order: list[int], g: int) -> int:
        return group_cost(tuple(order[p] for p in spans[g]))

    best: list[int] | None = None
    best_cost = 0
    for _ in range(STARTS):
        order = people[:]
        rng.shuffle(order)
        cost = total(order)
        improved = True
        while improved:
            improved = False
            for i, j in combinations(range(n), 2):
                gi, gj = group_at[i], group_at[j]
                if gi == gj:
                    continue
                before = cost_of(order, gi) + cost_of(order, gj)
                order[i], order[j] = order[j], order[i]
                delta = cost_of(order, gi) + cost_of(order, gj) - before
                if delta < 0:
                    cost, improved = cost + delta, True
                else:
                    order[i], order[j] = order[j], order[i]
        if best is None or cost < best_cost:
            best, best_cost = order[:], cost
        if best_cost == 0:
            break
    assert best is not None
    return [tuple(sorted(g)) for g in groups_of(best)]
