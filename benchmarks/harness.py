"""The benchmark run: one emulator process, every contender against it in turn, the
no-network variant and the views, gathered into one report dictionary."""

import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.floors import bucket_floor, concurrency_floor, request_floor
from benchmarks.processes import (
    ChildFailed,
    ChildResult,
    EmulatorProcess,
    child_environment,
    run_child,
)

logger = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parent.parent
VIEWS_BENCH = REPOSITORY / "benchmarks" / "views_bench.py"
CONTENDERS = ("atlas-certs", "rest_api", "sequential")
MB = 1_000_000


@dataclass
class BenchmarkOptions:
    """Settings of one benchmark run; the defaults are the documented full run."""

    projects: int = 200
    users: int = 5000
    seed: int = 7
    latency_ms: float = 50.0
    # With W workers a run is at most W times faster than the sequential loop. 18 leaves the
    # 15x target room for start-up, normalize and load, about 1.4 s in all.
    workers: int = 18
    contenders: tuple[str, ...] = CONTENDERS
    # Token bucket of the rate-limited variant; capacity 0 skips the variant.
    bucket_capacity: int = 100
    bucket_refill_rate: int = 100
    bucket_refill_seconds: int = 1
    capacity_seconds: float = 5.0
    capacity_threads: int = 4
    offline_certificates: int = 100_000
    views_certificates: int = 1_000_000
    views_runs: int = 365
    views_users: int = 5000
    views_repeat: int = 3
    run_views: bool = True
    child_timeout_seconds: float = 1200.0
    keep_directory: Path | None = None
    command: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def latency_seconds(self) -> float:
        return self.latency_ms / 1000


def run_benchmark(options: BenchmarkOptions) -> dict[str, Any]:
    """Run every part the options enable and return the report (see benchmarks.report)."""
    if options.keep_directory is not None:
        options.keep_directory.mkdir(parents=True, exist_ok=True)
        return _run_in(options, options.keep_directory)
    with tempfile.TemporaryDirectory(prefix="atlas-certs-bench-") as scratch:
        return _run_in(options, Path(scratch))


def _run_in(options: BenchmarkOptions, directory: Path) -> dict[str, Any]:
    report: dict[str, Any] = {
        "command": options.command,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "options": _options_json(options),
        "contenders": {},
    }
    report["bytecode_seconds"] = compile_bytecode()
    emulator_log = directory / "emulator.stderr"
    with EmulatorProcess(
        projects=options.projects,
        users=options.users,
        latency_seconds=options.latency_seconds,
        seed=options.seed,
        cwd=REPOSITORY,
        log_path=emulator_log,
    ) as emulator:
        floor = request_floor(
            emulator.info["project_user_counts"], emulator.info["managed_certificate_counts"]
        )
        report["fleet"] = {
            "projects": len(emulator.info["project_user_counts"]),
            "users": sum(emulator.info["project_user_counts"]),
            "managed_users": len(emulator.info["managed_certificate_counts"]),
            "certificates": sum(emulator.info["managed_certificate_counts"]),
            "users_over_one_page": sum(
                1 for count in emulator.info["managed_certificate_counts"] if count > 500
            ),
            "busiest_user_certificates": emulator.info["busiest_user"]["certificates"],
        }
        report["floor"] = asdict(floor) | {"total": floor.total}

        if options.capacity_seconds > 0:
            report["emulator_capacity"] = measure_emulator_capacity(emulator, options, directory)

        emulator.command("configure", latency_seconds=options.latency_seconds, rate_limit=None)
        for name in options.contenders:
            workers = 1 if name == "sequential" else options.workers
            result = run_contender(name, emulator, options, directory, workers)
            result["concurrency_floor_seconds"] = concurrency_floor(
                floor.total, options.latency_seconds, workers
            )
            report["contenders"][name] = result

        if options.bucket_capacity > 0:
            report["rate_limited"] = run_rate_limited(emulator, options, directory, floor.total)

    report["offline"] = run_offline_variant(options, directory)
    report["views"] = run_views(options, directory) if options.run_views else None
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


