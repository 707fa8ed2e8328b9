"""The installed `peercircle` command, as a newcomer runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def peercircle(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adapters.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


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
