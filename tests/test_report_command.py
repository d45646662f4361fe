"""`atlas-certs report`: table, JSON and CSV output, filters and database errors."""

import csv
import io
import json

import duckdb
import pytest

from pipelines.cli import main
from pipelines.reporting.render import CSV_COLUMNS
from tests.view_fixtures import (
    PROD,
    STAGING,
    T0,
    ViewFixture,
    database_locked,
    record_reporting_fleet,
)

NOW = "2026-06-01T00:00:00Z"  # T0


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fixture = ViewFixture(tmp_path_factory.mktemp("report"))
    record_reporting_fleet(fixture)
    fixture.apply_views()
    return fixture


def _report(capsys, database, *arguments):
    code = main(["report", "--database", str(database), "--now", NOW, *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_report_json_shape(fleet, capsys):
    code, out, err = _report(capsys, fleet.database, "--format", "json")
    document = json.loads(out)

    assert code == 0
    assert err == ""
    assert set(document) == {
        "generated_at",
        "within_seconds",
        "project_ids",
        "certificates",
        "users",
        "health",
    }
    assert document["generated_at"] == NOW
    assert document["within_seconds"] == 30 * 86400
    assert document["project_ids"] == []
    assert set(document["health"]) == {"last_run", "last_successful_run", "stale_projects"}


def test_report_json_certificates_by_urgency(fleet, capsys):
    _, out, _ = _report(capsys, fleet.database, "--format", "json")
    certificates = json.loads(out)["certificates"]

    assert [(entry["username"], entry["cert_id"]) for entry in certificates] == [
        ("dave", "15"),
        ("erin", "17"),
        ("alice", "11"),
        ("carol", "13"),
    ]
    assert [entry["state"] for entry in certificates] == ["expired", "stale", "active", "stale"]
    assert [entry["superseded"] for entry in certificates] == [False, False, False, True]
    assert certificates[2] == {
        "project_id": PROD,
        "project_name": "prod",
        "username": "alice",
        "cert_id": "11",
        "serial_hex": "0B",
        "not_after": "2026-06-11T00:00:00Z",
        "days_left": 10,
        "seconds_left": 864000,
        "expiry_window": "7-14d",
        "state": "active",
        "stale_since": None,
        "superseded": False,
        "user_needs_rotation": True,
    }


def test_report_json_users_skip_rotated_and_deleted(fleet, capsys):
    _, out, _ = _report(capsys, fleet.database, "--format", "json")
    users = json.loads(out)["users"]

    assert [entry["username"] for entry in users] == ["dave", "erin", "alice"]
    assert users[0]["expiry_window"] == "expired"
    assert users[0]["latest_cert_id"] == "15"
    assert users[0]["valid_certificate_count"] == 0
    assert users[1]["is_stale"] is True
    assert users[1]["stale_since"] == "2026-05-31T23:00:00Z"


def test_report_json_health(fleet, capsys):
    _, out, _ = _report(capsys, fleet.database, "--format", "json")
    health = json.loads(out)["health"]

    assert health["last_run"] == {
        "run_id": "run002",
        "started_at": "2026-05-31T23:00:00Z",
        "finished_at": "2026-05-31T23:05:00Z",
        "status": "partial",
        "age_seconds": 3300,
    }
    assert health["last_successful_run"]["run_id"] == "run002"
    assert [project["project_id"] for project in health["stale_projects"]] == [STAGING]
    staging = health["stale_projects"][0]
    assert staging["is_stale"] is True
    assert staging["stale_user_count"] == 2
    assert staging["stale_since"] == "2026-05-31T23:00:00Z"
    assert "HTTP 503" in staging["last_fetch_reason"]


def test_report_csv_shape(fleet, capsys):
    code, out, _ = _report(capsys, fleet.database, "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))

    assert code == 0
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row[2] for row in rows[1:]] == ["dave", "erin", "alice", "carol"]
    alice = dict(zip(CSV_COLUMNS, rows[3], strict=True))
    assert alice["cert_id"] == "11"
    assert alice["not_after"] == "2026-06-11T00:00:00Z"
    assert alice["stale_since"] == ""
    assert alice["superseded"] == "false"
    assert alice["user_needs_rotation"] == "true"


def test_report_table_sections(fleet, capsys):
    code, out, _ = _report(capsys, fleet.database)
    lines = out.splitlines()

    assert code == 0
    users_at = lines.index("Database users whose latest certificate expires within 30d:")
    certificates_at = lines.index("Certificates expiring within 30d:")
    health_at = lines.index("Pipeline health:")
    assert lines[0] == "Report as of 2026-06-01 00:00:00 UTC, window 30d"
    assert users_at < certificates_at < health_at
    user_rows = lines[users_at + 2 : certificates_at - 1]
    assert [row.split()[1] for row in user_rows] == ["dave", "erin", "alice"]
    certificate_rows = lines[certificates_at + 2 : health_at - 1]
    assert [row.split()[1] for row in certificate_rows] == ["dave", "erin", "alice", "carol"]
    assert certificate_rows[-1].endswith("stale, superseded")
    assert "  stale projects       1" in lines
    assert any(line.startswith("    - staging (bbbb") for line in lines)
    assert lines[-1].endswith("; 2 users stale")


def test_report_within_widens_window(fleet, capsys):
    _, out, _ = _report(capsys, fleet.database, "--format", "json", "--within", "45d")
    document = json.loads(out)

    assert document["within_seconds"] == 45 * 86400
    assert "bob" in [entry["username"] for entry in document["users"]]


def test_report_project_filter(fleet, capsys):
    _, out, _ = _report(capsys, fleet.database, "--format", "json", "--project", STAGING)
    document = json.loads(out)

    assert document["project_ids"] == [STAGING]
    assert {entry["project_id"] for entry in document["certificates"]} == {STAGING}
    assert [entry["username"] for entry in document["users"]] == ["erin"]
    assert [project["project_id"] for project in document["health"]["stale_projects"]] == [STAGING]


def test_report_nothing_in_window(fleet, capsys):
    code, out, _ = _report(capsys, fleet.database, "--within", "1h", "--project", STAGING)

    assert code == 0
    assert out.splitlines()[2] == "No certificate or database user expires within 1h."


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--within", "3x"], "Error: invalid --within value '3x': expected a whole number"),
        (["--within", "30"], "Error: invalid --within value '30'"),
        (["--now", "2026-06-01"], "Error: invalid --now value '2026-06-01'"),
        (["--project", "prod"], "Error: invalid --project value 'prod'"),
    ],
    ids=["unit", "no-unit", "now-without-offset", "project-name"],
)
def test_report_invalid_usage(fleet, capsys, arguments, message):
    code = main(["report", "--database", str(fleet.database), *arguments])
    err = capsys.readouterr().err

    assert code == 2
    assert err.startswith(message)


