"""Time every view in sql/ over a year of daily runs and a million certificates.

Usage: uv run python benchmarks/views_bench.py [--users 5000] [--certificates 1000000]
    [--runs 365] [--repeat 3] [--keep DIR]

dlt creates the four tables (with the column hints of pipelines.source), then DuckDB SQL with
generate_series fills them in a temporary directory:
- `--users` database users spread over 50 projects, each fetched once per daily run;
- one fetch row per project and per user per run. About 1% of user fetches failed, and one
  project in 50 failed in every 30th run, so its users were skipped. 2% of the users were
  deleted halfway through the year and are not_found from then on;
- `--certificates` certificates, the same number per user, issued evenly over the year with
  a 90-day lifetime, each last seen by the latest run before it expired or its user was
  deleted.
The clock is frozen one hour after the last run. For each view the script prints the best of
`--repeat` wall times of `select count(*)` and of a full scan. The full scan,
`select count(columns(*))`, computes every column of every row but returns a single row. The
last column is the CPU time of the best full scan.
"""

import argparse
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import duckdb

from pipelines.columns import CERTIFICATE_COLUMNS, FETCH_COLUMNS, PROJECT_COLUMNS, RUN_COLUMNS
from pipelines.settings import (
    CERTIFICATES_TABLE,
    DATASET_NAME,
    FETCHES_TABLE,
    PROJECTS_TABLE,
    RUNS_TABLE,
)
from pipelines.views import apply_views, view_files

PROJECTS = 50
FIRST_RUN_AT = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
VIEWS = (
    "int_user_fetch_state",
    "int_certificate_vanishings",
    "certificate_status",
    "expiry_windows",
    "user_certificate_status",
    "certificate_issuance_monthly",
    "certificate_rotations",
    "run_history",
    "project_status",
)


def create_tables(database: Path, pipelines_dir: Path) -> None:
    """Let dlt create the empty tables, exactly as a pipeline run would."""
    pipeline = dlt.pipeline(
        pipeline_name="atlas_certs_views_bench",
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name=DATASET_NAME,
        pipelines_dir=str(pipelines_dir),
    )

    def empty_table() -> Iterator[Any]:
        yield dlt.mark.materialize_table_schema()

    pipeline.run(
        [
            dlt.resource(empty_table, name=CERTIFICATES_TABLE, columns=CERTIFICATE_COLUMNS),
            dlt.resource(empty_table, name=FETCHES_TABLE, columns=FETCH_COLUMNS),
            dlt.resource(empty_table, name=PROJECTS_TABLE, columns=PROJECT_COLUMNS),
            dlt.resource(empty_table, name=RUNS_TABLE, columns=RUN_COLUMNS),
        ]
    )


