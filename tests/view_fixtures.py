"""Build the pipeline's tables from hand-made rows with a real dlt pipeline, then query the views.

`ViewFixture.record_run()` writes what one pipeline run would: a `runs` row, a fetch-log row per
project and per database user, the listed certificates with updated last_seen_at, and project
names. Rows go through dlt with the column hints and write dispositions of `pipelines.source`,
so the views see the same tables as after a real run.
"""

import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import duckdb

from pipelines.columns import CERTIFICATE_COLUMNS, FETCH_COLUMNS, PROJECT_COLUMNS, RUN_COLUMNS
from pipelines.records import serial_hex
from pipelines.settings import (
    CERTIFICATES_TABLE,
    DATASET_NAME,
    FETCHES_TABLE,
    PROJECTS_TABLE,
    RUNS_TABLE,
)
from pipelines.views import apply_views

MERGE = {"disposition": "merge", "strategy": "delete-insert"}
T0 = datetime(2026, 6, 1, tzinfo=UTC)

UserKey = tuple[str, str]


@dataclass(frozen=True)
class Cert:
    """A certificate as Atlas lists it."""

    project_id: str
    username: str
    cert_id: int
    created_at: datetime
    not_after: datetime

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.project_id, self.username, self.cert_id)


def cert(
    project_id: str,
    username: str,
    cert_id: int,
    not_after: datetime,
    lifetime: timedelta = timedelta(days=90),
) -> Cert:
    return Cert(project_id, username, cert_id, not_after - lifetime, not_after)


