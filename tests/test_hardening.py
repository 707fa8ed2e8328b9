"""What a new user and an attacker found: each check here failed on the code before."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from adapters.console import ConsoleSession
from bot.features.lifeline.models import LifelineRequest
from bot.refs import Place, UserRef
from storage.models import OutboxMessage, Person, ProcessedEvent
from tests.conftest import run_lines

SETUP = """
@alice> circle setup name:Riverbend timezone:Europe/Berlin
@alice> circle settings crisis_resources:"Samaritans 116 123; Call 988 in the US"
@bob> join
@rae> join
@bob dm> available set daily any
"""


# -- 4: sent words do not stay in the outbox ------------------------------------------------
async def test_sent_bodies_and_stored_replies_are_forgotten(console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@rae> checkin 2 my secret relapse story\n"
                                     "@rae dm> call my lifeline note")
    core = console.core
    assert core is not None
    await core.handle_text("ack", UserRef("console", "bob", "bob"), Place.direct(), "ev-1")
    await console.drain()
    await run_lines(console, ":advance 2h")  # housekeeping runs hourly
    async with core.db.transaction() as s:
        texts = [t for t in (await s.execute(select(OutboxMessage.text))).scalars()
                 if "secret relapse" in t or "lifeline note" in t]
        replies = (await s.execute(select(ProcessedEvent))).scalars().all()
    assert texts == [] and replies == []


# -- 8: `call` never fails without the resources ----------------------------------------------
async def test_odd_input_to_call_is_cleaned_and_opens_a_request(console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    core = console.core
    assert core is not None
    long_name = "R" * 300
    answer = await core.handle_text("call nul\x00byte \u202egone", UserRef(
        "console", "rae", long_name), Place.direct())
    assert answer.text.startswith("I'm finding someone for you now"), answer.text
    async with core.db.transaction() as s:
        req = (await s.execute(select(LifelineRequest))).scalar_one()
        person = (await s.execute(select(Person).where(Person.platform_user_id == "rae"))
                  ).scalar_one()
    assert req.note == "nulbyte gone" and len(person.display_name) == 255


async def test_a_crashing_call_still_carries_the_circles_resources(
        console: ConsoleSession, monkeypatch: pytest.MonkeyPatch) -> None:
    await run_lines(console, SETUP)
    core = console.core
    assert core is not None

    async def broken(ctx: Any, args: dict[str, Any]) -> str:
        raise RuntimeError("the database went away")

    monkeypatch.setitem(core.features.handlers, "call open", broken)
    said = await run_lines(console, "@rae dm> call please")
    assert len(said) == 1 and said[0].startswith("[reply @rae] Something went wrong on my side "
                                                 "and I couldn't open your request")
    assert "Samaritans 116 123" in said[0] and said[0].count("emergency number") == 1


# -- 9: the fallback says it once ----------------------------------------------------------------
async def test_the_fallback_says_the_emergency_number_once(console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@bob dm> available off")
    said = await run_lines(console, "@rae dm> call")
    to_rae = [line for line in said if "@rae]" in line]
    # No one reachable at once: one answer, saying so first, with the resources once.
    assert len(to_rae) == 1 and to_rae[0].startswith("[reply @rae] I couldn't reach a peer")
    assert to_rae[0].count("emergency number") == 1
    assert "peercircle default" not in to_rae[0]


# -- 10: each side hears what happened -------------------------------------------------------------
async def test_resolve_says_what_happened_to_both(console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    said = await run_lines(console, "@rae dm> call\n@rae dm> call resolve followup:no")
    assert any(line.startswith("[reply @rae] Closed request #1; no one had taken it yet")
               for line in said), said
    await run_lines(console, ":advance 1h\n@rae dm> call again")
    said = await run_lines(console, "@bob dm> ack\n@bob dm> call resolve")
    assert any(line.startswith("[dm @rae] bob marked request #2 as resolved") for line in said)
    said = await run_lines(console, "@rae dm> call resolve followup:no")
    assert said == ["[reply @rae] Okay, no follow-up message tomorrow."]
    said = await run_lines(console, ":advance 2d")
    assert not any(line.startswith("[dm @rae]") for line in said)  # no follow-up came


async def test_connected_tells_the_other_side(console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@rae dm> call\n@bob dm> ack")
    said = await run_lines(console, "@rae dm> call connected")
    assert any(line.startswith("[dm @bob] Request #1: you're both marked as connected")
               for line in said)


# -- 11: a snoozed steward gets no notice ---------------------------------------------------------
async def test_a_snoozed_steward_gets_no_fallback_notice(console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@bob dm> available off\n"
                                     "@alice dm> available set daily any\n"
                                     "@alice dm> available snooze 8h")
    said = await run_lines(console, "@rae dm> call\n:advance 30m")
    assert any(line.startswith("[reply @rae] I couldn't reach a peer") for line in said)
    assert not any(line.startswith("[dm @alice]") for line in said)


# -- 18: texts -----------------------------------------------------------------------------------
async def test_a_hard_private_day_mentions_the_lifeline_once(console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    said = await run_lines(console, "@rae dm> checkin 1 private everything hurts")
    assert said[0].count("type call") == 1
    said = await run_lines(console, "@rae dm> checkin 4 private fine today")
    assert "type call" not in said[0]


async def test_a_circle_name_needs_something_visible(console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    said = await run_lines(console, '@alice> circle settings name:"\u200b"')
    assert said == ['[reply @alice] A name needs at least one visible letter; try '
                    'name:"Riverbend circle".']
    said = await run_lines(console, "@alice> circle info")
    assert said[0].startswith("[reply @alice] Riverbend |")


async def test_the_pact_is_introduced_once(console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    said = await run_lines(console, "@bob> pact")
    assert said[0].startswith("[reply @bob] The pact of Riverbend: | We speak for ourselves")
    assert said[0].count("pact of") == 1


async def test_seen_late_still_names_nothing_but_time(console: ConsoleSession) -> None:
    await run_lines(console, SETUP)
    core = console.core
    assert core is not None
    sent = console.clock.now() - timedelta(minutes=40)
    answer = await core.handle_text("call", UserRef("console", "rae", "rae"), Place.direct(),
                                    sent_at=sent)
    assert answer.text.startswith("I only just saw your call")
    assert "Samaritans 116 123" in answer.text


async def test_no_followup_means_no_promise_of_one(console: ConsoleSession) -> None:
    await run_lines(console, SETUP + "@rae dm> call\n@bob dm> ack")
    said = await run_lines(console, "@rae dm> call resolve followup:no")
    answer = next(line for line in said if line.startswith("[reply @rae]"))
    assert answer == "[reply @rae] Resolved. Thank you both; I won't write tomorrow."
