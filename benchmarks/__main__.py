"""``uv run python -m benchmarks``: measure atlas-certs against the emulator and write the
results to docs/benchmarks.md.

The full run takes about 10 minutes on 2 cores, 4 of them for the sequential baseline, and
longer while other processes compete for the cores. Each option below sets the size or a
setting of one part; docs/benchmarks.md describes the method.
"""

import argparse
import logging
import shlex
import sys
from pathlib import Path

from benchmarks.harness import CONTENDERS, REPOSITORY, BenchmarkOptions, run_benchmark, write_json
from benchmarks.processes import ChildFailed
from benchmarks.report import add_ratios, check_targets, render_section, write_docs

DEFAULTS = BenchmarkOptions()
# Options that choose where results go; the command recorded in the report leaves them out,
# because they do not change what is measured.
OUTPUT_OPTIONS = {"--docs": 1, "--no-docs": 0, "--json": 1, "--keep": 1}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure atlas-certs against the Atlas emulator, side by side with a "
        "sequential loop and dlt's rest_api source, and write the results to "
        "docs/benchmarks.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )

    fleet = parser.add_argument_group("fleet and emulator")
    fleet.add_argument("--projects", type=int, default=DEFAULTS.projects, help="projects")
    fleet.add_argument("--users", type=int, default=DEFAULTS.users, help="database users")
    fleet.add_argument("--seed", type=int, default=DEFAULTS.seed, help="seed of the fleet")
    fleet.add_argument(
        "--latency-ms",
        type=float,
        default=DEFAULTS.latency_ms,
        help="delay the emulator adds to every response",
    )

    runs = parser.add_argument_group("contenders")
    runs.add_argument(
        "--workers",
        type=int,
        default=DEFAULTS.workers,
        help="atlas-certs `workers` setting, also dlt's extract workers for rest_api",
    )
    runs.add_argument(
        "--skip",
        action="append",
        choices=[*CONTENDERS, "rate-limited", "capacity", "views"],
        default=[],
        help="leave out one part (repeatable)",
    )
    runs.add_argument(
        "--bucket-capacity",
        type=int,
        default=DEFAULTS.bucket_capacity,
        help="token bucket size of the rate-limited variant",
    )
    runs.add_argument(
        "--bucket-refill-rate",
        type=int,
        default=DEFAULTS.bucket_refill_rate,
        help="tokens added per refill period",
    )
    runs.add_argument(
        "--bucket-refill-seconds",
        type=int,
        default=DEFAULTS.bucket_refill_seconds,
        help="refill period in seconds",
    )
    runs.add_argument(
        "--capacity-seconds",
        type=float,
        default=DEFAULTS.capacity_seconds,
        help="duration of the emulator capacity probe",
    )

    offline = parser.add_argument_group("no-network variant and views")
    offline.add_argument(
        "--offline-certificates",
        type=int,
        default=DEFAULTS.offline_certificates,
        help="synthetic certificates through normalize and load",
    )
    offline.add_argument(
        "--views-certificates",
        type=int,
        default=DEFAULTS.views_certificates,
        help="certificates in the views benchmark",
    )
    offline.add_argument(
        "--views-runs", type=int, default=DEFAULTS.views_runs, help="daily runs in the views data"
    )
    offline.add_argument(
        "--views-users", type=int, default=DEFAULTS.views_users, help="users in the views data"
    )
    offline.add_argument(
        "--views-repeat", type=int, default=DEFAULTS.views_repeat, help="timings per view"
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--docs",
        type=Path,
        default=REPOSITORY / "docs" / "benchmarks.md",
        help="Markdown file whose harness section is replaced",
    )
    output.add_argument("--no-docs", action="store_true", help="do not write --docs")
    output.add_argument("--json", type=Path, help="also write the full report as JSON here")
    output.add_argument(
        "--keep", type=Path, help="work in this directory and keep databases and logs"
    )
    output.add_argument(
        "--timeout", type=float, default=DEFAULTS.child_timeout_seconds, help="seconds per child"
    )

    return parser


def options_from(args: argparse.Namespace, argv: list[str]) -> BenchmarkOptions:
    skipped = set(args.skip)
    return BenchmarkOptions(
        projects=args.projects,
        users=args.users,
        seed=args.seed,
        latency_ms=args.latency_ms,
        workers=args.workers,
        contenders=tuple(name for name in CONTENDERS if name not in skipped),
        bucket_capacity=0 if "rate-limited" in skipped else args.bucket_capacity,
        bucket_refill_rate=args.bucket_refill_rate,
        bucket_refill_seconds=args.bucket_refill_seconds,
        capacity_seconds=0 if "capacity" in skipped else args.capacity_seconds,
        offline_certificates=args.offline_certificates,
        views_certificates=args.views_certificates,
        views_runs=args.views_runs,
        views_users=args.views_users,
        views_repeat=args.views_repeat,
        run_views="views" not in skipped,
        child_timeout_seconds=args.timeout,
        keep_directory=args.keep,
        command=shlex.join(["uv", "run", "python", "-m", "benchmarks", *measured_options(argv)]),
    )


def measured_options(argv: list[str]) -> list[str]:
    """Return `argv` without the output options and their values."""
    kept: list[str] = []
    skip_values = 0
    for argument in argv:
        if skip_values:
            skip_values -= 1
            continue
        name = argument.split("=", 1)[0]
        if name in OUTPUT_OPTIONS:
            skip_values = OUTPUT_OPTIONS[name] if "=" not in argument else 0
            continue
        kept.append(argument)
    return kept


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    options = options_from(args, argv)
    try:
        report = run_benchmark(options)
    except ChildFailed as error:
        print(f"Error: the benchmark stopped: {error}", file=sys.stderr)
        return 1
    add_ratios(report)
    report["targets"] = check_targets(report)
    if args.json:
        write_json(report, args.json)
    if not args.no_docs:
        write_docs(report, args.docs)
    print(render_section(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
