"""The certificates and database users that expire within a window, most urgent first."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from pipelines.reporting.health import (
    Health,
    project_filter_sql,
    query_rows,
    read_health,
    snapshot,
)


@dataclass(frozen=True)
class CertificateEntry:
    project_id: str
    project_name: str | None
    username: str
    cert_id: int
    serial_hex: str
    not_after: datetime
    days_left: int
    seconds_left: int
    expiry_window: str
    state: str  # active, stale or expired
    stale_since: datetime | None
    # The user has a certificate valid longer than this one, so this one needs no action.
    superseded: bool
    user_needs_rotation: bool


@dataclass(frozen=True)
class UserEntry:
    project_id: str
    project_name: str | None
    username: str
    latest_cert_id: int
    latest_serial_hex: str
    latest_not_after: datetime
    days_left: int
    seconds_left: int
    expiry_window: str
    needs_rotation: bool
    is_in_last_third_of_lifetime: bool
    valid_certificate_count: int
    is_stale: bool
    stale_since: datetime | None


@dataclass(frozen=True)
class Report:
    within: timedelta
    project_ids: tuple[str, ...]
    certificates: list[CertificateEntry]
    users: list[UserEntry]
    health: Health

    @property
    def generated_at(self) -> datetime:
        return self.health.now


def build_report(
    connection: duckdb.DuckDBPyConnection,
    within: timedelta,
    project_ids: tuple[str, ...] = (),
) -> Report:
    """Read what expires within `within` of now, in the given projects (all when empty).

    Certificates: every active or stale certificate whose not_after is at most `within`
    away, plus the expired latest certificate of each user that has no valid one left.
    Users: every database user that is not deleted and whose latest certificate expires
    within `within` or has expired. Both lists are sorted by not_after, soonest (or longest
    expired) first; superseded certificates come after the ones that need action.
    """
    return Report(
        within=within,
        project_ids=project_ids,
        certificates=_certificates(connection, within, project_ids),
        users=_users(connection, within, project_ids),
        health=read_health(connection, project_ids),
    )


def _certificates(
    connection: duckdb.DuckDBPyConnection, within: timedelta, project_ids: tuple[str, ...]
) -> list[CertificateEntry]:
    rows = query_rows(
        connection,
        f"""
        select
            certificates.project_id,
            certificates.project_name,
            certificates.username,
            certificates.cert_id,
            certificates.serial_hex,
            certificates.not_after,
            certificates.days_left,
            certificates.seconds_left,
            certificates.expiry_window,
            certificates.state,
            certificates.stale_since,
            coalesce(certificates.not_after < users.latest_not_after, false) as superseded,
            coalesce(users.needs_rotation, false) as user_needs_rotation,
        from atlas_certs.certificate_status as certificates
        left join {snapshot(connection, "user_certificate_status")} as users
            on certificates.project_id = users.project_id
            and certificates.username = users.username
        where
            {project_filter_sql("certificates.project_id")}
            and (
                (
                    certificates.state in ('active', 'stale')
                    and certificates.not_after
                        <= atlas_certs.now_utc() + to_seconds(?::bigint)
                )
                or (
                    certificates.state = 'expired'
                    and not users.is_deleted
                    and certificates.cert_id = users.latest_cert_id
                )
            )
        order by
            superseded,
            certificates.not_after,
            certificates.project_id,
            certificates.username,
            certificates.cert_id
        """,
        [list(project_ids), list(project_ids), int(within.total_seconds())],
    )
    return [CertificateEntry(**row) for row in rows]


def _users(
    connection: duckdb.DuckDBPyConnection, within: timedelta, project_ids: tuple[str, ...]
) -> list[UserEntry]:
    rows = query_rows(
        connection,
        f"""
        select
            project_id,
            project_name,
            username,
            latest_cert_id,
            latest_serial_hex,
            latest_not_after,
            days_left,
            seconds_left,
            expiry_window,
            needs_rotation,
            is_in_last_third_of_lifetime,
            valid_certificate_count,
            is_stale,
            stale_since,
        from {snapshot(connection, "user_certificate_status")}
        where
            {project_filter_sql("project_id")}
            and not is_deleted
            and latest_not_after <= atlas_certs.now_utc() + to_seconds(?::bigint)
        order by latest_not_after, project_id, username
        """,
        [list(project_ids), list(project_ids), int(within.total_seconds())],
    )
    return [UserEntry(**row) for row in rows]
