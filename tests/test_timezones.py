"""Timezone names: places only, and suggestions that are near in name and sensible."""

from __future__ import annotations

import pytest

from bot.timezones import looks_like_timezone, resolve_timezone, suggest_timezone


@pytest.mark.parametrize("name", ["UTC", "utc", "Etc/UTC", "Europe/Berlin", "europe/berlin",
                                  "America/New_York", "Japan", "GMT"])
def test_real_names_resolve(name: str) -> None:
    found, guess = resolve_timezone(name)
    assert found is not None and found.lower() == name.lower()
    assert guess is None


@pytest.mark.parametrize("name", ["localtime", "Factory", "factory", "posixrules",
                                  "Etc/Unknown", "posix/Europe/Berlin", "right/UTC"])
def test_names_that_are_no_place_are_refused(name: str) -> None:
    assert resolve_timezone(name) == (None, "Europe/Berlin")
    assert looks_like_timezone(name)


@pytest.mark.parametrize(("text", "guess"), [
    ("Berlin", "Europe/Berlin"), ("Europe/Berln", "Europe/Berlin"), ("Tokyo", "Asia/Tokyo"),
    ("New York", "America/New_York"), ("Rome", "Europe/Rome"),
    # Nothing near: no guess, rather than a wrong one (CEST is not Australia/West, and
    # Etc/GMT+2 is two hours behind Greenwich).
    ("CEST", None), ("GMT+2", None), ("UTC+1", None), ("Mars/Olympus", None),
])
def test_suggestions_are_near_or_none(text: str, guess: str | None) -> None:
    assert suggest_timezone(text) == guess


@pytest.mark.parametrize("word", ["any", "mon", "tue", "thu", "sat", "evenings", "tonight"])
def test_window_words_do_not_look_like_timezones(word: str) -> None:
    assert not looks_like_timezone(word)