def fill_tables(
    connection: duckdb.DuckDBPyConnection, users: int, certificates: int, runs: int
) -> None:
    """Fill the four tables; the temporary tables `settings` and `bench_users` drive them."""
    per_user = max(1, certificates // users)
    connection.execute(
        "create temp table settings as select ?::timestamptz as first_run_at, "
        "?::bigint as users, ?::bigint as runs, ?::bigint as per_user, ?::bigint as projects",
        [FIRST_RUN_AT, users, runs, per_user, PROJECTS],
    )
    # Users: u = 0 .. users-1, project = u % projects; 2% deleted at run `runs / 2`.
    connection.execute(
        """
        create temp table bench_users as
        select
            u,
            'p' || lpad((u % projects)::varchar, 23, '0') as project_id,
            'CN=user' || u as username,
            case when u % 50 = 7 then runs // 2 end as deleted_run,
        from settings, generate_series(0, users - 1) as t(u)
        """
    )
    fill_runs(connection)
    fill_fetches(connection)
    fill_projects(connection)
    fill_certificates(connection)


def fill_runs(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(
        """
        insert into atlas_certs.runs by name
        select
            'run' || r as run_id,
            first_run_at + to_days(r::integer) as started_at,
            first_run_at + to_days(r::integer) + to_minutes(10) as finished_at,
            'partial' as status,
            null as project_filter,
            projects - 1 as projects_fetched,
            1 as projects_failed,
            users as users_fetched,
            0 as users_failed,
            0 as certificates_seen,
            0 as certificates_new,
            users + projects as requests,
            null as error,
            'load' || r as _dlt_load_id,
            'run' || r as _dlt_id,
        from settings, generate_series(0, runs - 1) as t(r)
        """
    )


def fill_fetches(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(
        """
        insert into atlas_certs.fetches by name
        select
            'run' || r as run_id,
            'project' as scope,
            'p' || lpad(p::varchar, 23, '0') as project_id,
            null as username,
            case when r % 30 = 29 and p = 3 then 'failed' else 'ok' end as status,
            case when r % 30 = 29 and p = 3 then 503 end as http_status,
            null as error_code,
            case when r % 30 = 29 and p = 3 then 'HTTP 503' end as reason,
            null as certificate_count,
            null as pages,
            first_run_at + to_days(r::integer) as fetched_at,
            'load' || r as _dlt_load_id,
            'pf' || r || '-' || p as _dlt_id,
        from
            settings,
            generate_series(0, runs - 1) as t(r),
            generate_series(0, projects - 1) as q(p)
        """
    )
    connection.execute(
        """
        insert into atlas_certs.fetches by name
        select
            'run' || r as run_id,
            'user' as scope,
            project_id,
            username,
            case
                when deleted_run is not null and r >= deleted_run then 'not_found'
                when r % 30 = 29 and u % projects = 3 then 'skipped'
                when (u * 31 + r) % 100 = 0 then 'failed'
                else 'ok'
            end as status,
            null as http_status,
            null as error_code,
            null as reason,
            1 as certificate_count,
            1 as pages,
            first_run_at + to_days(r::integer) + to_seconds(u % 600) as fetched_at,
            'load' || r as _dlt_load_id,
            'uf' || r || '-' || u as _dlt_id,
        from settings, bench_users, generate_series(0, runs - 1) as t(r)
        """
    )


def fill_projects(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(
        """
        insert into atlas_certs.projects by name
        select
            'p' || lpad(p::varchar, 23, '0') as project_id,
            'project ' || p as name,
            'org0' as org_id,
            first_run_at + to_days((runs - 1)::integer) as last_seen_at,
            'load0' as _dlt_load_id,
            'p' || p as _dlt_id,
        from settings, generate_series(0, projects - 1) as t(p)
        """
    )


def fill_certificates(connection: duckdb.DuckDBPyConnection) -> None:
    # Certificate k of user u is created k * runs / per_user days after the first run and is
    # valid for 90 days. The latest run before its not_after, its user's deletion and the last
    # run saw it last.
    connection.execute(
        """
        insert into atlas_certs.certificates by name
        with numbered as (
            select
                u,
                project_id,
                username,
                deleted_run,
                k,
                first_run_at + to_days((k * runs // per_user)::integer) + to_hours(1)
                    as created_at,
            from settings, bench_users, generate_series(0, per_user - 1) as t(k)
        ),
        seen as (
            select
                *,
                created_at + to_days(90) as not_after,
                (k * runs // per_user) + 1 as first_run,
                least(
                    (k * runs // per_user) + 90,
                    coalesce(deleted_run - 1, runs - 1),
                    runs - 1
                ) as last_run,
            from numbered, settings
        )
        select
            project_id,
            username,
            (u::bigint << 20) + k + 1152921504606846976 as cert_id,
            upper(hex((u::bigint << 20) + k + 1152921504606846976)) as serial_hex,
            'CN=' || username as subject,
            created_at,
            not_after,
            first_run_at + to_days(least(first_run, last_run)::integer) + to_seconds(u % 600)
                as first_seen_at,
            first_run_at + to_days(last_run::integer) + to_seconds(u % 600) as last_seen_at,
            'run' || last_run as last_run_id,
            'load0' as _dlt_load_id,
            'c' || u || '-' || k as _dlt_id,
        from seen
        """
    )


def best_time(connection: duckdb.DuckDBPyConnection, sql: str, repeat: int) -> tuple[float, float]:
    """Run `sql` `repeat` times; return the best wall time and the CPU time of that run.

    CPU time is the process's user and system time over all DuckDB threads. It varies less
    than wall time when other processes compete for the cores.
    """
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        wall_started = time.perf_counter()
        cpu_started = time.process_time()
        connection.execute(sql).fetchall()
        timing = (time.perf_counter() - wall_started, time.process_time() - cpu_started)
        best = min(best, timing)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the database in DIR and keep it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        database = directory / "bench.duckdb"
        database.unlink(missing_ok=True)

        started = time.perf_counter()
        create_tables(database, directory / "dlt")
        with duckdb.connect(str(database)) as connection:
            fill_tables(connection, args.users, args.certificates, args.runs)
            apply_views(connection)
            counts = {
                table: connection.execute(f"select count(*) from atlas_certs.{table}").fetchone()[0]
                for table in (CERTIFICATES_TABLE, FETCHES_TABLE, PROJECTS_TABLE, RUNS_TABLE)
            }
        print(f"built {database} in {time.perf_counter() - started:.1f} s: {counts}")
        print(f"applied {len(view_files())} SQL files")

        now = FIRST_RUN_AT + timedelta(days=args.runs - 1, hours=1)
        with duckdb.connect(str(database)) as connection:
            connection.execute("set variable atlas_certs_now = ?::timestamptz", [now])
            print(f"clock frozen at {now.isoformat()}; best of {args.repeat} runs")
            print(
                f"{'view':<30} {'rows':>10} {'count(*) s':>11} {'full scan s':>12} "
                f"{'full scan CPU s':>16}"
            )
            for view in VIEWS:
                rows = connection.execute(f"select count(*) from atlas_certs.{view}").fetchone()[0]
                count_time, _ = best_time(
                    connection, f"select count(*) from atlas_certs.{view}", args.repeat
                )
                scan_time, scan_cpu = best_time(
                    connection, f"select count(columns(*)) from atlas_certs.{view}", args.repeat
                )
                print(
                    f"{view:<30} {rows:>10} {count_time:>11.3f} {scan_time:>12.3f} "
                    f"{scan_cpu:>16.3f}"
                )


if __name__ == "__main__":
    main()
