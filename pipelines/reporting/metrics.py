"""Prometheus metrics for the node_exporter textfile collector.

The collector serves the file as it was last written, so the file carries timestamps
(`…_timestamp_seconds`) that alert rules compare with `time()`. The `…_remaining_seconds`
gauges are as of the moment the file was written.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pipelines.reporting.health import current_time, query_rows, read_health, snapshot

CERTIFICATE_LABELS = ("project_id", "project_name", "username", "serial")
USER_LABELS = ("project_id", "project_name", "username")
PROJECT_LABELS = ("project_id", "project_name")
FETCH_ERROR_LABELS = ("project_id", "project_name", "scope", "reason")


@dataclass
class MetricsSnapshot:
    """The rows behind the metrics, read in one short read-only session."""

    now: datetime
    certificates: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    fetch_errors: list[dict[str, Any]] = field(default_factory=list)
    last_run_at: datetime | None = None
    last_successful_run_at: datetime | None = None


def read_snapshot(connection: duckdb.DuckDBPyConnection) -> MetricsSnapshot:
    """Read every row the metrics need.

    Certificates: those active or stale, plus the expired latest certificate of each user
    that has no valid one left, so its expired flag keeps reporting until the user gets a
    new certificate or is deleted. Superseded expired certificates and vanished ones are
    left out, which keeps the number of series bounded by the live fleet.
    """
    tables = {
        "user_certificate_status": snapshot(connection, "user_certificate_status"),
        "project_status": snapshot(connection, "project_status"),
    }
    health = read_health(connection)
    return MetricsSnapshot(
        now=current_time(connection),
        certificates=query_rows(connection, _CERTIFICATES_SQL.format(**tables)),
        users=query_rows(connection, _USERS_SQL.format(**tables)),
        projects=query_rows(connection, _PROJECTS_SQL.format(**tables)),
        fetch_errors=query_rows(connection, _FETCH_ERRORS_SQL.format(**tables)),
        last_run_at=health.last_run.finished_at if health.last_run else None,
        last_successful_run_at=(
            health.last_successful_run.finished_at if health.last_successful_run else None
        ),
    )


def build_registry(snapshot: MetricsSnapshot) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return registry


def write_metrics(snapshot: MetricsSnapshot, textfile: Path) -> None:
    """Write the metrics to `textfile` atomically (a temporary file in the same folder is
    renamed over it), so the collector never reads a half-written file."""
    write_to_textfile(str(textfile), build_registry(snapshot))


class SnapshotCollector(Collector):
    """Yields the metric families of one snapshot."""

    def __init__(self, snapshot: MetricsSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot
        yield from self._certificate_metrics()
        yield from self._user_metrics()

        stale_users = GaugeMetricFamily(
            "atlas_certs_project_stale_users",
            "Database users of the project whose latest fetch failed or was skipped.",
            labels=PROJECT_LABELS,
        )
        for row in snapshot.projects:
            stale_users.add_metric(_labels(row, PROJECT_LABELS), row["stale_user_count"])
        yield stale_users

        fetch_errors = GaugeMetricFamily(
            "atlas_certs_fetch_errors",
            "Projects (scope=project) or database users (scope=user) whose latest fetch "
            "failed, by reason: the Atlas error code, http_<status>, or no_response.",
            labels=FETCH_ERROR_LABELS,
        )
        for row in snapshot.fetch_errors:
            fetch_errors.add_metric(_labels(row, FETCH_ERROR_LABELS), row["failures"])
        yield fetch_errors

        if snapshot.last_run_at is not None:
            yield GaugeMetricFamily(
                "atlas_certs_last_run_timestamp_seconds",
                "End time of the latest pipeline run, whatever its status.",
                value=snapshot.last_run_at.timestamp(),
            )
        if snapshot.last_successful_run_at is not None:
            yield GaugeMetricFamily(
                "atlas_certs_last_successful_run_timestamp_seconds",
                "End time of the latest run that loaded data (status succeeded or partial).",
                value=snapshot.last_successful_run_at.timestamp(),
            )

    def _certificate_metrics(self) -> Iterator[Metric]:
        not_after = GaugeMetricFamily(
            "atlas_certs_certificate_not_after_timestamp_seconds",
            "Expiry time (notAfter) of the certificate.",
            labels=CERTIFICATE_LABELS,
        )
        remaining = GaugeMetricFamily(
            "atlas_certs_certificate_remaining_seconds",
            "Seconds from the time the file was written to notAfter; negative once expired.",
            labels=CERTIFICATE_LABELS,
        )
        expired = GaugeMetricFamily(
            "atlas_certs_certificate_expired",
            "1 if the certificate has expired, else 0.",
            labels=CERTIFICATE_LABELS,
        )
        for row in self.snapshot.certificates:
            labels = _labels(row, CERTIFICATE_LABELS)
            not_after.add_metric(labels, row["not_after"].timestamp())
            remaining.add_metric(labels, self._remaining(row["not_after"]))
            expired.add_metric(labels, 1 if row["state"] == "expired" else 0)
        yield not_after
        yield remaining
        yield expired

    def _user_metrics(self) -> Iterator[Metric]:
        latest = GaugeMetricFamily(
            "atlas_certs_user_latest_not_after_timestamp_seconds",
            "Expiry time of the database user's latest certificate: when it has no valid "
            "certificate left.",
            labels=USER_LABELS,
        )
        needs_rotation = GaugeMetricFamily(
            "atlas_certs_user_needs_rotation",
            "1 if the user's latest certificate expires within the warning window (30 days "
            "by default) or has expired, else 0.",
            labels=USER_LABELS,
        )
        stale = GaugeMetricFamily(
            "atlas_certs_user_stale",
            "1 if the user's latest fetch failed or was skipped, so its certificates keep "
            "their last known state, else 0.",
            labels=USER_LABELS,
        )
        for row in self.snapshot.users:
            labels = _labels(row, USER_LABELS)
            latest.add_metric(labels, row["latest_not_after"].timestamp())
            needs_rotation.add_metric(labels, 1 if row["needs_rotation"] else 0)
            stale.add_metric(labels, 1 if row["is_stale"] else 0)
        yield latest
        yield needs_rotation
        yield stale

    def _remaining(self, not_after: datetime) -> float:
        return (not_after - self.snapshot.now).total_seconds()


def _labels(row: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    return ["" if row[name] is None else str(row[name]) for name in names]


_CERTIFICATES_SQL = """
select
    certificates.project_id,
    certificates.project_name,
    certificates.username,
    certificates.serial_hex as serial,
    certificates.not_after,
    certificates.state,
