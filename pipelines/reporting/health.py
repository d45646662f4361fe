"""The pipeline's health as the views show it: the latest runs and the projects with stale data."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    started_at: datetime
    finished_at: datetime
    status: str
    age_seconds: float  # from finished_at to the reporting clock's now


@dataclass(frozen=True)
class StaleProject:
    """A project whose latest fetch failed, or with users whose latest fetch failed."""

    project_id: str
    project_name: str | None
    is_stale: bool  # the project fetch itself failed, so all its users were skipped
    stale_since: datetime | None
    last_fetch_reason: str | None
    last_success_at: datetime | None
    stale_user_count: int
    failed_user_count: int


@dataclass(frozen=True)
class Health:
    now: datetime
    last_run: RunSummary | None
    last_successful_run: RunSummary | None  # status succeeded or partial: the run loaded
    stale_projects: list[StaleProject]


def query_rows(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Run `sql` and return its rows as dicts keyed by column name."""
    cursor = connection.execute(sql, parameters or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def snapshot(connection: duckdb.DuckDBPyConnection, view: str) -> str:
    """Copy `atlas_certs.<view>` into a temporary table, once per connection; returns its name.

    A view recomputes its inputs on every query. A command that reads one several times reads
    the copy, which also gives all its queries the same rows.
    """
    connection.execute(
        f"create temp table if not exists {view} as select * from atlas_certs.{view}"
    )
    return f"temp.main.{view}"


def current_time(connection: duckdb.DuckDBPyConnection) -> datetime:
    """Return the views' now: the frozen clock when set, else the transaction's start."""
    return connection.execute("select atlas_certs.now_utc()").fetchone()[0]


def read_health(connection: duckdb.DuckDBPyConnection, project_ids: tuple[str, ...] = ()) -> Health:
    """Read the latest run, the latest successful run and the stale projects.

    `project_ids` limits the stale projects to those ids; runs are always global.
    """
    now = current_time(connection)
    return Health(
        now=now,
        last_run=_latest_run(connection, now, successful_only=False),
        last_successful_run=_latest_run(connection, now, successful_only=True),
        stale_projects=_stale_projects(connection, project_ids),
    )


def project_filter_sql(column: str) -> str:
    """Return a condition on `column` that takes one VARCHAR[] parameter; empty means all."""
    return f"(len(?::varchar[]) = 0 or list_contains(?::varchar[], {column}))"


def _latest_run(
    connection: duckdb.DuckDBPyConnection, now: datetime, successful_only: bool
) -> RunSummary | None:
    condition = "where is_successful" if successful_only else ""
    rows = query_rows(
        connection,
        f"""
        select run_id, started_at, finished_at, run_status
        from atlas_certs.stg_runs
        {condition}
        order by started_at desc, run_id desc
        limit 1
        """,
    )
    if not rows:
        return None
    row = rows[0]
    return RunSummary(
        run_id=row["run_id"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        status=row["run_status"],
        age_seconds=(now - row["finished_at"]).total_seconds(),
    )


def _stale_projects(
    connection: duckdb.DuckDBPyConnection, project_ids: tuple[str, ...]
) -> list[StaleProject]:
    rows = query_rows(
        connection,
        f"""
        select
            project_id,
            project_name,
            is_stale,
            stale_since,
            last_fetch_reason,
            last_success_at,
            stale_user_count,
            failed_user_count,
        from {snapshot(connection, "project_status")}
        where (is_stale or stale_user_count > 0) and {project_filter_sql("project_id")}
        order by project_id
        """,
        [list(project_ids), list(project_ids)],
    )
    return [
        StaleProject(
            project_id=row["project_id"],
            project_name=row["project_name"],
            is_stale=row["is_stale"],
            stale_since=row["stale_since"],
            last_fetch_reason=row["last_fetch_reason"] if row["is_stale"] else None,
            last_success_at=row["last_success_at"],
            stale_user_count=row["stale_user_count"],
            failed_user_count=row["failed_user_count"],
        )
        for row in rows
    ]
