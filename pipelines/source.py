"""The dlt source: one walk over Atlas that fills the `certificates`, `fetches` and `projects`
tables, plus the `runs` resource that records each run."""

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from pipelines.settings import (
    CERTIFICATES_TABLE,
    FETCHES_TABLE,
    PIPELINE_NAME,
    PROJECTS_TABLE,
    RUNS_TABLE,
)
from pipelines.traversal import Traversal


def _column(data_type: str, nullable: bool = True) -> dict[str, Any]:
    # A new dict per column: dlt writes the column name into the hint it is given.
    column: dict[str, Any] = {"data_type": data_type, "nullable": nullable}
    if data_type == "timestamp":
        column["timezone"] = True
    return column


CERTIFICATE_COLUMNS: dict[str, Any] = {
    "project_id": _column("text", nullable=False),
    "username": _column("text", nullable=False),
    # Atlas's `_id` is the certificate serial, an int64, so BIGINT stores every value exactly.
    "cert_id": _column("bigint", nullable=False),
    "serial_hex": _column("text", nullable=False),
    "subject": _column("text"),
    "created_at": _column("timestamp", nullable=False),
    "not_after": _column("timestamp", nullable=False),
    "first_seen_at": _column("timestamp", nullable=False),
    "last_seen_at": _column("timestamp", nullable=False),
    "last_run_id": _column("text", nullable=False),
}

FETCH_COLUMNS: dict[str, Any] = {
    "run_id": _column("text", nullable=False),
    "scope": _column("text", nullable=False),  # "project" or "user"
    "project_id": _column("text", nullable=False),
    "username": _column("text"),
    "status": _column("text", nullable=False),  # ok, empty, not_found, failed or skipped
    "http_status": _column("bigint"),
    "error_code": _column("text"),
    "reason": _column("text"),
    "certificate_count": _column("bigint"),
    "pages": _column("bigint"),
    "fetched_at": _column("timestamp", nullable=False),
}

PROJECT_COLUMNS: dict[str, Any] = {
    "project_id": _column("text", nullable=False),
    "name": _column("text"),
    "org_id": _column("text"),
    "last_seen_at": _column("timestamp", nullable=False),
}

RUN_COLUMNS: dict[str, Any] = {
    "run_id": _column("text", nullable=False),
    "started_at": _column("timestamp", nullable=False),
    "finished_at": _column("timestamp", nullable=False),
    "status": _column("text", nullable=False),  # succeeded, partial or failed
    "project_filter": _column("text"),
    "projects_fetched": _column("bigint"),
    "projects_failed": _column("bigint"),
    "users_fetched": _column("bigint"),
    "users_failed": _column("bigint"),
    "certificates_seen": _column("bigint"),
    "certificates_new": _column("bigint"),
    "requests": _column("bigint"),
    "error": _column("text"),
}


@dlt.source(name=PIPELINE_NAME, max_table_nesting=0)
def atlas_certs(traversal: Traversal) -> DltResource:
    """Certificates of every configured project and user, with the fetch log of the run.

    The walk uses dlt's RESTClient directly rather than the declarative rest_api source,
    because rest_api fails the whole extract on one failed user and cannot emit the per-user
    fetch rows that let the views tell "expired" from "vanished" from "not fetched".
    No incremental cursor is used: dlt keeps one cursor per resource, not per user, and
    would drop the older certificates of a newly added user.
    """
    return certificates_resource(traversal)


def certificates_resource(traversal: Traversal) -> DltResource:
    """Build one resource for the walk whose rows each name their table.

    Each table gets its own hints as a table variant, because variants inherit the
    resource's base hints and the base therefore carries none."""
    resource = dlt.resource(traversal.rows(), name=CERTIFICATES_TABLE)
    for table_name, hints in TABLE_HINTS.items():
        resource.apply_hints(table_name=table_name, create_table_variant=True, **hints)
    return resource


# Parquet, not dlt's default insert_values for DuckDB: DuckDB parsing one INSERT statement per
# file made loading 75,000 certificates take 25 s and 2.3 GB. jsonl is fast too, but DuckDB's
# read_json cannot load the empty file that creates a table with no rows yet.
LOADER_FILE_FORMAT = "parquet"

TABLE_HINTS: dict[str, dict[str, Any]] = {
    CERTIFICATES_TABLE: {
        "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
        "primary_key": ("project_id", "username", "cert_id"),
        "columns": CERTIFICATE_COLUMNS,
        "file_format": LOADER_FILE_FORMAT,
    },
    FETCHES_TABLE: {
        "write_disposition": "append",
        "columns": FETCH_COLUMNS,
        "file_format": LOADER_FILE_FORMAT,
    },
    PROJECTS_TABLE: {
        "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
        "primary_key": "project_id",
        "columns": PROJECT_COLUMNS,
        "file_format": LOADER_FILE_FORMAT,
    },
    RUNS_TABLE: {
        "write_disposition": "append",
        "columns": RUN_COLUMNS,
        "file_format": LOADER_FILE_FORMAT,
    },
}


def runs_resource(run_row: dict[str, Any]) -> DltResource:
    def rows() -> Iterator[dict[str, Any]]:
        yield run_row

    return dlt.resource(rows, name=RUNS_TABLE, **TABLE_HINTS[RUNS_TABLE])