def compile_bytecode() -> float:
    """Compile the installed packages and this repository to bytecode; return the seconds.

    Every contender then starts as it would on its second run. Where PYTHONDONTWRITEBYTECODE
    is set or site-packages is read-only, Python never caches bytecode and each start compiles
    dlt again, which cost atlas-certs 1 s of wall time per run on the benchmark machine.
    """
    paths = sysconfig.get_paths()
    packages = sorted({paths["purelib"], paths["platlib"]})
    targets = [*packages, str(REPOSITORY / "pipelines"), str(REPOSITORY / "benchmarks")]
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", *targets],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def machine_description() -> dict[str, Any]:
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    return {
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "dlt": version("dlt"),
        "duckdb": version("duckdb"),
        "requests": version("requests"),
    }


def _options_json(options: BenchmarkOptions) -> dict[str, Any]:
    values = asdict(options)
    values["keep_directory"] = str(options.keep_directory) if options.keep_directory else None
    values["contenders"] = list(options.contenders)
    return values


# -- contenders -----------------------------------------------------------------------------------


def emulator_environment(emulator: EmulatorProcess, workers: int) -> dict[str, str]:
    """Return the environment that points atlas-certs (and the baselines) at the emulator."""
    return child_environment(
        {
            "SOURCES__ATLAS_CERTS__BASE_URL": emulator.base_url,
            "SOURCES__ATLAS_CERTS__PROJECTS": "*",
            "SOURCES__ATLAS_CERTS__CREDENTIALS__PUBLIC_KEY": emulator.info["public_key"],
            "SOURCES__ATLAS_CERTS__CREDENTIALS__PRIVATE_KEY": emulator.info["private_key"],
            "SOURCES__ATLAS_CERTS__WORKERS": str(workers),
            # dlt's parallel extraction pool, used by the rest_api baseline.
            "EXTRACT__WORKERS": str(workers),
            "EXTRACT__MAX_PARALLEL_ITEMS": str(workers * 2),
        }
    )


def atlas_certs_command() -> list[str]:
    """Return the installed `atlas-certs` script, or the same entry point through python."""
    script = Path(sys.executable).with_name("atlas-certs")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "pipelines.cli"]


def run_contender(
    name: str, emulator: EmulatorProcess, options: BenchmarkOptions, directory: Path, workers: int
) -> dict[str, Any]:
    """Run one contender against the emulator as it is configured now and measure it."""
    work = directory / f"{name}-{workers}"
    work.mkdir(parents=True, exist_ok=True)
    env = emulator_environment(emulator, workers)
    # A fresh dlt data directory, so no pipeline state or pending package of another run
    # (in ~/.dlt) takes part.
    env["DLT_DATA_DIR"] = str(work / "dlt-data")
    database = work / f"{name}.duckdb"
    if name == "atlas-certs":
        argv = [*atlas_certs_command(), "run", "--database", str(database)]
        _copy_project_config(work)
    elif name == "rest_api":
        argv = [
            sys.executable,
            "-m",
            "benchmarks.contenders",
            "rest_api",
            "--database",
            str(database),
        ]
    elif name == "sequential":
        argv = [sys.executable, "-m", "benchmarks.contenders", "sequential"]
    else:
        raise ValueError(f"unknown contender {name!r}; choose from {CONTENDERS}")
    if name != "atlas-certs":
        env["PYTHONPATH"] = _python_path()

    emulator.command("reset")
    emulator_cpu_before = emulator.cpu_seconds()
    # Other processes on a shared machine slow every contender; the load average shows it.
    load_before = os.getloadavg()[0]
    logger.info("running %s with %d workers", name, workers)
    child = run_child(
        argv,
        env=env,
        cwd=work if name == "atlas-certs" else REPOSITORY,
        timeout_seconds=options.child_timeout_seconds,
        output_dir=work,
        name=name,
    )
    emulator_cpu = emulator.cpu_seconds() - emulator_cpu_before
    served = emulator.command("stats")

    result = _child_measurements(child, workers)
    result |= _served_requests(served)
    result["emulator_cpu_seconds"] = emulator_cpu
    result["load_average_before"] = load_before
    if name == "atlas-certs":
        result |= read_atlas_certs_run(database) if database.exists() else {}
    elif child.returncode == 0:
        result |= child.last_json_line()
    if child.returncode not in (0, 3):
        result["error"] = child.stderr.strip().splitlines()[-1:] or [f"exit {child.returncode}"]
    return result


def _python_path() -> str:
    existing = os.environ.get("PYTHONPATH")
    return f"{REPOSITORY}{os.pathsep}{existing}" if existing else str(REPOSITORY)