def test_report_missing_database(tmp_path, capsys):
    database = tmp_path / "absent.duckdb"

    code, out, err = _report(capsys, database)

    assert code == 1
    assert out == ""
    assert (
        err == f"Error: database {database} not found; check --database, or run "
        "`atlas-certs run` to create it\n"
    )
    assert not database.exists()


def test_report_database_named_like_dataset(tmp_path, capsys):
    code, _, err = _report(capsys, tmp_path / "atlas_certs.duckdb")

    assert code == 2
    assert "ambiguous" in err


def test_report_locked_database(fleet, capsys):
    with database_locked(fleet.database) as pid:
        code, out, err = _report(capsys, fleet.database)

    assert code == 1
    assert out == ""
    assert f"database {fleet.database} is locked by " in err
    assert f"(PID {pid})" in err


def test_report_database_without_views(tmp_path, capsys):
    fixture = ViewFixture(tmp_path)
    fixture.load()

    code, _, err = _report(capsys, fixture.database)

    assert code == 1
    assert "lacks the views" in err
    assert f"atlas-certs views --database {fixture.database}" in err


def test_report_leaves_database_unlocked(fleet, capsys):
    _report(capsys, fleet.database)

    with duckdb.connect(str(fleet.database)) as connection:
        assert connection.execute("select count(*) from atlas_certs.runs").fetchone()[0] == 2


def test_report_frozen_clock_reproducible(fleet, capsys):
    _, first, _ = _report(capsys, fleet.database, "--format", "json")
    _, second, _ = _report(capsys, fleet.database, "--format", "json")

    assert first == second
    assert json.loads(first)["generated_at"] == T0.strftime("%Y-%m-%dT%H:%M:%SZ")
