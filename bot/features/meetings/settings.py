"""The meetings section of a circle's settings: when reminders go out before a meeting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field, field_validator

from bot.durations import parse_duration
from bot.section import SettingError, SettingsSection
from bot.texts import Texts

MAX_REMINDERS = 4
LONGEST = timedelta(days=7)


def parse_offsets(text: str) -> list[timedelta] | None:
    """`24h,1h` (or `24h 1h`): how long before a meeting each reminder goes; None when it
    does not read. `none` or `-` means no reminders."""
    words = text.replace(",", " ").split()
    if [w.lower() for w in words] in (["none"], ["-"]):
        return []
    found: list[timedelta] = []
    for word in words:
        offset = parse_duration(word)
        if offset is None or not timedelta(minutes=1) <= offset <= LONGEST:
            return None
        found.append(offset)
    if not found or len(found) > MAX_REMINDERS:
        return None
    return sorted(set(found), reverse=True)


def show_offsets(offsets: list[timedelta]) -> str:
    parts = []
    for o in offsets:
        minutes = int(o.total_seconds() // 60)
        parts.append(f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m")
    return ",".join(parts) or "none"


class MeetingSettings(SettingsSection):
    section = "meetings"

    remind_before: str = Field("24h,1h", max_length=40)  # reminders this long before a meeting

    @field_validator("remind_before")
    @classmethod
    def _offsets(cls, value: str) -> str:
        offsets = parse_offsets(value)
        if offsets is None:
            raise ValueError("write durations like 24h,1h (up to 4, each 1m to 7d) or none")
        return show_offsets(offsets)

    @classmethod
    def parse_setting(cls, name: str, value: Any, t: Texts) -> Any:
        if name == "remind_before":
            offsets = parse_offsets(str(value))
            if offsets is None:
                raise SettingError(t("err.meeting_remind_before", value=str(value)[:40]))
            return show_offsets(offsets)
        return value

    @property
    def offsets(self) -> list[timedelta]:
        return parse_offsets(self.remind_before) or []
