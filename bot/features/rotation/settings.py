"""The rotation section of a circle's settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from bot.features.rotation.terms import MAX_WEEKS, parse_period
from bot.section import SettingError, SettingsSection
from bot.texts import Texts

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class RotationSettings(SettingsSection):
    section = "rotation"

    period: str = Field("4w", max_length=20)  # a term's length in whole weeks (a role may differ)
    newcomer_days: int = Field(30, ge=0, le=365)  # members serve after this many days
    rotation_day: Day = "mon"  # terms start on this day...
    rotation_hour: int = Field(9, ge=0, le=23)  # ...at this hour, in the circle's timezone

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        weeks = parse_period(value)
        if weeks is None:
            raise ValueError(f"write whole weeks like 1w, 2w or 4w (1w to {MAX_WEEKS}w)")
        return f"{weeks}w"

    @classmethod
    def parse_setting(cls, name: str, value: Any, t: Texts) -> Any:
        if name == "period":
            weeks = parse_period(str(value))
            if weeks is None:
                raise SettingError(t("err.rotation_period", value=str(value)[:20],
                                     most=MAX_WEEKS))
            return f"{weeks}w"
        return value

    @property
    def weeks(self) -> int:
        return parse_period(self.period) or 4
