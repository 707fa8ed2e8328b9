"""The text grammar: one parser for every text adapter, and its rejections."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features import build_features
from bot.parser import ParseError, bind, split_command, tokenize
from bot.texts import Texts

TABLE = build_features().table
T = Texts()


def parse(line: str) -> tuple[str, dict[str, object]]:
    parsed = split_command(TABLE, line, T)
    return parsed.command.path, bind(parsed.command, parsed.positional, parsed.named, T)


def test_tokenize_quotes_and_curly_quotes() -> None:
    assert [t.value for t in tokenize('a "b c" name:"Riverbend circle" “d e”')] == [
        "a", "b c", "name:Riverbend circle", "d e"]
    assert [t.value for t in tokenize('note:"can\'t sleep')] == ["note:can't sleep"]


def test_positional_named_and_rest() -> None:
    assert parse("checkin 3 tired but here") == ("checkin", {
        "mood": 3, "note": "tired but here", "visibility": "circle", "anonymous": False})
    # An optional mood the word doesn't fit is skipped: this is a note.
    assert parse("checkin tired but here")[1]["note"] == "tired but here"
    assert parse("checkin tired but here")[1]["mood"] is None
    # Named arguments anywhere on the line.
    _, args = parse('checkin visibility:private 2 note:"can\'t sleep" anonymous:yes')
    assert args == {"mood": 2, "note": "can't sleep", "visibility": "private",
                    "anonymous": True}
    # A one-word "note" that is a visibility means the visibility.
    assert parse("checkin 2 private")[1]["visibility"] == "private"
    assert parse("checkin 2 private")[1]["note"] is None
    # Choice words right after the mood set the choice whatever follows: never a note
    # posted to the room under the member's name.
    _, args = parse("checkin 2 private couldn't sleep, panic again")
    assert args["visibility"] == "private" and args["note"] == "couldn't sleep, panic again"
    _, args = parse("checkin 2 anonymous relapsed last night")
    assert args["anonymous"] is True and args["note"] == "relapsed last night"
    _, args = parse("checkin 2 mentor anonymous rough one")
    assert (args["visibility"], args["anonymous"], args["note"]) == ("mentor", True, "rough one")
    # `yes` alone is the start of a note, not a choice.
    assert parse("checkin 4 yes finally slept")[1]["note"] == "yes finally slept"
    assert parse("!checkin low")[1]["mood"] == 2
    assert parse("/checkin 4/5")[1]["mood"] == 4


def test_groups_default_and_subcommands() -> None:
    assert parse("circle")[0] == "circle info"
    # Words after a group that are not a subcommand are the default's arguments.
    assert parse("call need someone") == ("call open", {"note": "need someone", "room": False})
    assert parse("call can't sleep")[1]["note"] == "can't sleep"
    assert parse("call")[0] == "call open"
    # After a group with a default, only an exact subcommand word is a subcommand: a person
    # in crisis is never asked "did you mean call cancel?".
    for line in ("call cancer scare, need to talk", "call connect me with someone please",
                 "call opened up an old wound", "call cancelled plans again", "call cancle"):
        assert parse(line)[0] == "call open", line
    assert parse("call cancel")[0] == "call cancel"
    assert parse("pact")[0] == "pact show"
    assert parse('circle setup "Riverbend circle" europe/berlin')[1] == {
        "name": "Riverbend circle", "timezone": "Europe/Berlin"}
    assert parse("circle setup timezone:UTC name:x")[1] == {"name": "x", "timezone": "UTC"}


@pytest.mark.parametrize(("line", "expected"), [
    ("chekin 3", 'I don\'t know "chekin"; did you mean checkin? Type help for the list.'),
    ("checkin 7", "mood 7 is out of range; use a number from 1 to 5 (1 is awful, 5 is great)."),
    ("circle setup name:x timezone:Mars/Olympus",
     'timezone "Mars/Olympus" is not a known timezone; try Europe/Berlin.'),
    ("circle setup name:x timezone:Europe/Berln",
     'timezone "Europe/Berln" is not a known timezone; try Europe/Berlin.'),
    ("circle setup Riverbend",
     "timezone is missing; the form is: circle setup <name> <timezone>"),
    ("think deeply", 'I didn\'t expect "deeply"; the form is: think'),
    ("step 13", "step 13 is out of range; use a number from 1 to 12."),
    ("checkins month", 'period "month" is not one of the choices; use one of: today, week.'),
    ("checkin visibility:everyone",
     'visibility "everyone" is not one of the choices; use one of: circle, mentor, private.'),
    ("checkin " + "x" * 1001, "note is 1001 characters; the limit is 1000."),
    ("pact burn", '"burn" is not part of pact; use one of: show, accept, edit.'),
    ("checkin 3.5 meh", "mood 3.5 should be a whole number from 1 to 5 (1 is awful, 5 is great), "
                        "as in checkin 3 tired."),
    ("", "That was an empty command; type help to see what I can do."),
])
def test_rejections_are_one_clear_sentence(line: str, expected: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(line)
    assert str(info.value) == expected


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_parser(line: str) -> None:
    try:
        parse(line)
    except ParseError as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 400
        assert message[-1] in ".?" or "the form is:" in message or "try " in message


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["checkin", "circle", "setup", "pact", "3", "7", "-1",
                                 "visibility:", "private", "anonymous:maybe", '"', "“",
                                 "name:", "timezone:Europe/Berlin", "step", "99999999999",
                                 "@bob", "help", "x" * 50, ":", "mood:", "0"]),
                max_size=8))
def test_command_shaped_noise_never_crashes(words: list[str]) -> None:
    try:
        parse(" ".join(words))
    except ParseError as exc:
        assert "\n" not in str(exc)
