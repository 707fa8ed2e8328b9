"""A repair request's states and the one table of transitions between them.

  OPEN --confirm--> CONVENED --close--> CLOSED
  OPEN --close--> CLOSED (dropped before anything was sent)

Every change goes through `move`, which also appends the change to the request's history
(the one thing, with its date, that stays after the close)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class State(StrEnum):
    OPEN = "open"  # asked; the requester was told who would hear it; nothing sent yet
    CONVENED = "convened"  # the team and the requester share a private room
    CLOSED = "closed"  # the note is gone; date, history and an agreed summary stay


TRANSITIONS: dict[tuple[State, str], State] = {
    (State.OPEN, "confirm"): State.CONVENED,
    (State.OPEN, "close"): State.CLOSED,
    (State.CONVENED, "close"): State.CLOSED,
}
UNCLOSED = (State.OPEN, State.CONVENED)


class InvalidTransition(Exception):
    pass


def move(request: object, event: str, at: datetime) -> State:
    current = State(getattr(request, "state"))  # noqa: B009  (typed loosely on purpose)
    target = TRANSITIONS.get((current, event))
    if target is None:
        raise InvalidTransition(f"{event} from {current}")
    request.state = target.value  # type: ignore[attr-defined]
    history = list(getattr(request, "history") or [])  # noqa: B009
    history.append({"state": target.value, "at": at.isoformat()})
    request.history = history  # type: ignore[attr-defined]  (a new list: JSON change seen)
    return target
