"""The installed `peercircle` command, as a newcomer runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def peercircle(*args: str, cwd: Path, block_asyncpg: bool = False
               ) -> subprocess.CompletedProcess[str]:
    # The host's own PEERCIRCLE_* settings must not leak into what a test runs.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERCIRCLE_")}
    entry = ["-m", "adapters.cli"]
    if block_asyncpg:  # as on a host that installed peercircle without the postgres extra
        entry = ["-c", "import sys; sys.modules['asyncpg'] = None; "
                       "from adapters.cli import main; sys.exit(main())"]
    return subprocess.run([sys.executable, *entry, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def one_sentence(stderr: str) -> str:
    """What the user saw on stderr, checked to be a single line without a traceback."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_example_script_runs_and_is_deterministic(tmp_path: Path) -> None:
    script = ROOT / "examples" / "first-week.txt"
    outputs = []
    for run in range(2):
        done = peercircle("console", "--script", str(script), "--db",
                          str(tmp_path / f"run{run}.db"), "--clock", "2026-11-22T18:00:00Z",
                          "--show-time", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    lines = outputs[0].splitlines()
    assert lines[0].startswith("2026-11-22T18:00:00Z [reply @alice] Riverbend circle is set up")
    assert all(line[19] == "Z" and line[20:22] == " [" for line in lines)
    # Day-3 and day-7 follow-ups reach bob once each, across the :restart; carol opted out.
    assert sum("[dm @bob] Hi from Riverbend" in line for line in lines) == 1
    assert sum("[dm @bob] A week in Riverbend" in line for line in lines) == 1
    assert not any("[dm @carol] Hi from" in line or "[dm @carol] A week" in line
                   for line in lines)
    # The private and mentor-only check-ins never reach the room or another member.
    for line in lines:
        if "[reply @bob]" not in line:
            assert "slept for once" not in line and "not sure I belong" not in line


def test_script_errors_name_the_line(tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text("@alice> circle setup name:x timezone:UTC\nhello there\n:advance soon\n"
                      "@alice> think\n")
    done = peercircle("console", "--script", str(script), "--db", str(tmp_path / "x.db"),
                      "--clock", "2026-01-01T00:00:00Z", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        'error: line 2: expected "@name> command", "@name dm> command", ":advance 5m", '
        '":at 2026-11-23T09:00:00Z", ":restart" or "# comment"',
        'error: line 3: ":advance" needs a duration like 90s, 5m, 1h30m or 2d, not "soon"',
    ]
    assert "[reply @alice] Before you speak, THINK" in done.stdout  # it carried on


def test_migrate_in_any_directory(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database:\n  url: sqlite+aiosqlite:///{tmp_path / 'p.db'}\n")
    done = peercircle("migrate", "--config", str(cfg), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "database is at revision" in done.stdout
    assert done.stderr == ""  # Alembic's INFO chatter is DEBUG detail for us


def test_script_lines_that_cannot_run_are_reported_and_the_script_goes_on(
        tmp_path: Path) -> None:
    script = tmp_path / "odd.txt"
    script.write_bytes(b"@alice> circle setup name:x timezone:UTC\n:advance 99999999999d\n"
                       b"@alice> checkin 3 caf\xe9 \xff\n:advance 999999999d\n"
                       b"@alice> think\n")
    done = peercircle("console", "--script", str(script), "--db", str(tmp_path / "x.db"),
                      "--clock", "2026-01-01T00:00:00Z", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        'error: line 2: ":advance 99999999999d" is too far ahead: the clock stops at the end '
        'of the year 9999; try something like 2d or 365d',
        "error: line 3: this line is not UTF-8 text (byte 0xe9 at position 22); save the "
        "script as UTF-8",
        'error: line 4: ":advance 999999999d" is too far ahead: the clock stops at the end '
        'of the year 9999; try something like 2d or 365d',
    ]
    assert "[reply @alice] Before you speak, THINK" in done.stdout


PG_DOWN = "postgresql+asyncpg://postgres@127.0.0.1:1/test"  # nothing listens on port 1
BAD_CONFIGS = [
    ("check-config", "logging:\n  level: LOUD\n",
     'config: logging.level: "LOUD" is not a logging level; use DEBUG, INFO, WARNING, ERROR '
     'or CRITICAL'),
    ("migrate", "logging:\n  level: LOUD\n",
     'config: logging.level: "LOUD" is not a logging level; use DEBUG, INFO, WARNING, ERROR '
     'or CRITICAL'),
    ("check-config", "database:\n  url: mysql://bot:secret@db/circle\n",
     "config: database.url: mysql:// is not supported; use sqlite+aiosqlite:///peercircle.db "
     "or postgresql+asyncpg://user@host/dbname"),
    ("run", "database:\n  url: mysql://bot:secret@db/circle\nmatrix:\n  enabled: true\n"
            "  access_token: x\n",
     "config: database.url: mysql:// is not supported; use sqlite+aiosqlite:///peercircle.db "
     "or postgresql+asyncpg://user@host/dbname"),
    ("migrate", f"database:\n  url: {PG_DOWN}\n",
     "could not connect to PostgreSQL at 127.0.0.1:1 (connection refused); check that it is "
     "running there and that database.url is right"),
    ("run", f"database:\n  url: {PG_DOWN}\nmatrix:\n  enabled: true\n  access_token: x\n",
     "could not connect to PostgreSQL at 127.0.0.1:1 (connection refused); check that it is "
     "running there and that database.url is right"),
]


@pytest.mark.parametrize(("command", "config", "expected"), BAD_CONFIGS)
def test_bad_settings_are_one_sentence(tmp_path: Path, command: str, config: str,
                                       expected: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(config)
    done = peercircle(command, "--config", str(cfg), cwd=tmp_path)
    assert done.returncode == 2
    assert one_sentence(done.stderr) == expected
    assert "secret" not in done.stderr


def test_postgresql_without_its_driver_says_what_to_install(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("database:\n  url: postgresql+asyncpg://postgres@127.0.0.1/test\n")
    done = peercircle("migrate", "--config", str(cfg), cwd=tmp_path, block_asyncpg=True)
    assert done.returncode == 2
    assert one_sentence(done.stderr) == (
        'PostgreSQL needs the asyncpg driver, which is not installed; run '
        'pip install -e ".[postgres]" (or pip install asyncpg)')


def test_console_database_that_cannot_be_opened(tmp_path: Path) -> None:
    script = tmp_path / "s.txt"
    script.write_text("@alice> think\n")
    missing = tmp_path / "nowhere" / "c.db"
    done = peercircle("console", "--script", str(script), "--db", str(missing), cwd=tmp_path)
    assert done.returncode == 2
    assert one_sentence(done.stderr) == (
        f"cannot open the database {missing}: the folder {missing.parent} does not exist; "
        "create it or choose another path")
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list: oats, lentils, candles, more oats, a new kettle\n" * 20)
    done = peercircle("console", "--script", str(script), "--db", str(notes), cwd=tmp_path)
    assert done.returncode == 2
    assert one_sentence(done.stderr) == (
        f"{notes} is not a SQLite database; choose a new file name or a peercircle database")
    assert notes.read_text().startswith("shopping list")  # left as it was


def test_run_without_a_config_says_which_file_it_looked_for(tmp_path: Path) -> None:
    done = peercircle("run", cwd=tmp_path)
    assert done.returncode == 2
    assert one_sentence(done.stderr) == (
        f"No adapter is enabled and there is no config file at {tmp_path / 'config.yaml'}; "
        "copy config.example.yaml there (or pass --config FILE) and enable matrix or discord.")


def test_lifeline_night_example(tmp_path: Path) -> None:
    done = peercircle("console", "--script", str(ROOT / "examples" / "lifeline-night.txt"),
                      "--db", str(tmp_path / "night.db"), "--clock", "2026-11-27T02:30:00Z",
                      cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    note = "everything is too loud tonight"
    # The note reaches only the member who took the request.
    assert [line.split("]")[0] for line in lines if note in line] == ["[reply @dan"]
    assert "[edit dm @erin] Lifeline page #1: someone's on it, thank you." in lines
    assert any(line.startswith("[dm @rae] dan is coming.") for line in lines)
    assert sum(line.startswith("[dm @erin] Emergency lifeline page #1") for line in lines) == 1
