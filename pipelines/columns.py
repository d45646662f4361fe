"""Column hints of the four tables the pipeline loads; the views in sql/ rely on them."""

from typing import Any


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
