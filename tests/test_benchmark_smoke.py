"""A small run of the benchmark command (tiny fleet, no added latency), so the harness keeps
working as the pipeline and the emulator change. It checks the report, not the speed.

The views benchmark is left out: benchmarks/views_bench.py belongs to the views and is
run by the full benchmark only.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.report import SECTION_BEGIN, SECTION_END

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("benchmark")
    report_path = directory / "report.json"
    docs_path = directory / "benchmarks.md"
    command = [
        sys.executable,
        "-m",
        "benchmarks",
        "--projects", "3",
        "--users", "40",
        "--latency-ms", "0",
        "--workers", "4",
        # A bucket smaller than the request floor, so the rate-limited run must wait.
        "--bucket-capacity", "5",
        "--bucket-refill-rate", "10",
        "--capacity-seconds", "0.5",
        "--offline-certificates", "500",
        "--skip", "views",
        "--timeout", "120",
        "--json", str(report_path),
        "--docs", str(docs_path),
    ]  # fmt: skip
    environment = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    completed = subprocess.run(
        command,
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(report_path.read_text(encoding="utf-8")), docs_path


pytestmark = pytest.mark.slow


def test_smoke_report_has_every_part(smoke_run):
    report, _ = smoke_run

    assert set(report["contenders"]) == {"atlas-certs", "rest_api", "sequential"}
    assert report["machine"]["cores"] >= 1
    assert report["fleet"]["users"] == 40
    assert report["fleet"]["users_over_one_page"] >= 1
    assert report["floor"]["total"] == (
        report["floor"]["discovery_pages"] + report["floor"]["certificate_pages"]
    )
    assert report["rate_limited"]["bucket"]["capacity"] == 5
    assert report["emulator_capacity"]["items_per_page"] == 500
    assert report["views"] is None
    assert {row["key"] for row in report["targets"]} == {
        "requests",
        "concurrency",
        "sequential_speedup",
        "peak_rss",
        "rate_limited",
        "normalize_load",
    }


def test_smoke_atlas_certs_requests_equal_floor(smoke_run):
    report, _ = smoke_run
    atlas = report["contenders"]["atlas-certs"]

    assert atlas["exit_code"] == 0
    assert atlas["digest_challenges"] >= 1
    assert atlas["requests"] - atlas["digest_challenges"] == report["floor"]["total"]
    assert atlas["requests_over_floor"] == 1.0
    # The pipeline's own count in the runs table agrees with what the emulator served.
    assert atlas["client_requests"] == atlas["requests"]


def test_smoke_contenders_read_every_certificate(smoke_run):
    report, _ = smoke_run
    certificates = report["fleet"]["certificates"]

    assert report["contenders"]["atlas-certs"]["certificates_loaded"] == certificates
    assert report["contenders"]["sequential"]["certificates"] == certificates
    assert report["contenders"]["rest_api"]["certificates"] == certificates
    assert report["rate_limited"]["certificates_loaded"] == certificates


def test_smoke_sequential_count_matches_emulator(smoke_run):
    report, _ = smoke_run
    sequential = report["contenders"]["sequential"]

    assert sequential["client_requests"] == sequential["requests"]
    assert sequential["failed_listings"] == 0


def test_smoke_rate_limited_run_waits_without_failing(smoke_run):
    report, _ = smoke_run
    limited = report["rate_limited"]

    assert limited["rate_limited_answers"] >= 1
    assert limited["failed_listings"] == 0
    assert limited["run_status"] == "succeeded"
    assert limited["bucket_floor_seconds"] > 0


def test_smoke_measures_child_processes(smoke_run):
    report, _ = smoke_run

    for name, result in report["contenders"].items():
        assert result["wall_seconds"] > 0, name
        assert result["peak_rss_mb"] > 10, name
    assert report["offline"]["certificates_loaded"] == 500
    assert report["offline"]["certificates_per_second"] > 0


def test_smoke_writes_docs_section(smoke_run):
    _, docs_path = smoke_run
    text = docs_path.read_text(encoding="utf-8")

    assert SECTION_BEGIN in text
    assert SECTION_END in text
    assert "| atlas-certs |" in text
