"""The benchmarks keep working (their figures are read by people, not asserted here: timed
assertions flake on a busy machine). Each runs at its smallest size and must exit 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.synapse_server import is_available

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)


def test_lifeline_bench_runs() -> None:
    done = run("bench/lifeline.py", "--circles", "12", "--requests", "10", "--concurrent", "6",
               "--backlog", "60")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "call -> first page committed" in done.stdout
    assert "baseline: raw sqlite3 INSERT+COMMIT" in done.stdout


@pytest.mark.skipif(not is_available(), reason="Synapse is not importable here")
def test_matrix_roundtrip_bench_runs() -> None:
    done = run("bench/matrix_roundtrip.py", "--rounds", "3")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ratio" in done.stdout.lower()


def test_health_bench_runs() -> None:
    done = run("bench/health.py", "--members", "12", "--weeks", "6", "--runs", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "health 6 for 12 members: median" in done.stdout


@pytest.mark.skipif(not is_available(), reason="Synapse is not importable here")
def test_takeover_bench_runs() -> None:
    import os

    if not os.environ.get("PEERCIRCLE_TEST_POSTGRES_URL"):
        pytest.skip("PostgreSQL: PEERCIRCLE_TEST_POSTGRES_URL is not set")
    done = run("bench/takeover.py", "--runs", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "takeover after kill -9" in done.stdout and "takeover after SIGSTOP" in done.stdout
