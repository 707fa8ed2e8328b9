"""The fair rule and the calendar of terms, as pure functions: a small case computed by hand,
term boundaries across both DST changes, reminders in the holder's waking hours, the balance
measure."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.features.rotation.selection import Candidate, Term, balance, rank
from bot.features.rotation.terms import (
    boundary_rule,
    first_boundary,
    parse_period,
    reminder_times,
    term_end,
    waking,
)

T = datetime(2027, 1, 4, 8, tzinfo=UTC)  # a Monday
WEEK = timedelta(days=7)
LONG_AGO = T - timedelta(days=400)


def test_a_small_case_by_hand() -> None:
    term = Term(circle_id=1, role_id=10, number=5, start=T, end=T + WEEK)
    people = [
        Candidate(1, LONG_AGO, service=2, last_held=T - 3 * WEEK),  # served most: last
        Candidate(2, LONG_AGO, service=1, adjacent=True),  # held it last term: out
        Candidate(3, LONG_AGO, service=1, last_held=T - 10 * WEEK),  # held it long ago
        Candidate(4, LONG_AGO, service=1),  # never held it: before 3
        Candidate(5, LONG_AGO, pauses=((T, T + timedelta(days=2)),)),  # away 2 of 7 days: out
        Candidate(6, T - timedelta(days=10)),  # a newcomer (10 of 30 days): out
        Candidate(7, LONG_AGO, service=1, busy=True),  # holds another role this term: out
        Candidate(8, LONG_AGO, pauses=((T + timedelta(days=6), None),)),  # away 1 day: fine
        Candidate(9, LONG_AGO, passed=True),  # passed this very term: out
    ]
    # By hand: 8 has served least (0); then 4, 3 (one term each; 4 never held this role,
    # 3 held it ten weeks ago); then 1 (two terms).
    assert [c.member_id for c in rank(people, term, newcomer_days=30)] == [8, 4, 3, 1]
    # With no one new the newcomer's 10 days are enough for newcomer_days=10.
    assert 6 in [c.member_id for c in rank(people, term, newcomer_days=10)]


def test_a_tie_is_broken_by_a_seed_of_circle_role_and_term() -> None:
    same = [Candidate(m, LONG_AGO, service=3) for m in (21, 22, 23)]
    for number in (1, 2, 3):
        term = Term(1, 10, number, T, T + WEEK)

        def seed(member: int, n: int = number) -> str:
            return hashlib.sha256(f"1:10:{n}:{member}".encode()).hexdigest()

        expected = sorted((21, 22, 23), key=seed)
        assert [c.member_id for c in rank(same, term, 0)] == expected
        assert [c.member_id for c in rank(list(reversed(same)), term, 0)] == expected  # replay


def test_balance_is_one_minus_gini() -> None:
    assert balance([2, 2, 2, 2]) == 1.0
    assert balance([4, 0, 0, 0]) == pytest.approx(0.25)  # 24 / (2 * 4 * 4) = 0.75 Gini
    assert balance([3, 1]) == pytest.approx(0.75)
    assert balance([]) is None and balance([0, 0]) is None


@pytest.mark.parametrize(("text", "weeks"), [
    ("1w", 1), ("4w", 4), ("2 weeks", 2), ("1week", 1), ("14d", 14 // 7), ("weekly", 1),
    ("fortnightly", 2), ("26w", 26), ("27w", None), ("0w", None), ("10d", None), ("3", None),
    ("3x", None), ("monthly", None), ("", None)])
def test_periods_are_whole_weeks(text: str, weeks: int | None) -> None:
    assert parse_period(text) == weeks


NY = "America/New_York"


@pytest.mark.parametrize("hour", [1, 2, 9])
def test_weekly_terms_keep_their_wall_clock_across_both_changes(hour: int) -> None:
    rule = boundary_rule("sun", hour, NY)
    start = datetime(2026, 10, 4, 12, tzinfo=UTC)
    starts = []
    for _ in range(60):  # through March 14 and November 7, 2027
        start = term_end(rule, start, 1)
        starts.append(start.astimezone(ZoneInfo(NY)))
    offsets = {s.utcoffset() for s in starts}
    assert offsets == {timedelta(hours=-4), timedelta(hours=-5)}
    assert all(s.weekday() == 6 for s in starts)
    if hour == 2:  # 02:00 does not exist on 14 March 2027: that term starts at the jump
        assert [s.hour for s in starts].count(3) == 1
        assert all(s.hour == 2 for s in starts if s.date() != datetime(2027, 3, 14).date())
    else:
        assert all((s.hour, s.minute) == (hour, 0) for s in starts)
    assert len(set(starts)) == len(starts)  # 01:00 on a fall-back night happens once


def test_a_four_week_term_is_four_weeks_of_wall_clock() -> None:
    rule = boundary_rule("mon", 9, NY)
    start = datetime(2027, 2, 22, 14, tzinfo=UTC)  # Mon 09:00 EST
    end = term_end(rule, start, 4)
    assert end.astimezone(ZoneInfo(NY)).replace(tzinfo=None) == datetime(2027, 3, 22, 9)
    assert end - start == timedelta(weeks=4) - timedelta(hours=1)  # the clocks went forward


def test_an_off_schedule_term_ends_on_the_regular_day() -> None:
    rule = boundary_rule("mon", 9, "Europe/Berlin")
    wednesday = datetime(2027, 1, 6, 15, tzinfo=UTC)
    assert term_end(rule, wednesday, 1) == datetime(2027, 1, 11, 8, tzinfo=UTC)


def test_a_new_circle_first_rotates_after_its_newcomer_days() -> None:
    rule = boundary_rule("mon", 9, "Europe/Berlin")
    created = datetime(2026, 11, 22, 18, tzinfo=UTC)  # a Sunday
    assert first_boundary(rule, created, 30, created) == datetime(2026, 12, 28, 8, tzinfo=UTC)
    assert first_boundary(rule, created, 0, created) == datetime(2026, 11, 23, 8, tzinfo=UTC)


def test_reminders_fall_in_the_holders_waking_hours() -> None:
    start = datetime(2027, 1, 11, 8, tzinfo=UTC)  # Mon 09:00 in Berlin, 03:00 in New York
    drawn = datetime(2027, 1, 4, 8, tzinfo=UTC)
    got = reminder_times(start, NY, drawn)
    # A week before is Monday 03:00 in New York: moved to 09:00 there; a day before likewise.
    assert got == [(7, datetime(2027, 1, 4, 14, tzinfo=UTC)),
                   (1, datetime(2027, 1, 10, 14, tzinfo=UTC))]
    for _, at in got:
        assert 9 <= at.astimezone(ZoneInfo(NY)).hour < 21
    # Drawn two days before (a skip): one reminder at once if awake, then the day before.
    late = datetime(2027, 1, 9, 16, tzinfo=UTC)  # 11:00 in New York
    assert reminder_times(start, NY, late) == [(7, late), (1, datetime(2027, 1, 10, 14,
                                                                        tzinfo=UTC))]
    # Drawn the evening before, when the day-before time has passed: one, the next morning
    # if that is still before the start, else none.
    evening = datetime(2027, 1, 11, 2, tzinfo=UTC)  # 21:00 in New York
    assert reminder_times(start, NY, evening) == []
    assert reminder_times(start, "Europe/Berlin", datetime(2027, 1, 10, 19, tzinfo=UTC)) == [
        (1, datetime(2027, 1, 10, 19, tzinfo=UTC))]


def test_waking_moves_night_to_morning() -> None:
    tz = "Europe/Berlin"
    night = datetime(2027, 1, 10, 23, tzinfo=UTC)  # 00:00 in Berlin
    assert waking(night, tz) == datetime(2027, 1, 11, 8, tzinfo=UTC)
    late = datetime(2027, 1, 10, 21, tzinfo=UTC)  # 22:00
    assert waking(late, tz) == datetime(2027, 1, 11, 8, tzinfo=UTC)
    noon = datetime(2027, 1, 10, 11, tzinfo=UTC)
    assert waking(noon, tz) == noon
