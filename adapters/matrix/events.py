"""Which Matrix events are commands, and the command line in them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# A leading run of "> " lines then a blank line: the quoted fallback some clients put in a reply.
_FALLBACK_PREFIX = "> "


def strip_reply_fallback(body: str) -> str:
    lines = body.split("\n")
    if not lines or not lines[0].startswith(_FALLBACK_PREFIX):
        return body
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i < len(lines) and not lines[i].strip():
        i += 1
    return "\n".join(lines[i:])


def command_line(content: dict[str, Any], *, prefix: str, direct: bool) -> str | None:
    """The command in a message, or None when it is not one.

    In a room only `<prefix>word ...` (or `/word ...`, which some clients send as text) is a
    command; in the bot's direct room every text message is, with or without the prefix.
    """
    if content.get("msgtype") != "m.text":
        return None  # notices are other bots; emotes and media are not commands
    relates = content.get("m.relates_to") or {}
    if relates.get("rel_type") == "m.replace":
        return None  # an edited command is not run a second time
    body = content.get("body")
    if not isinstance(body, str):
        return None
    if "m.in_reply_to" in relates:
        body = strip_reply_fallback(body)
    text = body.strip()
    for mark in dict.fromkeys((prefix, "/")):
        if mark and text.startswith(mark):
            rest = text[len(mark):]
            if rest[:1].isalpha():
                return rest
            return None if not direct else (rest.strip() or None)
    if direct:
        return text or None
    return None


def sent_at(source: dict[str, Any]) -> datetime | None:
    ts = source.get("origin_server_ts")
    if not isinstance(ts, int | float):
        return None
    return datetime.fromtimestamp(ts / 1000, UTC)


def is_own_join(event_source: dict[str, Any], user_id: str) -> bool:
    """The bot's own join (not a profile change while already joined)."""
    if event_source.get("type") != "m.room.member" or event_source.get("state_key") != user_id:
        return False
    if (event_source.get("content") or {}).get("membership") != "join":
        return False
    prev = ((event_source.get("unsigned") or {}).get("prev_content") or {}).get("membership")
    return prev != "join"
