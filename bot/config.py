"""Typed settings: config.yaml, then PEERCIRCLE_<SECTION>__<KEY> environment overrides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from bot.timezones import resolve_timezone


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class DatabaseSettings(Section):
    url: str = "sqlite+aiosqlite:///peercircle.db"
    # SQLite only: FULL waits for the disk at every commit (a committed `call` survives a
    # power cut); NORMAL is faster and can lose the last commits on power loss.
    sqlite_synchronous: Literal["full", "normal"] = "full"

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(DATABASE_SCHEMES):
            # Name only the scheme: the rest of a URL may hold a password.
            what = (f"{v.split('://', 1)[0]}:// is not supported" if "://" in v
                    else "it is not a database URL")
            raise ValueError(f"{what}; use sqlite+aiosqlite:///peercircle.db or "
                             "postgresql+asyncpg://user@host/dbname")
        return v


class MatrixSettings(Section):
    enabled: bool = False
    homeserver: str = "https://matrix.example.org"
    user_id: str = "@peercircle:example.org"
    device_id: str = "PEERCIRCLE01"
    access_token: str = ""
    store_path: str = "./matrix-store"
    pickle_key: str = ""
    command_prefix: str = "!"
    allowed_inviters: list[str] = Field(default_factory=list)


class DiscordSettings(Section):
    enabled: bool = False
    token: str = ""
    dev_guild_id: int | None = None


class LoggingSettings(Section):
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _level(cls, v: str) -> str:
        level = v.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f'"{v[:20]}" is not a logging level; use '
                             f'{", ".join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]}')
        return level


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PEERCIRCLE_", env_nested_delimiter="__", extra="forbid",
        case_sensitive=False,
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    matrix: MatrixSettings = Field(default_factory=MatrixSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    # What a new circle starts with, one section per feature (`circle_defaults.lifeline`);
    # each section is validated by its feature's settings model (bot/features).
    circle_defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    timezone: str = "UTC"  # the host's default for new members without one

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        tz, guess = resolve_timezone(v)
        if tz is None:
            raise ValueError(f'"{v}" is not a known timezone; try {guess}')
        return tz

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _CONFIG_FILE.get("path")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)


_CONFIG_FILE: dict[str, Path | None] = {"path": None}


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def config_path(given: str | None) -> Path:
    return Path(given or os.environ.get("PEERCIRCLE_CONFIG") or "config.yaml")


def load_settings(path: str | Path | None = None, *, must_exist: bool = False,
                  **overrides: Any) -> Settings:
    """Load the file (if present) with environment overrides; every problem named by path."""
    file = Path(path) if path is not None else None
    if file is not None and not file.exists():
        if must_exist:
            raise ConfigError([f"{file}: no such file"])
        file = None
    _CONFIG_FILE["path"] = file
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = [_describe(e) for e in exc.errors()]
        raw = _raw_circle_defaults(file)
        if raw is not None:
            problems += _section_problems(raw)
        raise ConfigError(problems) from None
    except Exception as exc:  # malformed YAML
        raise ConfigError([f"{file}: {exc}"]) from None
    finally:
        _CONFIG_FILE["path"] = None
    problems = _section_problems(settings.circle_defaults)
    if problems:
        raise ConfigError(problems)
    return settings


def _section_problems(circle_defaults: Any) -> list[str]:
    """circle_defaults holds one section per feature; each feature's model checks its own."""
    from bot.features import build_features  # features import this module: only at use

    if not isinstance(circle_defaults, dict):
        return ["circle_defaults: should be a mapping of sections"]
    try:
        build_features().host_defaults(circle_defaults)
    except ConfigError as exc:
        return exc.problems
    return []


def _raw_circle_defaults(file: Path | None) -> Any:
    if file is None:
        return None
    import yaml

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except Exception:
        return None
    return data.get("circle_defaults") if isinstance(data, dict) else None


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()))
    if error.get("type") == "extra_forbidden":
        return f"{where}: not a known setting"
    if error.get("type") == "value_error":  # our own sentence, without pydantic's prefix
        return f"{where}: {error['ctx']['error']}"
    return f"{where}: {error.get('msg')}"
