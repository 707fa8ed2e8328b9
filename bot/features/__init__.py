"""The one place features are registered. Adding a feature: write its package, its
migration, and add it to this list."""

from __future__ import annotations

from bot.feature import Feature, Features


def all_features() -> list[Feature]:
    # Order matters twice: hooks run in this order (forget hooks in reverse, so a feature's
    # rows go before the memberships they point at), and `help` lists commands in it.
    from bot.features import (
        availability,
        checkins,
        circles,
        guidance,
        health,
        lifeline,
        meetings,
        mentorship,
        nudges,
        onboarding,
        privacy,
        repair,
        rotation,
        survey,
    )

    return [guidance.feature, circles.feature, checkins.feature, onboarding.feature,
            privacy.feature, availability.feature, lifeline.feature, mentorship.feature,
            rotation.feature, meetings.feature, nudges.feature, survey.feature,
            repair.feature, health.feature]


def build_features(extra: list[Feature] | None = None) -> Features:
    return Features([*all_features(), *(extra or [])])
