"""The circle's own settings: name, timezone and language live on the circle's row."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.section import SettingError, SettingsSection
from bot.texts import Texts
from bot.textsafety import visible_text


class CircleSettings(SettingsSection):
    section = "circles"
    columns = frozenset({"name", "timezone", "language"})

    name: str = Field("", max_length=80)
    timezone: str = Field("UTC", json_schema_extra={"kind": "timezone", "info": True})
    language: Literal["en", "es"] = Field("en", json_schema_extra={"info": True})

    def check(self, t: Texts) -> None:
        if not visible_text(self.name):
            raise SettingError(t("err.name_empty"))