class ViewFixture:
    """One DuckDB file in a test's tmp_path, loaded by a dlt pipeline of its own."""

    def __init__(self, tmp_path: Path) -> None:
        self.database = tmp_path / "atlas-certs.duckdb"
        self.pipeline = dlt.pipeline(
            pipeline_name="atlas_certs_view_fixture",
            destination=dlt.destinations.duckdb(str(self.database)),
            dataset_name=DATASET_NAME,
            pipelines_dir=str(tmp_path / "dlt"),
        )
        self.first_seen: dict[tuple[str, str, int], datetime] = {}
        self.run_count = 0
        self.views_applied = False

    def load(
        self,
        certificates: Iterable[dict[str, Any]] = (),
        fetches: Iterable[dict[str, Any]] = (),
        projects: Iterable[dict[str, Any]] = (),
        runs: Iterable[dict[str, Any]] = (),
    ) -> None:
        """Load raw rows; every table is created even when its list is empty."""
        self.views_applied = False
        self.pipeline.run(
            [
                _resource(
                    CERTIFICATES_TABLE,
                    certificates,
                    CERTIFICATE_COLUMNS,
                    MERGE,
                    ("project_id", "username", "cert_id"),
                ),
                _resource(FETCHES_TABLE, fetches, FETCH_COLUMNS, "append"),
                _resource(PROJECTS_TABLE, projects, PROJECT_COLUMNS, MERGE, "project_id"),
                _resource(RUNS_TABLE, runs, RUN_COLUMNS, "append"),
            ]
        )

    def record_run(
        self,
        started_at: datetime,
        users: Mapping[UserKey, list[Cert] | str],
        *,
        failed_projects: Mapping[str, str] | None = None,
        duration: timedelta = timedelta(minutes=5),
        project_names: Mapping[str, str] | None = None,
    ) -> str:
        """Record one run that fetched `users` at `started_at`; returns its run id.

        Each user maps to the certificates its fetch listed (status ok, or empty for an empty
        list) or to a status without certificates: not_found, failed or skipped. A project in
        `failed_projects` (project id to reason) gets a failed project row, and its users
        should be given as "skipped", as the pipeline writes them.
        """
        self.run_count += 1
        run_id = f"run{self.run_count:03d}"
        failed_projects = dict(failed_projects or {})
        project_ids = sorted({project_id for project_id, _ in users} | set(failed_projects))
        fetches = []
        certificates = []
        projects = []
        users_failed = 0
        for project_id in project_ids:
            reason = failed_projects.get(project_id)
            fetches.append(
                _fetch_row(
                    run_id,
                    "project",
                    project_id,
                    None,
                    "failed" if reason else "ok",
                    started_at,
                    reason,
                )
            )
            if reason is None:
                name = (project_names or {}).get(project_id, f"name of {project_id}")
                projects.append(
                    {
                        "project_id": project_id,
                        "name": name,
                        "org_id": "org0",
                        "last_seen_at": started_at,
                    }
                )
        for (project_id, username), listing in sorted(users.items()):
            if isinstance(listing, str):
                status = listing
                listed: list[Cert] = []
            else:
                status = "ok" if listing else "empty"
                listed = listing
            users_failed += status == "failed"
            reason = failed_projects.get(project_id) or ("HTTP 500" if status == "failed" else None)
            fetches.append(
                _fetch_row(run_id, "user", project_id, username, status, started_at, reason)
            )
            for item in listed:
                first_seen = self.first_seen.setdefault(item.key, started_at)
                certificates.append(_certificate_row(item, first_seen, started_at, run_id))
        run = {
            "run_id": run_id,
            "started_at": started_at,
            "finished_at": started_at + duration,
            "status": "partial" if (users_failed or failed_projects) else "succeeded",
            "project_filter": None,
            "projects_fetched": len(project_ids) - len(failed_projects),
            "projects_failed": len(failed_projects),
            "users_fetched": len(users) - users_failed,
            "users_failed": users_failed,
            "certificates_seen": len(certificates),
            "certificates_new": 0,
            "requests": len(users) + len(project_ids),
            "error": None,
        }
        self.load(certificates, fetches, projects, [run])
        return run_id

    def apply_views(self) -> list[str]:
        with duckdb.connect(str(self.database)) as connection:
            applied = apply_views(connection)
        self.views_applied = True
        return applied

    @contextmanager
    def connect(self, now: datetime | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a read-only connection with the clock frozen at `now`, after applying the
        views once since the last load."""
        if not self.views_applied:
            self.apply_views()
        with duckdb.connect(str(self.database), read_only=True) as connection:
            connection.execute("set TimeZone = 'UTC'")
            if now is not None:
                connection.execute("set variable atlas_certs_now = ?::timestamptz", [now])
            yield connection


def query(connection: duckdb.DuckDBPyConnection, sql: str, *parameters: Any) -> list[dict]:
    """Run `sql` and return its rows as dicts keyed by column name."""
    cursor = connection.execute(sql, list(parameters))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _resource(
    table: str,
    rows: Iterable[dict[str, Any]],
    columns: dict[str, Any],
    write_disposition: Any,
    primary_key: Any = (),
) -> Any:
    items = list(rows)

    def generate() -> Iterator[Any]:
        yield dlt.mark.materialize_table_schema()
        yield from items

    return dlt.resource(
        generate,
        name=table,
        write_disposition=write_disposition,
        primary_key=primary_key,
        columns=columns,
    )


def _fetch_row(
    run_id: str,
    scope: str,
    project_id: str,
    username: str | None,
    status: str,
    fetched_at: datetime,
    reason: str | None,
) -> dict[str, Any]:
    failed = status in ("failed", "skipped")
    http_status = None
    if failed:
        http_status = 500
    elif status == "not_found":
        http_status = 404
    return {
        "run_id": run_id,
        "scope": scope,
        "project_id": project_id,
        "username": username,
        "status": status,
        "http_status": http_status,
        "error_code": "UNEXPECTED_ERROR" if failed else None,
        "reason": reason if failed else None,
        "certificate_count": None if scope == "project" else 0,
        "pages": None if scope == "project" else 1,
        "fetched_at": fetched_at,
    }


def _certificate_row(
    item: Cert, first_seen_at: datetime, seen_at: datetime, run_id: str
) -> dict[str, Any]:
    return {
        "project_id": item.project_id,
        "username": item.username,
        "cert_id": item.cert_id,
        "serial_hex": serial_hex(item.cert_id),
        "subject": f"CN={item.username}",
        "created_at": item.created_at,
        "not_after": item.not_after,
        "first_seen_at": first_seen_at,
        "last_seen_at": seen_at,
        "last_run_id": run_id,
    }


# A small fleet for the command tests: two projects, two runs a day apart, the last one
# finished 55 minutes before T0.
PROD = "aaaaaaaaaaaaaaaaaaaaaaaa"
STAGING = "bbbbbbbbbbbbbbbbbbbbbbbb"
PROJECT_NAMES = {PROD: "prod", STAGING: "staging"}
DAY = timedelta(days=1)
ALICE = cert(PROD, "alice", 11, T0 + 10 * DAY)  # one certificate, 10 days left
BOB = cert(PROD, "bob", 12, T0 + 40 * DAY)  # 40 days left
CAROL_OLD = cert(STAGING, "carol", 13, T0 + 3 * DAY)  # rotated: the old one expires soon,
CAROL_NEW = cert(STAGING, "carol", 14, T0 + 80 * DAY)  # the new one in 80 days
DAVE = cert(PROD, "dave", 15, T0 - timedelta(hours=12))  # expired, never rotated
DAVE_OLDER = cert(PROD, "dave", 16, T0 - 40 * DAY)  # expired long ago, superseded
ERIN = cert(STAGING, "erin", 17, T0 + 5 * DAY)  # stale: staging failed in the last run
FRANK = cert(PROD, "frank", 18, T0 + 20 * DAY)  # deleted in the last run
FIRST_RUN_AT = T0 - DAY - timedelta(hours=1)
LAST_RUN_AT = T0 - timedelta(hours=1)


def record_reporting_fleet(fixture: ViewFixture) -> None:
    """Record the two runs of the command-test fleet (see the constants above)."""
    fixture.record_run(
        FIRST_RUN_AT,
        {
            (PROD, "alice"): [ALICE],
            (PROD, "bob"): [BOB],
            (STAGING, "carol"): [CAROL_OLD, CAROL_NEW],
            (PROD, "dave"): [DAVE],
            (STAGING, "erin"): [ERIN],
            (PROD, "frank"): [FRANK],
        },
        project_names=PROJECT_NAMES,
    )
    # DAVE_OLDER expired before the first run; load it as an earlier run would have.
    fixture.load(
        certificates=[_certificate_row(DAVE_OLDER, T0 - 100 * DAY, T0 - 41 * DAY, "run000")]
    )
    fixture.record_run(
        LAST_RUN_AT,
        {
            (PROD, "alice"): [ALICE],
            (PROD, "bob"): [BOB],
            (STAGING, "carol"): "skipped",
            (PROD, "dave"): "empty",
            (STAGING, "erin"): "skipped",
            (PROD, "frank"): "not_found",
        },
        failed_projects={STAGING: "GET /api/atlas/v2/groups/bbbb failed with HTTP 503"},
        project_names=PROJECT_NAMES,
    )


@contextmanager
def database_locked(database: Path) -> Iterator[int]:
    """Hold `database` open read-write in a child process; yields the child's PID."""
    script = (
        "import sys, time, duckdb\n"
        "connection = duckdb.connect(sys.argv[1])\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(database)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        yield child.pid
    finally:
        child.kill()
        child.wait(timeout=10)
