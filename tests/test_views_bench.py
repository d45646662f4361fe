"""The views benchmark still runs, on a tiny database; it asserts no timings."""

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.views_bench import VIEWS

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "views_bench.py"


@pytest.mark.slow
def test_views_bench_smoke(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--users",
            "50",
            "--certificates",
            "500",
            "--runs",
            "10",
            "--repeat",
            "1",
            "--keep",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "'certificates': 500" in result.stdout
    timed = [line.split()[0] for line in result.stdout.splitlines()[-len(VIEWS) :]]
    assert timed == list(VIEWS)