def _copy_project_config(work: Path) -> None:
    """Give the CLI the repository's .dlt/config.toml (runtime and retry settings) and no
    secrets.toml, so credentials come only from the environment."""
    source = REPOSITORY / ".dlt" / "config.toml"
    if source.exists():
        (work / ".dlt").mkdir(exist_ok=True)
        shutil.copy(source, work / ".dlt" / "config.toml")


def _child_measurements(child: ChildResult, workers: int) -> dict[str, Any]:
    return {
        "workers": workers,
        "exit_code": child.returncode,
        "wall_seconds": child.wall_seconds,
        "cpu_seconds": child.cpu_seconds,
        "peak_rss_mb": child.peak_rss_bytes / MB,
    }


def _served_requests(served: dict[str, Any]) -> dict[str, Any]:
    by_status = served["by_status"]
    challenges = by_status.get("401", 0)
    rate_limited = by_status.get("429", 0)
    errors = sum(
        count
        for status, count in by_status.items()
        if status not in ("401", "429") and (int(status) >= 400 or int(status) == 0)
    )
    return {
        "requests": served["requests"],
        "digest_challenges": challenges,
        "rate_limited_answers": rate_limited,
        "error_answers": errors,
        "requests_by_status": by_status,
    }


def read_atlas_certs_run(database: Path) -> dict[str, Any]:
    """Read the run's own row from the `runs` table: its request count and fetch time."""
    try:
        with duckdb.connect(str(database), read_only=True) as connection:
            row = connection.execute(
                "select status, requests, users_fetched, users_failed, projects_failed, "
                "certificates_seen, started_at, finished_at "
                "from atlas_certs.runs order by started_at desc limit 1"
            ).fetchone()
            (loaded,) = connection.execute(
                "select count(*) from atlas_certs.certificates"
            ).fetchone()
    except duckdb.Error as error:
        # A run that failed before loading leaves no tables, and its exit code shows why.
        logger.warning("cannot read the run from %s: %s", database, error)
        return {}
    if row is None:
        return {}
    status, requests, users, users_failed, projects_failed, seen, started, finished = row
    return {
        "run_status": status,
        "client_requests": requests,
        "users": users,
        "failed_listings": users_failed + projects_failed,
        "certificates": seen,
        "certificates_loaded": loaded,
        # The run row is written when the walk ends, before normalize and load.
        "fetch_seconds": (finished - started).total_seconds(),
    }


def run_rate_limited(
    emulator: EmulatorProcess, options: BenchmarkOptions, directory: Path, floor_requests: int
) -> dict[str, Any]:
    """Run atlas-certs against a token bucket; the bucket starts full."""
    bucket = {
        "capacity": options.bucket_capacity,
        "refill_rate": options.bucket_refill_rate,
        "refill_seconds": options.bucket_refill_seconds,
        "scope": "credential",
    }
    emulator.command("configure", latency_seconds=options.latency_seconds, rate_limit=bucket)
    try:
        result = run_contender(
            "atlas-certs", emulator, options, directory / "rate-limited", options.workers
        )
    finally:
        emulator.command("configure", latency_seconds=options.latency_seconds, rate_limit=None)
    result["bucket"] = bucket
    result["bucket_floor_seconds"] = bucket_floor(
        floor_requests,
        options.bucket_capacity,
        options.bucket_refill_rate,
        options.bucket_refill_seconds,
    )
    result["concurrency_floor_seconds"] = concurrency_floor(
        floor_requests, options.latency_seconds, options.workers
    )
    return result


