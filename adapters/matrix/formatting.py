"""Core text to Matrix message content: a plain body plus the same text as HTML.

The core's strings have members' words (display names, check-in notes, circle names, the crisis
lines a steward typed) already interpolated into the bot's sentences, so no part of a string can
be trusted to be the bot's own. The HTML therefore shows exactly the characters of the body,
all escaped; the only structure taken from the text is what the bot's texts use and what reads
the same in the plain body: line breaks, and "- " lines as list items. No inline markdown
(links, images, emphasis, code), numbered lists or HTML is ever rendered from text, and no
element carries an attribute. Anything richer (links, mention pills, code) must be built from
structured data, never by parsing a string.
"""

from __future__ import annotations

import html
import re
from typing import Any

_BULLET = re.compile(r"^\s*-\s+(.*)$")


def _escape(text: str) -> str:
    # quote=True although nothing is ever put in an attribute: if that changes, an escaped quote
    # still cannot end one.
    return html.escape(text, quote=True)


def text_to_html(text: str) -> str:
    """Lines joined by <br>, runs of "- " lines as a <ul>, every character escaped."""
    parts: list[str] = []
    lines: list[str] = []  # plain lines of the current paragraph
    items: list[str] = []

    def flush_lines() -> None:
        if lines:
            parts.append("<br>".join(_escape(line) for line in lines))
            lines.clear()

    def flush_items() -> None:
        if items:
            parts.append("<ul>" + "".join(f"<li>{_escape(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        bullet = _BULLET.match(line)
        if bullet:
            flush_lines()
            items.append(bullet.group(1))
        elif not line.strip():
            flush_lines()
            flush_items()
        else:
            flush_items()
            lines.append(line)
    flush_lines()
    flush_items()
    return "<br>".join(parts)


def message_content(text: str, *, msgtype: str = "m.notice",
                    reply_to: str | None = None) -> dict[str, Any]:
    """One message: plain body plus HTML. A reply names the command in m.in_reply_to and carries
    no quoted fallback, because a quote would repeat what the member typed."""
    content: dict[str, Any] = {
        "msgtype": msgtype,
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": text_to_html(text),
    }
    if reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def edit_content(original_event_id: str, text: str, *, msgtype: str = "m.notice") -> dict[str, Any]:
    """An m.replace edit; the outer body is the fallback older clients show."""
    new = message_content(text, msgtype=msgtype)
    content = dict(new)
    content["body"] = "* " + text
    content["formatted_body"] = "* " + new["formatted_body"]
    content["m.new_content"] = new
    content["m.relates_to"] = {"rel_type": "m.replace", "event_id": original_event_id}
    return content
