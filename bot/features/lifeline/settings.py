"""The lifeline section of a circle's settings; a request snapshots it when it opens."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.section import SettingError, SettingsSection
from bot.texts import Texts


class CrisisResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=500)
    source: str = ""  # where the host found it, so a circle can check it is still current

    def __str__(self) -> str:
        return self.text


def _default_resources() -> list[CrisisResource]:
    return [CrisisResource(
        text="If you are in immediate danger, call your local emergency number.")]


class LifelineSettings(SettingsSection):
    section = "lifeline"

    wave_size: int = Field(2, ge=1, le=10)  # members paged per wave
    wave_minutes: int = Field(4, ge=1, le=60)  # a wave times out after this
    give_up_minutes: int = Field(20, ge=2, le=240)  # then the fuller fallback message
    connect_minutes: int = Field(10, ge=1, le=120)  # a claim is asked "connected?" after this
    max_requests_per_day: int = Field(3, ge=1, le=20)  # per person
    pages_per_15_minutes: int = Field(2, ge=1, le=20)  # per responder
    pages_per_night: int = Field(4, ge=1, le=50)  # per responder, over 12 hours
    emergency_wave: bool = True  # a last wave to members who accept emergency pages
    crisis_resources: list[CrisisResource] = Field(default_factory=_default_resources,
                                                   min_length=1)

    @classmethod
    def parse_setting(cls, name: str, value: Any, t: Texts) -> Any:
        if name == "crisis_resources":
            entries = [e.strip() for e in str(value).split(";") if e.strip()]
            if not entries:
                raise SettingError(t("err.crisis_empty"))
            return [CrisisResource(text=e[:500]) for e in entries]
        return value

    def check(self, t: Texts) -> None:
        if self.give_up_minutes < self.wave_minutes:
            raise SettingError(t("err.give_up_before_wave", give_up=self.give_up_minutes,
                                 wave=self.wave_minutes))

    def policy(self) -> dict[str, Any]:
        """What a request keeps of these when it opens (later changes don't move it)."""
        return self.model_dump(exclude={"crisis_resources"})
