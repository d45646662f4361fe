"""The views after real pipeline runs against the Atlas emulator on loopback."""

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from pipelines.cli import main
from pipelines.emulator import AtlasEmulator, FaultRule
from tests.pipeline_helpers import PipelineRunner
from tests.view_fixtures import query

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def emulator():
    with AtlasEmulator(seed=5, fleet=None, start_time=START) as emulator:
        yield emulator


@pytest.fixture
def runner(emulator, tmp_path):
    return PipelineRunner(emulator, tmp_path)


def _rows(runner, sql, *parameters, now):
    with duckdb.connect(str(runner.database), read_only=True) as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute("set variable atlas_certs_now = ?::timestamptz", [now])
        return query(connection, sql, *parameters)


def test_deleted_user_certificates_vanish(emulator, runner):
    project = emulator.store.add_project(name="payments")
    emulator.store.add_user(project.id, "CN=alice")
    emulator.store.add_user(project.id, "CN=bob")
    alice_cert = emulator.store.create_cert(project.id, "CN=alice", months=3)
    bob_cert = emulator.store.create_cert(project.id, "CN=bob", months=3)
    runner.run()

    emulator.clock.advance(timedelta(days=1))
    emulator.store.delete_user(project.id, "CN=alice")
    second_run_at = emulator.clock.now()
    runner.run()

    certificates = _rows(
        runner,
        "select cert_id, state, vanished_at from atlas_certs.certificate_status",
        now=second_run_at + timedelta(hours=1),
    )
    states = {row["cert_id"]: row["state"] for row in certificates}
    assert states == {alice_cert.id: "vanished", bob_cert.id: "active"}
    vanished_at = next(
        row["vanished_at"] for row in certificates if row["cert_id"] == alice_cert.id
    )
    assert vanished_at == second_run_at

    users = _rows(
        runner,
        "select username, is_deleted, expiry_window from atlas_certs.user_certificate_status",
        now=second_run_at + timedelta(hours=1),
    )
    assert {row["username"]: row["is_deleted"] for row in users} == {
        "CN=alice": True,
        "CN=bob": False,
    }

    later = alice_cert.not_after + timedelta(days=1)
    after_not_after = _rows(
        runner,
        "select state from atlas_certs.certificate_status where cert_id = ?",
        alice_cert.id,
        now=later,
    )
    assert after_not_after == [{"state": "vanished"}]

    history = _rows(
        runner,
        "select certificates_vanished from atlas_certs.run_history order by started_at",
        now=later,
    )
    assert [row["certificates_vanished"] for row in history] == [0, 1]


def test_failed_project_certificates_stale(emulator, runner, capsys):
    healthy = emulator.store.add_project(name="healthy")
    failing = emulator.store.add_project(name="failing")
    emulator.store.add_user(healthy.id, "CN=carol")
    emulator.store.add_user(failing.id, "CN=dave")
    emulator.store.create_cert(healthy.id, "CN=carol", months=12)
    # dave's one-month certificate expires within a week of the runs; a failed fetch of his
    # project must not silence that.
    dave_cert = emulator.store.create_cert(
        failing.id, "CN=dave", months=1, created_at=START - timedelta(days=26)
    )
    runner.run()

    emulator.clock.advance(timedelta(days=1))
    emulator.faults.add(
        FaultRule(route="database_users", kind="status", status=403, project_id=failing.id)
    )
    second_run_at = emulator.clock.now()
    report = runner.run()
    now = second_run_at + timedelta(hours=1)

    assert report.status == "partial"
    rows = _rows(
        runner,
        "select username, state, stale_since, expiry_window from atlas_certs.certificate_status",
        now=now,
    )
    by_user = {row["username"]: row for row in rows}
    assert by_user["CN=dave"]["state"] == "stale"
    assert by_user["CN=dave"]["stale_since"] == second_run_at
    assert by_user["CN=dave"]["expiry_window"] == "0-7d"
    assert by_user["CN=carol"]["state"] == "active"

    projects = _rows(
        runner,
        "select project_id, project_name, is_stale, stale_user_count "
        "from atlas_certs.project_status where is_stale",
        now=now,
    )
    assert projects == [
        {
            "project_id": failing.id,
            "project_name": "failing",
            "is_stale": True,
            "stale_user_count": 1,
        }
    ]

    code = main(
        [
            "check",
            "--database",
            str(runner.database),
            "--now",
            now.isoformat(),
        ]
    )
    status_line = capsys.readouterr().out.splitlines()[0]
    assert code == 2
    assert status_line.startswith("ATLAS-CERTS CRITICAL - 1 user expires within 7d |")
    assert " stale=1 " in status_line
    assert timedelta(0) < dave_cert.not_after - now < timedelta(days=7)
