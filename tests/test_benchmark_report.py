"""Floors, ratios, target checks and the docs section of the benchmark harness, on fixed
numbers (no processes, no network)."""

import copy

import pytest

from benchmarks.__main__ import measured_options
from benchmarks.floors import bucket_floor, concurrency_floor, pages_needed, request_floor
from benchmarks.harness import parse_views_table
from benchmarks.report import (
    SECTION_BEGIN,
    SECTION_END,
    add_ratios,
    check_targets,
    render_section,
    write_docs,
)


@pytest.mark.parametrize(
    ("items", "pages"), [(0, 1), (1, 1), (499, 1), (500, 1), (501, 2), (1200, 3), (3600, 8)]
)
def test_pages_needed_at_500_per_page(items, pages):
    assert pages_needed(items) == pages


def test_pages_needed_rejects_negative_count():
    with pytest.raises(ValueError, match="must not be negative"):
        pages_needed(-1)


def test_request_floor_counts_discovery_and_pages():
    floor = request_floor(
        project_user_counts=[3, 0, 600], managed_certificate_counts=[0, 500, 1001]
    )

    # 1 project-list page, then 1 + 1 + 2 database-user pages.
    assert floor.discovery_pages == 5
    # An empty certificate list still costs a page; 1,001 certificates cost 3.
    assert floor.certificate_pages == 5
    assert floor.total == 10


def test_request_floor_pages_project_list():
    floor = request_floor(project_user_counts=[0] * 501, managed_certificate_counts=[])

    assert floor.discovery_pages == 2 + 501


def test_concurrency_floor_divides_by_workers():
    assert concurrency_floor(4295, 0.05, 16) == pytest.approx(13.421875)
    assert concurrency_floor(100, 0.05, 1) == pytest.approx(5.0)


def test_concurrency_floor_rejects_zero_workers():
    with pytest.raises(ValueError, match="workers"):
        concurrency_floor(10, 0.05, 0)


def test_bucket_floor_waits_only_past_capacity():
    assert bucket_floor(4295, capacity=100, refill_rate=100, refill_seconds=1) == pytest.approx(
        41.95
    )
    assert bucket_floor(250, capacity=100, refill_rate=10, refill_seconds=60) == pytest.approx(900)
    assert bucket_floor(80, capacity=100, refill_rate=10, refill_seconds=60) == 0


def test_bucket_floor_rejects_zero_refill():
    with pytest.raises(ValueError, match="positive"):
        bucket_floor(10, capacity=1, refill_rate=0, refill_seconds=1)


VIEWS_OUTPUT = """built /tmp/x/bench.duckdb in 12.2 s: {'certificates': 1000000}
applied 17 SQL files
clock frozen at 2026-05-31T03:00:00+00:00; best of 3 runs
view                                 rows  count(*) s  full scan s  full scan CPU s
int_user_fetch_state                 5000       0.222        0.422            0.126
certificate_status                1000000       0.815        0.973            0.287
"""


def test_parse_views_table_reads_each_view():
    views = parse_views_table(VIEWS_OUTPUT)

    assert set(views) == {"int_user_fetch_state", "certificate_status"}
    assert views["certificate_status"] == {
        "rows": 1_000_000,
        "count_seconds": 0.815,
        "full_scan_seconds": 0.973,
        "column_4": 0.287,
    }


def test_parse_views_table_accepts_four_columns():
    views = parse_views_table("certificate_status 1000000 0.815 0.973\n")

    assert views["certificate_status"]["full_scan_seconds"] == 0.973


def _contender(requests, challenges, wall, concurrency_floor_seconds, **extra):
    return {
        "workers": 16,
        "exit_code": 0,
        "requests": requests,
        "digest_challenges": challenges,
        "rate_limited_answers": 0,
        "error_answers": 0,
        "requests_by_status": {"200": requests - challenges, "401": challenges},
        "wall_seconds": wall,
        "cpu_seconds": 1.0,
        "peak_rss_mb": 250.0,
        "emulator_cpu_seconds": 1.0,
        "concurrency_floor_seconds": concurrency_floor_seconds,
        "failed_listings": 0,
        **extra,
    }


BASE_REPORT = {
    "command": "uv run python -m benchmarks",
    "started_at": "2026-12-04T20:00:00+00:00",
    "machine": {
        "cores": 2,
        "memory_gib": 23.5,
        "cpu_model": "test CPU",
        "python": "3.11.7",
        "dlt": "1.31.0",
        "duckdb": "2.0.1",
        "requests": "2.32",
    },
    "options": {"latency_ms": 50.0, "workers": 16},
    "fleet": {
        "projects": 200,
        "users": 5000,
        "managed_users": 4023,
        "certificates": 64890,
        "users_over_one_page": 31,
        "busiest_user_certificates": 3600,
    },
    "floor": {"discovery_pages": 201, "certificate_pages": 4094, "total": 4295},
    "contenders": {
        "atlas-certs": _contender(4296, 1, 15.0, 13.42, fetch_seconds=14.0),
        "sequential": _contender(4296, 1, 240.0, 214.75),
    },
    "rate_limited": {
        **_contender(4500, 1, 48.0, 13.42, fetch_seconds=46.0),
        "rate_limited_answers": 204,
        "bucket": {"capacity": 100, "refill_rate": 100, "refill_seconds": 1, "scope": "credential"},
        "bucket_floor_seconds": 41.95,
    },
    "offline": {
        "certificates": 100_000,
        "certificates_loaded": 100_000,
        "extract_seconds": 4.0,
        "normalize_seconds": 3.0,
        "load_seconds": 2.0,
        "loader_file_formats": ["jsonl"],
        "certificates_per_second": 20_000.0,
        "peak_rss_mb": 200.0,
    },
    "views": {
        "views": {
            "certificate_status": {"rows": 10, "count_seconds": 0.1, "full_scan_seconds": 0.2}
        }
    },
}


def _report():
    report = copy.deepcopy(BASE_REPORT)
    add_ratios(report)
    return report


def test_add_ratios_leaves_challenges_out_of_floor_ratio():
    report = _report()
    atlas = report["contenders"]["atlas-certs"]

    assert atlas["requests_over_floor"] == 1.0
    assert atlas["speedup_over_sequential"] == pytest.approx(16.0)
    assert atlas["wall_over_concurrency_floor"] == pytest.approx(15.0 / 13.42)
    assert report["rate_limited"]["wall_over_bucket_floor"] == pytest.approx(48.0 / 41.95)


def test_check_targets_marks_each_target():
    results = {row["key"]: row["met"] for row in check_targets(_report())}

    assert results == {
        "requests": True,
        "concurrency": True,
        "sequential_speedup": True,
        "peak_rss": True,
        "rate_limited": True,
        "normalize_load": True,
        "views": True,
    }


def test_check_targets_reports_misses():
    report = copy.deepcopy(BASE_REPORT)
    report["contenders"]["atlas-certs"]["requests"] = 4400
    report["contenders"]["atlas-certs"]["peak_rss_mb"] = 2300.0
    report["rate_limited"]["failed_listings"] = 2
    add_ratios(report)

    results = {row["key"]: row["met"] for row in check_targets(report)}

    assert results["requests"] is False
    assert results["peak_rss"] is False
    assert results["rate_limited"] is False
    assert results["concurrency"] is True


def test_render_section_states_machine_and_command():
    section = render_section(_report())

    assert section.startswith(SECTION_BEGIN)
    assert section.rstrip().endswith(SECTION_END)
    assert "`uv run python -m benchmarks`" in section
    assert "2 cores and 23.5 GiB" in section
    assert "| atlas-certs | 4,296 | 1.000 | 1 |" in section
    assert "| atlas-certs, rate-limited |" in section


def test_write_docs_replaces_only_own_section(tmp_path):
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Views\n\nWritten by hand.\n", encoding="utf-8")
    report = _report()

    write_docs(report, docs)
    report["command"] = "uv run python -m benchmarks --workers 32"
    write_docs(report, docs)

    text = docs.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\n## Views\n\nWritten by hand.\n")
    assert text.count(SECTION_BEGIN) == 1
    assert "--workers 32" in text


def test_write_docs_creates_missing_file(tmp_path):
    docs = tmp_path / "docs" / "benchmarks.md"

    write_docs(_report(), docs)

    text = docs.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n")
    assert SECTION_BEGIN in text


def test_recorded_command_drops_output_options():
    argv = ["--workers", "32", "--json", "/tmp/r.json", "--docs=x.md", "--no-docs", "--keep", "d"]

    assert measured_options(argv) == ["--workers", "32"]
