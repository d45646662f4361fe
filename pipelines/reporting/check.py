"""A monitoring-plugin check in the Nagios and Icinga convention.

The plugin prints one status line, `ATLAS-CERTS <STATE> - <summary> | <performance data>`,
followed by one line per database user that needs attention, and exits with the state's code.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from pipelines.reporting.durations import format_duration
from pipelines.reporting.health import RunSummary, current_time, query_rows, read_health

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
# Worst first: a known CRITICAL or WARNING is never hidden behind UNKNOWN, so a database
# that no run has updated lately cannot silence an expiry alert.
SEVERITY = (CRITICAL, WARNING, UNKNOWN, OK)
PLUGIN_NAME = "ATLAS-CERTS"
# Users listed below the status line; the rest are counted.
MAX_LISTED_USERS = 20


@dataclass(frozen=True)
class CheckThresholds:
    warning: timedelta
    critical: timedelta
    max_age: timedelta


@dataclass
class CheckResult:
    state: int
    summary: str
    perfdata: list[tuple[str, str]] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def render(self) -> str:
        line = f"{PLUGIN_NAME} {STATE_NAMES[self.state]} - {self.summary}"
        if self.perfdata:
            line += " | " + " ".join(f"{label}={value}" for label, value in self.perfdata)
        return "\n".join([line, *self.details]) + "\n"


def unknown(summary: str) -> CheckResult:
    return CheckResult(UNKNOWN, summary)


def run_check(connection: duckdb.DuckDBPyConnection, thresholds: CheckThresholds) -> CheckResult:
    """Judge every database user by its latest certificate, and the data by its age.

    Counts, each user in one of them: expired (no valid certificate left), critical (the
    latest certificate expires within `critical`), warning (within `warning` but not
    `critical`). Deleted users are left out. Stale users (latest fetch failed or skipped)
    keep their last known certificates and are judged like the others. Users stale for
    longer than `max_age` also raise WARNING. No successful run within `max_age` is UNKNOWN.
    """
    now = current_time(connection)
    users = query_rows(
        connection,
        """
        select
            project_id,
            project_name,
            username,
            latest_not_after,
            days_left,
            is_stale,
            stale_since,
            case
                when latest_not_after <= atlas_certs.now_utc() then 'expired'
                when latest_not_after <= atlas_certs.now_utc() + to_seconds(?::bigint)
                    then 'critical'
                when latest_not_after <= atlas_certs.now_utc() + to_seconds(?::bigint)
                    then 'warning'
                else 'ok'
            end as level,
        from atlas_certs.user_certificate_status
        where not is_deleted and latest_not_after is not null
        order by latest_not_after, project_id, username
        """,
        [int(thresholds.critical.total_seconds()), int(thresholds.warning.total_seconds())],
    )
    health = read_health(connection)
    return _judge(users, health.last_successful_run, now, thresholds)


def _judge(
    users: list[dict[str, Any]],
    last_successful_run: RunSummary | None,
    now: datetime,
    thresholds: CheckThresholds,
) -> CheckResult:
    expired = [user for user in users if user["level"] == "expired"]
    critical = [user for user in users if user["level"] == "critical"]
    warning = [user for user in users if user["level"] == "warning"]
    stale = [user for user in users if user["is_stale"]]
    long_stale = [
        user
        for user in stale
        if user["stale_since"] is not None and now - user["stale_since"] > thresholds.max_age
    ]
    warning_window = format_duration(thresholds.warning)
    critical_window = format_duration(thresholds.critical)
    max_age = format_duration(thresholds.max_age)

    states = [OK]
    problems = []
    if expired:
        states.append(CRITICAL)
        problems.append(f"{_users(len(expired))} expired")
    if critical:
        states.append(CRITICAL)
        problems.append(
            f"{_users(len(critical))} {_expire(len(critical))} within {critical_window}"
        )
    if warning:
        states.append(WARNING)
        users_text = _users(len(warning), more=bool(expired or critical))
        problems.append(f"{users_text} {_expire(len(warning))} within {warning_window}")
    if long_stale:
        states.append(WARNING)
        problems.append(f"{_users(len(long_stale))} stale for over {max_age}")
    if last_successful_run is None:
        states.append(UNKNOWN)
        problems.append("no successful run recorded")
    elif last_successful_run.age_seconds > thresholds.max_age.total_seconds():
        states.append(UNKNOWN)
        problems.append(
            f"no successful run within {max_age} "
            f"(last finished {int(last_successful_run.age_seconds)}s ago)"
        )

    state = next(candidate for candidate in SEVERITY if candidate in states)
    summary = ", ".join(problems) or (f"{_users(len(users))}, none expire within {warning_window}")
    perfdata = [
        ("users", str(len(users))),
        ("critical", str(len(critical))),
        ("warning", str(len(warning))),
        ("expired", str(len(expired))),
        ("stale", str(len(stale))),
    ]
    if last_successful_run is not None:
        perfdata.append(("last_run_age", f"{max(0, int(last_successful_run.age_seconds))}s"))
    listed = expired + critical + warning
    listed += [user for user in long_stale if user["level"] == "ok"]
    return CheckResult(state, summary, perfdata, _detail_lines(listed))


def _detail_lines(users: list[dict[str, Any]]) -> list[str]:
    """List each user that needs attention: `CRITICAL: project/username expires …`."""
    lines = []
    for user in users[:MAX_LISTED_USERS]:
        label = "STALE" if user["level"] == "ok" else user["level"].upper()
        name = user["project_name"] or user["project_id"]
        not_after = user["latest_not_after"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if user["level"] == "expired":
            when = f"expired {not_after}"
        else:
            when = f"expires {not_after} ({user['days_left']}d left)"
        stale = " (stale: latest fetch failed)" if user["is_stale"] else ""
        lines.append(f"{label}: {name}/{user['username']} {when}{stale}")
    hidden = len(users) - MAX_LISTED_USERS
    if hidden > 0:
        lines.append(f"... and {hidden} more; see `atlas-certs report`")
    return lines


def _users(count: int, more: bool = False) -> str:
    noun = "user" if count == 1 else "users"
    return f"{count} more {noun}" if more else f"{count} {noun}"


def _expire(count: int) -> str:
    return "expires" if count == 1 else "expire"
