"""Neutral references and the invocation every adapter builds from a platform event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class UserRef:
    platform: str
    id: str  # opaque platform id
    display_name: str = ""

    @property
    def name(self) -> str:
        return self.display_name or self.id


@dataclass(frozen=True)
class RoomRef:
    platform: str
    id: str  # opaque platform id


@dataclass(frozen=True)
class Place:
    """Where an invocation happened: a circle room, or the member's direct conversation."""

    room: RoomRef | None = None
    actor_is_room_admin: bool = False  # platform admin of that room (Discord perms, Matrix PL)

    @property
    def is_direct(self) -> bool:
        return self.room is None

    @staticmethod
    def direct() -> Place:
        return Place(room=None)


@dataclass(frozen=True)
class Invocation:
    """A command as the core sees it: its path, raw argument strings, who and where."""

    command: str  # full path, e.g. "circle setup"
    actor: UserRef
    place: Place
    positional: tuple[str, ...] = ()
    named: dict[str, str] = field(default_factory=dict)
    event_id: str | None = None  # platform event id: idempotency, and replay detection
    sent_at: datetime | None = None  # when the member sent it (an adapter may see it late)
