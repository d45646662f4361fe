"""Malformed Atlas payloads fail one user with a reason, or are normalised; never the run."""

import pytest

from pipelines.emulator import AtlasEmulator, FaultRule
from tests.pipeline_helpers import PipelineRunner

USERS = ["CN=target", "CN=bystander-1", "CN=bystander-2"]


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3")


@pytest.fixture
def emulator():
    with AtlasEmulator(seed=12, fleet=None) as emulator:
        project = emulator.store.add_project(name="payloads")
        for username in USERS:
            emulator.store.add_user(project.id, username)
            emulator.store.create_cert(project.id, username)
            emulator.store.create_cert(project.id, username, months=6)
        yield emulator


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        ("missing_dates", "createdAt"),
        ("non_string_dates", "createdAt"),
        ("id_leading_zeros", "not JSON"),
        ("results_not_list", "results"),
    ],
)
def test_malformed_payload_fails_one_user(emulator, tmp_path, variant, reason):
    emulator.faults.add(
        FaultRule(route="certs", kind="malformed", variant=variant, username=USERS[0])
    )
    runner = PipelineRunner(emulator, tmp_path)

    report = runner.run()

    assert report.status == "partial"
    failed = runner.query(
        "select username, reason from atlas_certs.fetches where status = 'failed'"
    )
    assert len(failed) == 1
    assert failed[0][0] == USERS[0]
    assert reason in failed[0][1]
    loaded_users = {key[1] for key in runner.certificates()}
    assert loaded_users == set(USERS[1:])


@pytest.mark.parametrize("variant", ["id_string", "extra_fields", "pem_in_item"])
def test_tolerable_variant_is_normalised(emulator, tmp_path, variant):
    emulator.faults.add(
        FaultRule(route="certs", kind="malformed", variant=variant, username=USERS[0])
    )
    runner = PipelineRunner(emulator, tmp_path)
    project = emulator.store.projects()[0]
    expected_ids = {cert.id for cert in emulator.store.certs(project.id, USERS[0])}

    report = runner.run()

    assert report.status == "succeeded"
    loaded = runner.query(
        "select cert_id from atlas_certs.certificates where username = ?", [USERS[0]]
    )
    assert {row[0] for row in loaded} == expected_ids
    assert all(isinstance(row[0], int) for row in loaded)
    columns = runner.query(
        "select column_name from information_schema.columns "
        "where table_schema = 'atlas_certs' and table_name = 'certificates'"
    )
    assert {name for (name,) in columns} == {
        "project_id", "username", "cert_id", "serial_hex", "subject", "created_at",
        "not_after", "first_seen_at", "last_seen_at", "last_run_id", "_dlt_load_id", "_dlt_id",
    }
