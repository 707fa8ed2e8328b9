"""Translation pieces of the Matrix adapter that need no homeserver."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.matrix.events import command_line, is_own_join, strip_reply_fallback
from adapters.matrix.formatting import edit_content, message_content, text_to_html
from adapters.matrix.media import png_size
from adapters.matrix.reactions import action_key
from adapters.matrix.usage import usage_text
from bot.app import open_core
from bot.clock import SystemClock
from bot.config import Settings
from bot.features.lifeline.requests import page_actions
from bot.refs import UserRef
from storage.models import OutboxMessage
from tests.matrix_fixtures import html_view


def text(body: str, **extra: object) -> dict[str, object]:
    return {"msgtype": "m.text", "body": body, **extra}


@pytest.mark.parametrize(("body", "direct", "line"), [
    ("!checkin 3 tired", False, "checkin 3 tired"),
    ("/join", False, "join"),
    ("  !help checkin ", False, "help checkin"),
    ("hello everyone", False, None),
    ("! not a command", False, None),
    ("!!!", False, None),
    ("checkin 2 rough night", True, "checkin 2 rough night"),
    ("!checkin 2", True, "checkin 2"),
    ("   ", True, None),
])
def test_command_line(body: str, direct: bool, line: str | None) -> None:
    assert command_line(text(body), prefix="!", direct=direct) == line


def test_not_commands() -> None:
    assert command_line({"msgtype": "m.notice", "body": "!join"}, prefix="!", direct=True) is None
    edit = text("!checkin 3", **{"m.relates_to": {"rel_type": "m.replace", "event_id": "$e"}})
    assert command_line(edit, prefix="!", direct=False) is None
    assert command_line(text("?join"), prefix="?", direct=False) == "join"


def test_reply_fallback_is_not_part_of_the_command() -> None:
    body = "> <@bot:x> Welcome\n> more\n\n!pact accept"
    assert strip_reply_fallback(body) == "!pact accept"
    reply = text(body, **{"m.relates_to": {"m.in_reply_to": {"event_id": "$e"}}})
    assert command_line(reply, prefix="!", direct=False) == "pact accept"


def test_own_join_only() -> None:
    join = {"type": "m.room.member", "state_key": "@bot:x", "content": {"membership": "join"}}
    assert is_own_join(join, "@bot:x")
    assert not is_own_join(join, "@other:x")
    rename = {**join, "unsigned": {"prev_content": {"membership": "join"}}}
    assert not is_own_join(rename, "@bot:x")


BOT_TAGS = {"br", "ul", "li"}  # the only structure taken from text: lines and "- " lists

# Member text as the core interpolates it into the bot's sentences (check-in notes, display
# names, circle names, crisis lines): each must reach other members' clients as typed.
HOSTILE = [
    "[Samaritans 116 123](https://evil.example/x)",
    '<a href="https://evil.example/x">Samaritans 116 123</a>',
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "![Samaritans](https://evil.example/pixel.png)",
    "<https://evil.example/x>",
    "&lt;b&gt;bold&lt;/b&gt; &amp; &#x3C;i&#x3E; &quot;",
    "**urgent** and *soft* and _under_ and `code` and ~~gone~~",
    "<!-- hidden --> <b>bold</b>",
    "\x000\x00 and \x001\x00",  # a formatter's own placeholders must not be special
]


@pytest.mark.parametrize("member_text", HOSTILE)
def test_member_text_is_shown_as_typed(member_text: str) -> None:
    text = f"bob checked in: 2/5 — {member_text}"
    view = html_view(text_to_html(text))
    assert view.text == text
    assert view.tags <= BOT_TAGS and not view.attrs


def test_backticks_in_a_name_cannot_leave_an_attribute() -> None:
    # A display name with a code span where a link's URL is: the old renderer put the span's
    # quotes, unescaped, into the href.
    name = 'Sam`"onmouseover="alert(1)`'
    text = f"Please reach [{name}](https://evil.example/{name}) now"
    formatted = text_to_html(text)
    view = html_view(formatted)
    assert view.text == text
    assert view.tags <= BOT_TAGS and not view.attrs, formatted
    assert '"' not in formatted  # escaped even outside attributes


def test_lines_and_lists_are_kept_and_nothing_else() -> None:
    # The bot's own structure (a check-in list, the crisis lines) with member text inside it,
    # also spread over lines: list items and line breaks, shown as the body reads.
    text = ("Check-ins today:\n- 09:00 bob — [see](\n- https://evil.example) <b>\n"
            "Steps:\n1. We name our limits.\n12. We carry this forward.")
    formatted = text_to_html(text)
    assert formatted.count("<li>") == 2 and formatted.count("<ul>") == 1
    view = html_view(formatted)
    assert view.text == text
    assert view.tags == BOT_TAGS and not view.attrs


def test_usage_list_renders_as_a_list() -> None:
    from bot.features import build_features

    table = build_features().table
    usage = usage_text(table, "!")
    view = html_view(text_to_html(usage))
    assert view.text == usage
    assert view.tags == BOT_TAGS and not view.attrs


def test_reply_content_has_no_quoted_fallback() -> None:
    c = message_content("Checked in.", reply_to="$cmd")
    assert c["msgtype"] == "m.notice" and c["body"] == "Checked in."
    assert c["m.relates_to"] == {"m.in_reply_to": {"event_id": "$cmd"}}
    assert "mx-reply" not in c["formatted_body"]
    e = edit_content("$page", "covered")
    assert e["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$page"}
    assert e["m.new_content"]["body"] == "covered"


def test_usage_text_comes_from_the_table() -> None:
    from bot.features import build_features

    table = build_features().table
    usage = usage_text(table, "!")
    for cmd in table.visible():
        assert f"- !{cmd.usage()} — " in usage


def test_png_size() -> None:
    header = (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big")
              + (480).to_bytes(4, "big"))
    assert png_size(header) == (640, 480)
    assert png_size(b"not a png") is None


async def test_reaction_maps_to_the_action_of_that_members_message(tmp_path: Path) -> None:
    settings = Settings(database={"url": f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"})
    core = await open_core(settings, SystemClock())
    now = datetime.now(UTC)
    actions = [a.to_json() for a in page_actions(7)]
    try:
        async with core.db.transaction() as s:
            s.add(OutboxMessage(key="p", platform="matrix", kind="dm", user_id="@a:x",
                                text="page", meta={}, actions=actions,
                                priority=0, created_at=now, next_attempt_at=now, attempts=0,
                                sent_at=now, platform_message_id="$page"))
            s.add(OutboxMessage(key="q", platform="matrix", kind="post", room_id="!r:x",
                                text="post", meta={}, actions=actions, priority=5,
                                created_at=now, next_attempt_at=now, attempts=0, sent_at=now,
                                platform_message_id="$post"))

        async def line(event: str, who: str, key: str) -> str | None:
            inv = await core.action_invocation("matrix", event, action_key(key),
                                               UserRef("matrix", who))
            return None if inv is None else " ".join([inv.command, *inv.positional])

        assert await line("$page", "@a:x", "✅") == "ack 7"
        assert await line("$page", "@a:x", "✅\ufe0f") == "ack 7"
        assert await line("$page", "@a:x", "✔") == "ack 7"
        assert await line("$page", "@a:x", "❌") == "decline 7"
        assert await line("$page", "@b:x", "✅") is None  # not their message
        assert await line("$page", "@a:x", "🎉") is None
        assert await line("$post", "@a:x", "✅") is None  # a room post is nobody's to answer
    finally:
        await core.db.dispose()
