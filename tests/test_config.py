"""Configuration: the file, environment overrides for secrets, and check-config."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.cli import main
from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_is_valid() -> None:
    settings = load_settings(ROOT / "config.example.yaml", must_exist=True)
    assert settings.database.url.startswith("sqlite+aiosqlite")
    assert settings.circle_defaults["lifeline"]["wave_size"] == 2
    assert all(r["source"] for r in settings.circle_defaults["lifeline"]["crisis_resources"])


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("matrix:\n  enabled: true\n  access_token: from-file\n")
    monkeypatch.setenv("PEERCIRCLE_MATRIX__ACCESS_TOKEN", "from-env")
    monkeypatch.setenv("PEERCIRCLE_DISCORD__TOKEN", "discord-secret")
    settings = load_settings(cfg)
    assert settings.matrix.enabled is True
    assert settings.matrix.access_token == "from-env"
    assert settings.discord.token == "discord-secret"


def test_every_wrong_setting_is_named_with_its_path(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("matrix:\n  enabeld: true\ncircle_defaults:\n  lifeline:\n"
                   "    wave_size: 0\ntimezone: Mars/Olympus\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    problems = "\n".join(info.value.problems)
    assert "matrix.enabeld: not a known setting" in problems
    assert "circle_defaults.lifeline.wave_size:" in problems
    assert "timezone:" in problems and "Mars/Olympus" in problems


def test_a_section_setting_is_checked_by_its_feature(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("circle_defaults:\n  lifeline:\n    wave_sise: 3\n  nonsense:\n    a: 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    problems = "\n".join(info.value.problems)
    assert "circle_defaults.lifeline.wave_sise: not a known setting" in problems
    assert "circle_defaults.nonsense: not a known section" in problems


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("matrix:\n  enabled: true\n  homeserver: matrix.example.org\n")
    assert main(["check-config", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "matrix.access_token: empty" in err and "matrix.homeserver: should start" in err
    cfg.write_text("database:\n  url: sqlite+aiosqlite:///x.db\n")
    assert main(["check-config", "--config", str(cfg)]) == 0
    assert "config OK" in capsys.readouterr().out


def test_example_config_documents_every_circle_setting() -> None:
    """A host reads config.example.yaml to learn what a circle starts with: every feature's
    settings section, and each setting in it, is there (but a circle's own name and timezone,
    given at `circle setup`)."""
    from bot.features import all_features

    defaults = load_settings(ROOT / "config.example.yaml", must_exist=True).circle_defaults
    missing = [f"{f.settings.section}.{name}" for f in all_features() if f.settings is not None
               for name in f.settings.model_fields
               if name not in f.settings.columns
               and name not in defaults.get(f.settings.section, {})]
    assert missing == []