from atlas_certs.certificate_status as certificates
left join {user_certificate_status} as users
    on certificates.project_id = users.project_id
    and certificates.username = users.username
where
    certificates.state in ('active', 'stale')
    or (
        certificates.state = 'expired'
        and not users.is_deleted
        and certificates.cert_id = users.latest_cert_id
    )
order by certificates.project_id, certificates.username, certificates.cert_id
"""

_USERS_SQL = """
select
    project_id,
    project_name,
    username,
    latest_not_after,
    needs_rotation,
    is_stale,
from {user_certificate_status}
where not is_deleted and latest_not_after is not null
order by project_id, username
"""

_PROJECTS_SQL = """
select
    project_id,
    project_name,
    stale_user_count,
from {project_status}
order by project_id
"""

_FETCH_ERRORS_SQL = """
with

failed_fetches as (
    select
        project_id,
        'project' as scope,
        last_fetch_error_code as error_code,
        last_fetch_http_status as http_status,
    from {project_status}
    where last_fetch_status = 'failed'
    union all
    select
        project_id,
        'user' as scope,
        last_fetch_error_code as error_code,
        last_fetch_http_status as http_status,
    from atlas_certs.int_user_fetch_state
    where last_fetch_status = 'failed'
),

projects as (
    select
        project_id,
        project_name,
    from {project_status}
)

select
    failed_fetches.project_id,
    projects.project_name,
    failed_fetches.scope,
    coalesce(
        failed_fetches.error_code,
        'http_' || failed_fetches.http_status,
        'no_response'
    ) as reason,
    count(*) as failures,
from failed_fetches
left join projects
    on failed_fetches.project_id = projects.project_id
group by all
order by all
"""
