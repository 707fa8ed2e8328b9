"""A request's states and the one table of transitions between them. Every state change
goes through `move`, so an impossible change is a bug caught at once, not a stuck request.

  PAGING --claim--> CLAIMED --connect--> CONNECTED --resolve--> RESOLVED
  PAGING --give_up / no one reachable--> FALLBACK (a late claim still connects)
  CLAIMED --lapse--> PAGING (no confirmation)
  any active --cancel--> CANCELLED, --resolve/expire--> RESOLVED
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    PAGING = "PAGING"
    CLAIMED = "CLAIMED"
    CONNECTED = "CONNECTED"
    FALLBACK = "FALLBACK"
    RESOLVED = "RESOLVED"
    CANCELLED = "CANCELLED"


ACTIVE = (State.PAGING, State.CLAIMED, State.CONNECTED, State.FALLBACK)
CLAIMABLE = (State.PAGING, State.FALLBACK)
TAKEN = (State.CLAIMED, State.CONNECTED)

TRANSITIONS: dict[tuple[State, str], State] = {
    **{(s, "claim"): State.CLAIMED for s in CLAIMABLE},
    (State.CLAIMED, "connect"): State.CONNECTED,
    (State.CLAIMED, "lapse"): State.PAGING,
    (State.PAGING, "give_up"): State.FALLBACK,
    **{(s, "cancel"): State.CANCELLED for s in ACTIVE},
    **{(s, "resolve"): State.RESOLVED for s in ACTIVE},
    **{(s, "expire"): State.RESOLVED for s in ACTIVE},
}


class InvalidTransition(Exception):
    pass


def sources(event: str) -> tuple[State, ...]:
    """The states an event may leave from (for compare-and-set updates)."""
    return tuple(s for (s, e) in TRANSITIONS if e == event)


def move(request: object, event: str) -> State:
    """Change a request's state by an event of the table; returns the new state."""
    current = State(getattr(request, "state"))  # noqa: B009  (typed loosely on purpose)
    target = TRANSITIONS.get((current, event))
    if target is None:
        raise InvalidTransition(f"{event} from {current}")
    request.state = target.value  # type: ignore[attr-defined]
    return target
