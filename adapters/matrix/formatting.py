"""Core text to Matrix message content: a plain body plus markdown rendered to HTML.

The core writes light markdown (**bold**, *italic*, `code`, "- " lists, line breaks); a small
renderer keeps the dependency list short and escapes everything else, so a member's words in a
reply can never inject HTML into other members' clients.
"""

from __future__ import annotations

import html
import re
from typing import Any

_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")


def _inline(text: str) -> str:
    # Code spans first, kept out of the other rules by placeholders.
    codes: list[str] = []

    def keep(m: re.Match[str]) -> str:
        codes.append(f"<code>{html.escape(m.group(1), quote=False)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    out = _CODE.sub(keep, text)
    out = html.escape(out, quote=False)
    out = _LINK.sub(lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _ITALIC.sub(r"<em>\1</em>", out)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], out)


def markdown_to_html(text: str) -> str:
    """Render the markdown subset the core uses; every other character is escaped."""
    parts: list[str] = []
    lines: list[str] = []  # plain lines of the current paragraph
    items: list[str] = []
    list_tag = ""

    def flush_lines() -> None:
        if lines:
            parts.append("<br>".join(_inline(line) for line in lines))
            lines.clear()

    def flush_items() -> None:
        nonlocal list_tag
        if items:
            parts.append(f"<{list_tag}>" + "".join(f"<li>{_inline(i)}</li>" for i in items)
                         + f"</{list_tag}>")
            items.clear()
        list_tag = ""

    for line in text.splitlines():
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        match, tag = (bullet, "ul") if bullet else (numbered, "ol")
        if match:
            flush_lines()
            if list_tag and list_tag != tag:
                flush_items()
            list_tag = tag
            items.append(match.group(1))
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
        "formatted_body": markdown_to_html(text),
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