def measure_emulator_capacity(
    emulator: EmulatorProcess, options: BenchmarkOptions, directory: Path
) -> dict[str, Any]:
    """Load the busiest user's first 500-item page with no added latency and divide the
    requests served by the emulator's CPU seconds."""
    busiest = emulator.info["busiest_user"]

    work = directory / "capacity"
    work.mkdir(parents=True, exist_ok=True)
    env = emulator_environment(emulator, options.capacity_threads)
    env["PYTHONPATH"] = _python_path()
    emulator.command("configure", latency_seconds=0, rate_limit=None)
    emulator.command("reset")

    before = emulator.cpu_seconds()
    child = run_child(
        [
            sys.executable,
            "-m",
            "benchmarks.contenders",
            "capacity",
            "--project-id",
            busiest["project_id"],
            "--username",
            busiest["username"],
            "--threads",
            str(options.capacity_threads),
            "--seconds",
            str(options.capacity_seconds),
        ],
        env=env,
        cwd=REPOSITORY,
        timeout_seconds=options.capacity_seconds + 120,
        output_dir=work,
        name="capacity",
    )
    emulator_cpu = emulator.cpu_seconds() - before
    if child.returncode != 0:
        raise ChildFailed(f"the capacity probe failed: {child.stderr[-2000:]}")

    probe = child.last_json_line()
    served = emulator.command("stats")["requests"]
    return {
        "items_per_page": probe["items"],
        "requests": served,
        "ok_requests": probe["ok"],
        "wall_seconds": probe["wall_seconds"],
        "client_threads": probe["threads"],
        "emulator_cpu_seconds": emulator_cpu,
        "requests_per_emulator_cpu_second": served / emulator_cpu if emulator_cpu else None,
        "requests_per_wall_second": served / probe["wall_seconds"],
    }


# -- no-network variant and views -----------------------------------------------------------------


def run_offline_variant(options: BenchmarkOptions, directory: Path) -> dict[str, Any]:
    work = directory / "offline"
    work.mkdir(parents=True, exist_ok=True)
    env = child_environment({"DLT_DATA_DIR": str(work / "dlt-data"), "PYTHONPATH": _python_path()})
    child = run_child(
        [
            sys.executable,
            "-m",
            "benchmarks.offline",
            "--certificates",
            str(options.offline_certificates),
            "--directory",
            str(work / "pipeline"),
        ],
        env=env,
        cwd=REPOSITORY,
        timeout_seconds=options.child_timeout_seconds,
        output_dir=work,
        name="offline",
    )
    if child.returncode != 0:
        return {"error": child.stderr.strip().splitlines()[-1:], "exit_code": child.returncode}
    result = child.last_json_line()
    steps = result["normalize_seconds"] + result["load_seconds"]
    result["certificates_per_second"] = result["certificates"] / steps if steps else None
    result["wall_seconds"] = child.wall_seconds
    result["peak_rss_mb"] = child.peak_rss_bytes / MB
    return result


def run_views(options: BenchmarkOptions, directory: Path) -> dict[str, Any]:
    """Run the views benchmark that benchmarks/views_bench.py defines and parse its table."""
    if not VIEWS_BENCH.exists():
        return {"error": f"{VIEWS_BENCH.relative_to(REPOSITORY)} not found"}
    work = directory / "views"
    work.mkdir(parents=True, exist_ok=True)
    env = child_environment({"DLT_DATA_DIR": str(work / "dlt-data"), "PYTHONPATH": _python_path()})
    argv = [
        sys.executable,
        str(VIEWS_BENCH),
        "--users",
        str(options.views_users),
        "--certificates",
        str(options.views_certificates),
        "--runs",
        str(options.views_runs),
        "--repeat",
        str(options.views_repeat),
    ]
    child = run_child(
        argv,
        env=env,
        cwd=REPOSITORY,
        timeout_seconds=options.child_timeout_seconds,
        output_dir=work,
        name="views",
    )
    result: dict[str, Any] = {
        "exit_code": child.returncode,
        "wall_seconds": child.wall_seconds,
        "peak_rss_mb": child.peak_rss_bytes / MB,
        "views": parse_views_table(child.stdout),
    }
    if child.returncode != 0 or not result["views"]:
        result["error"] = (child.stderr.strip() or child.stdout.strip()).splitlines()[-1:]
    return result


def parse_views_table(text: str) -> dict[str, dict[str, float]]:
    """Parse the table that views_bench.py prints: a view name, its row count, then the
    seconds of `count(*)` and of a full scan. Further numeric columns are kept by position
    as `column_4`, `column_5`, ... because their meaning belongs to that script."""
    views: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 4 or not parts[1].isdigit():
            continue
        try:
            numbers = [float(part) for part in parts[2:]]
        except ValueError:
            continue
        timing = {
            "rows": int(parts[1]),
            "count_seconds": numbers[0],
            "full_scan_seconds": numbers[1],
        }
        for position, number in enumerate(numbers[2:], start=4):
            timing[f"column_{position}"] = number
        views[parts[0]] = timing
    return views


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
