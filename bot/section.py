"""A feature's settings section: one pydantic model. The host's defaults for it live under
`circle_defaults.<section>` in the config; each circle's stewards override single values with
`circle settings name:value`. The `circle settings` arguments (kinds, ranges, limits, help
keys), their validation, the `circle settings` display and the `circle info` lines are all
generated from the model, so a setting that exists can always be set.

Field conventions (through `json_schema_extra`): `{"kind": "timezone"}` for an IANA name,
`{"info": True}` for a line in `circle info`; ranges come from `ge`/`le`, text limits from
`max_length`; help text is the catalogue key `setting.<name>`.
"""

from __future__ import annotations

import types
import typing
from typing import Any, ClassVar, Literal

import annotated_types
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.commands import Arg, Kind
from bot.texts import Texts


class SettingError(Exception):
    """A value that passed its own range but not the section's rules; one sentence."""


class SettingsSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    section: ClassVar[str] = ""  # the name under circle_defaults
    columns: ClassVar[frozenset[str]] = frozenset()  # stored on the Circle row itself

    # -- for `circle settings` ----------------------------------------------------------
    @classmethod
    def args(cls) -> list[Arg]:
        return [_arg(name, info) for name, info in cls.model_fields.items()]

    @classmethod
    def parse_setting(cls, name: str, value: Any, t: Texts) -> Any:
        """Turn a bound argument into the field's value (override for text forms); raise
        SettingError with one sentence when it cannot be."""
        return value

    def show(self, name: str) -> str:
        value = getattr(self, name)
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, list):
            return "; ".join(str(v) for v in value) or "-"
        if value is None or value == "":
            return "-"
        return str(value)

    def check(self, t: Texts) -> None:
        """Rules across fields; raise SettingError with one sentence."""

    @classmethod
    def stored(cls, name: str, value: Any) -> Any:
        """A field's value as kept in the circle's JSON overrides."""
        return value.model_dump() if isinstance(value, BaseModel) else (
            [v.model_dump() if isinstance(v, BaseModel) else v for v in value]
            if isinstance(value, list) else value)

    @classmethod
    def info_fields(cls) -> list[str]:
        return [n for n, f in cls.model_fields.items()
                if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("info")]


def merged(section: type[SettingsSection], host: SettingsSection, overrides: dict[str, Any],
           columns: dict[str, Any]) -> SettingsSection:
    """The host's defaults, overlaid by the circle's own choices. A stored override that no
    longer validates (the host narrowed a range) is ignored rather than failing every
    command in that circle."""
    own: dict[str, Any] = {}
    for name in section.model_fields:
        if name in section.columns and name in columns:
            own[name] = columns[name]
        elif name in overrides:
            own[name] = overrides[name]
    if not own:  # nothing of the circle's own: the host's, without validating it again
        return host
    try:
        return section.model_validate(host.model_dump() | own)
    except ValidationError:
        return host


def _arg(name: str, info: Any) -> Arg:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    minimum = maximum = max_len = None
    for m in info.metadata:
        if isinstance(m, annotated_types.Ge):
            minimum = int(m.ge)  # type: ignore[call-overload]
        elif isinstance(m, annotated_types.Le):
            maximum = int(m.le)  # type: ignore[call-overload]
        elif isinstance(m, annotated_types.MaxLen):
            max_len = m.max_length
    annotation = _unwrap(info.annotation)
    kind = Kind.TEXT
    choices: tuple[str, ...] = ()
    if extra.get("kind") == "timezone":
        kind = Kind.TIMEZONE
    elif annotation is bool:
        kind = Kind.BOOL
    elif annotation is int:
        kind = Kind.INT
    elif typing.get_origin(annotation) is Literal:
        kind, choices = Kind.CHOICE, tuple(str(c) for c in typing.get_args(annotation))
    if kind is Kind.TEXT and max_len is None:
        max_len = int(extra.get("max_len", 4000))
    return Arg(name, kind, choices=choices, minimum=minimum, maximum=maximum, max_len=max_len,
               named_only=True, help=f"setting.{name}")


def _unwrap(annotation: Any) -> Any:
    """`int | None` is an int setting that may be empty."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation
