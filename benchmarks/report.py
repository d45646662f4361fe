"""Ratios, target checks and the Markdown section of docs/benchmarks.md for one report."""

from pathlib import Path
from typing import Any

SECTION_BEGIN = "<!-- benchmarks harness: begin (written by `python -m benchmarks`) -->"
SECTION_END = "<!-- benchmarks harness: end -->"
DOCS_TITLE = "# Benchmarks\n"

# The targets the harness checks; none of them fails the run.
REQUEST_RATIO_TARGET = 1.0
CONCURRENCY_FLOOR_FACTOR = 1.25
SEQUENTIAL_SPEEDUP_TARGET = 15.0
BUCKET_FLOOR_FACTOR = 1.2
CERTIFICATES_PER_SECOND_TARGET = 20_000
VIEW_SECONDS_TARGET = 0.5
PEAK_RSS_MB_TARGET = 300


def add_ratios(report: dict[str, Any]) -> None:
    """Add, in place, each contender's ratios to the request floor, to its concurrency floor
    and to the sequential loop's wall time."""
    floor = report["floor"]["total"]
    sequential = report["contenders"].get("sequential")
    runs = list(report["contenders"].values())
    if report.get("rate_limited"):
        runs.append(report["rate_limited"])
    for result in runs:
        paid = result["requests"] - result["digest_challenges"]
        result["requests_over_floor"] = paid / floor if floor else None
        result["wall_over_concurrency_floor"] = _ratio(
            result["wall_seconds"], result["concurrency_floor_seconds"]
        )
        if "fetch_seconds" in result:
            result["fetch_over_concurrency_floor"] = _ratio(
                result["fetch_seconds"], result["concurrency_floor_seconds"]
            )
        if sequential is not None:
            result["speedup_over_sequential"] = _ratio(
                sequential["wall_seconds"], result["wall_seconds"]
            )
    limited = report.get("rate_limited")
    if limited:
        limited["wall_over_bucket_floor"] = _ratio(
            limited["wall_seconds"], limited["bucket_floor_seconds"]
        )
        limited["fetch_over_bucket_floor"] = _ratio(
            limited.get("fetch_seconds"), limited["bucket_floor_seconds"]
        )


def check_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Return one row per target: what it requires, the measured value and whether it is met
    (None when the part that measures it did not run)."""
    atlas = report["contenders"].get("atlas-certs")
    limited = report.get("rate_limited")
    offline = report.get("offline") or {}
    views = (report.get("views") or {}).get("views") or {}
    rows = []

    def add(key: str, target: str, measured: str, met: bool | None) -> None:
        rows.append({"key": key, "target": target, "measured": measured, "met": met})

    if atlas:
        add(
            "requests",
            "requests ÷ floor = 1.00 (Digest challenges counted apart)",
            f"{atlas['requests_over_floor']:.3f} (+{atlas['digest_challenges']} challenges)",
            atlas["requests"] - atlas["digest_challenges"] == report["floor"]["total"],
        )
        over_floor = atlas["wall_over_concurrency_floor"]
        add(
            "concurrency",
            f"wall time ≤ {CONCURRENCY_FLOOR_FACTOR} x concurrency floor",
            f"{_number(over_floor, 2)} x "
            f"(fetch phase alone {_number(atlas.get('fetch_over_concurrency_floor'), 2)} x)",
            over_floor <= CONCURRENCY_FLOOR_FACTOR if over_floor is not None else None,
        )
        speedup = atlas.get("speedup_over_sequential")
        add(
            "sequential_speedup",
            f"≥ {SEQUENTIAL_SPEEDUP_TARGET:.0f} x faster than the sequential loop",
            f"{speedup:.1f} x" if speedup else "sequential loop not run",
            speedup >= SEQUENTIAL_SPEEDUP_TARGET if speedup else None,
        )
        add(
            "peak_rss",
            f"peak RSS ≤ {PEAK_RSS_MB_TARGET} MB",
            f"{atlas['peak_rss_mb']:.0f} MB",
            atlas["peak_rss_mb"] <= PEAK_RSS_MB_TARGET,
        )
    if limited:
        failed = limited.get("failed_listings")
        over_bucket = limited["wall_over_bucket_floor"]
        add(
            "rate_limited",
            f"rate-limited: ≤ {BUCKET_FLOOR_FACTOR} x bucket floor, 0 failed requests",
            f"{_number(over_bucket, 2)} x "
            f"(fetch phase alone {_number(limited.get('fetch_over_bucket_floor'), 2)} x), "
            f"{failed} failed, {limited['rate_limited_answers']} answers with 429",
            over_bucket <= BUCKET_FLOOR_FACTOR and failed == 0 if over_bucket is not None else None,
        )
    if offline.get("certificates_per_second"):
        add(
            "normalize_load",
            f"≥ {CERTIFICATES_PER_SECOND_TARGET:,} certificates/s through normalize and load",
            f"{offline['certificates_per_second']:,.0f} /s",
            offline["certificates_per_second"] >= CERTIFICATES_PER_SECOND_TARGET,
        )
    if views:
        slowest_name, slowest = max(views.items(), key=lambda item: item[1]["full_scan_seconds"])
        add(
            "views",
            f"each view < {VIEW_SECONDS_TARGET} s (full scan)",
            f"slowest {slowest_name}: {slowest['full_scan_seconds']:.3f} s",
            slowest["full_scan_seconds"] < VIEW_SECONDS_TARGET,
        )
    return rows


def render_section(report: dict[str, Any]) -> str:
    """Return the Markdown section, between the markers that write_docs() looks for."""
    options = report["options"]
    machine = report["machine"]
    fleet = report["fleet"]
    floor = report["floor"]
    lines = [
        SECTION_BEGIN,
        "## Fetch, load and rate-limit benchmark",
        "",
        f"Measured {report['started_at'][:10]} with `{report['command']}` on "
        f"{machine['cores']} cores and {machine['memory_gib']} GiB "
        f"({machine['cpu_model'] or 'unknown CPU'}), Python {machine['python']}, "
        f"dlt {machine['dlt']}, DuckDB {machine['duckdb']}.",
        "",
        f"Fleet: {fleet['projects']} projects, {fleet['users']:,} database users, "
        f"{fleet['managed_users']:,} of them MANAGED, {fleet['certificates']:,} unexpired "
        f"certificates; {fleet['users_over_one_page']} users need more than one page, the "
        f"busiest has {fleet['busiest_user_certificates']:,}. Emulator latency "
        f"{options['latency_ms']:g} ms per request; atlas-certs and rest_api use "
        f"{options['workers']} workers. Request floor: {floor['total']:,} "
        f"({floor['discovery_pages']} discovery pages + {floor['certificate_pages']:,} "
        "certificate pages).",
        "",
        "| contender | requests | ÷ floor | Digest 401 | 429 | failed | wall s | fetch s "
        "| concurrency floor s | wall ÷ concurrency floor | speedup vs sequential "
        "| peak RSS MB | CPU s | emulator CPU s | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    runs = [(name, result) for name, result in report["contenders"].items()]
    if report.get("rate_limited"):
        runs.append(("atlas-certs, rate-limited", report["rate_limited"]))
    for name, result in runs:
        lines.append(_contender_row(name, result))
    for name, result in runs:
        if result.get("error"):
            lines.append(f"\n{name} failed: `{' '.join(result['error'])}`")

    limited = report.get("rate_limited")
    if limited:
        bucket = limited["bucket"]
        lines += [
            "",
            f"Rate-limited variant: a token bucket of {bucket['capacity']} requests refilled "
            f"with {bucket['refill_rate']} every {bucket['refill_seconds']} s per API key; "
            f"bucket floor {limited['bucket_floor_seconds']:.1f} s, measured wall "
            f"{limited['wall_seconds']:.1f} s ({_number(limited['wall_over_bucket_floor'], 2)} x), "
            f"fetch phase {_number(limited.get('fetch_seconds'))} s.",
        ]
    lines += _offline_lines(report.get("offline"))
    lines += _views_lines(report.get("views"))
    lines += _capacity_lines(report.get("emulator_capacity"))
    lines += ["", "### Targets", "", "| target | measured | met |", "|---|---|---|"]
    for row in check_targets(report):
        met = {True: "yes", False: "**no**", None: "not measured"}[row["met"]]
        lines.append(f"| {row['target']} | {row['measured']} | {met} |")
    lines += ["", *METHOD_NOTES, SECTION_END, ""]
    return "\n".join(lines)


METHOD_NOTES = [
    "How the figures are taken:",
    "",
    "- The emulator runs in its own process; it counts every request it answers, so all "
    "contenders are counted the same way. *failed* is the number of project or user listings "
    "the contender gave up on.",
    "- *wall s* is the child process from start to exit, interpreter start and imports "
    "included. Before the first contender the harness compiles the installed packages and "
    "the repository to bytecode, as pip does at install time and Python does on a first run "
    "where it may write bytecode, so no contender compiles dlt at start. *fetch s* "
    "(atlas-certs only) is the `runs` row's `finished_at - started_at`: the walk over Atlas, "
    "without normalize, load and the views.",
    "- Concurrency floor = floor requests x latency ÷ workers (1 for the sequential loop). "
    "Bucket floor = max(0, floor requests - capacity) x refill seconds ÷ refill rate.",
    "- Peak RSS and CPU s are the child's own, from wait4(). *load avg* is the machine's "
    "1-minute load average when the contender started; above the core count, other "
    "processes took CPU time from the run.",
    "- The emulator adds its latency after authentication and the rate limit, so Digest "
    "challenges and 429 answers come back without it.",
    "",
]


def _contender_row(name: str, result: dict[str, Any]) -> str:
    cells = [
        name,
        f"{result['requests']:,}",
        _number(result.get("requests_over_floor"), 3),
        str(result["digest_challenges"]),
        str(result["rate_limited_answers"]),
        str(result.get("failed_listings", "-")),
        _number(result["wall_seconds"]),
        _number(result.get("fetch_seconds")),
        _number(result["concurrency_floor_seconds"]),
        _number(result.get("wall_over_concurrency_floor"), 2),
        _number(result.get("speedup_over_sequential")),
        f"{result['peak_rss_mb']:.0f}",
        _number(result["cpu_seconds"]),
        _number(result["emulator_cpu_seconds"]),
        _number(result.get("load_average_before")),
    ]
    return "| " + " | ".join(cells) + " |"


def _offline_lines(offline: dict[str, Any] | None) -> list[str]:
    if not offline:
        return []
    if offline.get("error"):
        return ["", f"No-network variant failed: `{' '.join(offline['error'])}`"]
    return [
        "",
        f"No-network variant: {offline['certificates']:,} synthetic certificates went through "
        "the pipeline's source and table hints into a new DuckDB file, as loader file formats "
        f"{', '.join(offline['loader_file_formats'])}. Extract took "
        f"{offline['extract_seconds']:.1f} s, normalize {offline['normalize_seconds']:.1f} s and "
        f"load {offline['load_seconds']:.1f} s: "
        f"{offline['certificates_per_second']:,.0f} certificates/s through normalize and load, "
        f"at a peak RSS of {offline['peak_rss_mb']:.0f} MB.",
    ]


def _views_lines(views: dict[str, Any] | None) -> list[str]:
    if not views:
        return []
    if not views.get("views"):
        return ["", f"Views: not measured ({' '.join(views.get('error') or [])})."]
    lines = [
        "",
        "Views, from `benchmarks/views_bench.py` (best of its repeats, 1 year of daily runs):",
        "",
        "| view | rows | count(*) s | full scan s |",
        "|---|---:|---:|---:|",
    ]
    for name, timing in views["views"].items():
        lines.append(
            f"| {name} | {timing['rows']:,} | {timing['count_seconds']:.3f} "
            f"| {timing['full_scan_seconds']:.3f} |"
        )
    return lines


def _capacity_lines(capacity: dict[str, Any] | None) -> list[str]:
    if not capacity:
        return []
    per_core = capacity["requests_per_emulator_cpu_second"]
    return [
        "",
        f"Emulator capacity: {capacity['requests']:,} requests for a "
        f"{capacity['items_per_page']}-item certificate page from "
        f"{capacity['client_threads']} client threads in {capacity['wall_seconds']:.1f} s used "
        f"{capacity['emulator_cpu_seconds']:.1f} emulator CPU seconds: "
        f"{_number(per_core, 0)} requests per emulator core-second "
        f"({capacity['requests_per_wall_second']:.0f}/s of wall time, with the client on the "
        "same machine).",
    ]


def write_docs(report: dict[str, Any], path: Path) -> None:
    """Replace this harness's section of `path`, or append it; other sections stay as they
    are."""
    section = render_section(report)
    text = path.read_text(encoding="utf-8") if path.exists() else DOCS_TITLE
    if SECTION_BEGIN in text and SECTION_END in text:
        head, rest = text.split(SECTION_BEGIN, 1)
        _, tail = rest.split(SECTION_END, 1)
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"
