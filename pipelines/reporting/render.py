"""Render a report as a table for people, or as JSON or CSV for programs."""

import csv
import io
import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from pipelines.reporting.durations import format_age, format_duration
from pipelines.reporting.health import Health, RunSummary
from pipelines.reporting.report import CertificateEntry, Report, UserEntry

FORMATS = ("table", "json", "csv")

# CSV columns: one row per certificate, with the rotation status of its user.
CSV_COLUMNS = (
    "project_id",
    "project_name",
    "username",
    "cert_id",
    "serial_hex",
    "not_after",
    "days_left",
    "seconds_left",
    "expiry_window",
    "state",
    "stale_since",
    "superseded",
    "user_needs_rotation",
)


def format_timestamp(moment: datetime | None) -> str | None:
    """Format as RFC 3339 UTC with whole seconds and a Z suffix: 2026-06-01T00:00:00Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(report: Report, output_format: str) -> str:
    if output_format == "json":
        return render_json(report)
    if output_format == "csv":
        return render_csv(report)
    return render_table(report)


def render_json(report: Report) -> str:
    """Render the whole report as one JSON object (cert ids as strings, see _json_entry)."""
    document = {
        "generated_at": format_timestamp(report.generated_at),
        "within_seconds": int(report.within.total_seconds()),
        "project_ids": list(report.project_ids),
        "certificates": [_json_entry(entry) for entry in report.certificates],
        "users": [_json_entry(entry) for entry in report.users],
        "health": _json_health(report.health),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_csv(report: Report) -> str:
    """Render the certificates as CSV with a header row; the users and health are left out."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in report.certificates:
        values = _json_entry(entry)
        writer.writerow(_csv_value(values[column]) for column in CSV_COLUMNS)
    return buffer.getvalue()


def render_table(report: Report) -> str:
    window = format_duration(report.within)
    lines = [f"Report as of {_human_time(report.generated_at)} UTC, window {window}", ""]
    if not report.certificates and not report.users:
        lines.append(f"No certificate or database user expires within {window}.")
        lines.append("")
    if report.users:
        lines.append(f"Database users whose latest certificate expires within {window}:")
        lines.extend(_table(_user_header(), [_user_cells(entry) for entry in report.users]))
        lines.append("")
    if report.certificates:
        lines.append(f"Certificates expiring within {window}:")
        lines.extend(
            _table(
                _certificate_header(),
                [_certificate_cells(entry) for entry in report.certificates],
            )
        )
        lines.append("")
    lines.extend(_health_lines(report.health))
    return "\n".join(lines) + "\n"


def _json_entry(entry: CertificateEntry | UserEntry) -> dict[str, Any]:
    # Certificate ids are int64 serials; JSON parsers that read numbers as doubles (JavaScript,
    # jq before 1.7) would round them, so they are written as decimal strings.
    document = {}
    for key, value in asdict(entry).items():
        if isinstance(value, datetime):
            value = format_timestamp(value)
        elif key in ("cert_id", "latest_cert_id") and value is not None:
            value = str(value)
        document[key] = value
    return document


def _json_health(health: Health) -> dict[str, Any]:
    return {
        "last_run": _json_run(health.last_run),
        "last_successful_run": _json_run(health.last_successful_run),
        "stale_projects": [
            {
                key: format_timestamp(value) if isinstance(value, datetime) else value
                for key, value in asdict(project).items()
            }
            for project in health.stale_projects
        ],
    }


def _json_run(run: RunSummary | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "run_id": run.run_id,
        "started_at": format_timestamp(run.started_at),
        "finished_at": format_timestamp(run.finished_at),
        "status": run.status,
        "age_seconds": int(run.age_seconds),
    }


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _certificate_header() -> list[str]:
    return ["PROJECT", "USERNAME", "SERIAL", "NOT AFTER (UTC)", "DAYS LEFT", "WINDOW", "STATE"]


def _certificate_cells(entry: CertificateEntry) -> list[str]:
    state = entry.state
    if entry.superseded:
        state += ", superseded"
    return [
        entry.project_name or entry.project_id,
        entry.username,
        entry.serial_hex,
        _human_time(entry.not_after),
        str(entry.days_left),
        entry.expiry_window,
        state,
    ]


def _user_header() -> list[str]:
    return ["PROJECT", "USERNAME", "LATEST NOT AFTER (UTC)", "DAYS LEFT", "WINDOW", "NOTE"]


def _user_cells(entry: UserEntry) -> list[str]:
    notes = []
    if entry.valid_certificate_count == 0:
        notes.append("no valid certificate")
    if entry.is_stale:
        notes.append(f"stale since {_human_time(entry.stale_since)}")
    return [
        entry.project_name or entry.project_id,
        entry.username,
        _human_time(entry.latest_not_after),
        str(entry.days_left),
        entry.expiry_window,
        ", ".join(notes),
    ]


def _health_lines(health: Health) -> list[str]:
    lines = ["Pipeline health:"]
    lines.append(f"  last run             {_describe_run(health.last_run)}")
    lines.append(f"  last successful run  {_describe_run(health.last_successful_run)}")
    if not health.stale_projects:
        lines.append("  stale projects       none")
        return lines
    lines.append(f"  stale projects       {len(health.stale_projects)}")
    for project in health.stale_projects:
        name = (
            f"{project.project_name} ({project.project_id})"
            if project.project_name
            else (project.project_id)
        )
        if project.is_stale:
            detail = (
                f"project fetch failing since {_human_time(project.stale_since)}: "
                f"{project.last_fetch_reason or 'no reason recorded'}"
            )
        else:
            detail = f"{_count(project.failed_user_count, 'user fetch', 'user fetches')} failing"
        stale = _count(project.stale_user_count, "user", "users")
        lines.append(f"    - {name}: {detail}; {stale} stale")
    return lines


def _describe_run(run: RunSummary | None) -> str:
    if run is None:
        return "none"
    return (
        f"{_human_time(run.finished_at)} ({format_age(run.age_seconds)} ago), "
        f"{run.status}, run id {run.run_id}"
    )


def _count(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _human_time(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[index]) for row in [header, *rows]) for index in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
