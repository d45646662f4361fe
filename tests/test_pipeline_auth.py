"""Both credential kinds against the emulator, and no secret or PEM left in any file."""


import threading
import time
from datetime import timedelta

import pytest
import requests
from requests.auth import HTTPDigestAuth

from pipelines.emulator import AtlasEmulator, FaultRule
from pipelines.run import RunFailed
from tests.pipeline_helpers import PipelineRunner

CLIENT_ID = "mdb_sa_id_0123456789abcdef"
CLIENT_SECRET = "mdb_sa_sk_secret-value-never-stored"


@pytest.fixture
def emulator():
    with AtlasEmulator(seed=4, fleet=None) as emulator:
        project = emulator.store.add_project(name="auth")
        for index in range(6):
            username = f"CN=service-{index}"
            emulator.store.add_user(project.id, username)
            emulator.store.create_cert(project.id, username)
        yield emulator


def test_digest_api_key_loads(emulator, tmp_path):
    runner = PipelineRunner(emulator, tmp_path)
    report = runner.run()
    assert report.status == "succeeded"
    assert len(runner.certificates()) == 6


def test_service_account_loads(emulator, tmp_path):
    emulator.add_service_account(CLIENT_ID, CLIENT_SECRET)
    runner = PipelineRunner(emulator, tmp_path)

    report = runner.run(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    assert report.status == "succeeded"
    assert len(runner.certificates()) == 6
    assert emulator.stats.count(route="oauth_token") == 1  # one token shared by all workers


def test_token_expiring_mid_run_is_renewed(emulator, tmp_path):
    emulator.add_service_account(CLIENT_ID, CLIENT_SECRET)
    emulator.clock.set(emulator.clock.now())
    emulator.faults.add(FaultRule(route="certs", kind="latency", seconds=0.2))
    runner = PipelineRunner(emulator, tmp_path)

    def expire_tokens_after_two_users():
        deadline = time.monotonic() + 30
        while emulator.stats.count(route="certs", status=200) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        emulator.clock.advance(timedelta(hours=2))  # every issued token is now expired

    expirer = threading.Thread(target=expire_tokens_after_two_users)
    expirer.start()
    report = runner.run(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, workers=1)
    expirer.join()

    assert report.status == "succeeded"
    assert len(runner.certificates()) == 6
    assert emulator.stats.count(route="oauth_token") == 2
    assert emulator.stats.count(route="certs", status=401) == 1


def test_revoked_token_is_fetched_again(emulator, tmp_path):
    emulator.add_service_account(CLIENT_ID, CLIENT_SECRET)
    runner = PipelineRunner(emulator, tmp_path)
    runner.run(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    emulator.revoke_tokens()
    tokens_before = emulator.stats.count(route="oauth_token")

    report = runner.run(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    assert report.status == "succeeded"
    assert emulator.stats.count(route="oauth_token") == tokens_before + 1


def test_wrong_key_stops_run_at_once(emulator, tmp_path):
    runner = PipelineRunner(emulator, tmp_path)
    with pytest.raises(RunFailed, match="rejected the credentials"):
        runner.run(public_key="unknown", private_key="wrong-private-key")
    assert len(emulator.stats.entries) <= 2  # the challenge and one signed attempt


def test_no_secret_or_pem_in_any_file(emulator, tmp_path):
    public_key, private_key = emulator.demo_api_key
    emulator.add_service_account(CLIENT_ID, CLIENT_SECRET)
    project = emulator.store.projects()[0]
    emulator.faults.add(FaultRule(route="certs", kind="malformed", variant="pem_in_item"))
    pem = requests.post(
        f"{emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers/CN=service-0/certs",
        json={"monthsUntilExpiration": 2},
        auth=HTTPDigestAuth(public_key, private_key),
        headers={"Accept": "application/vnd.atlas.2023-01-01+json"},
        timeout=10,
    ).text
    assert "PRIVATE KEY" in pem
    runner = PipelineRunner(emulator, tmp_path)

    runner.run()
    runner.run(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    tokens = list(emulator.authenticator._tokens)
    assert tokens

    secrets = [private_key, CLIENT_SECRET, *tokens, "BEGIN", "PRIVATE KEY", pem.splitlines()[1]]
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.suffix == ".duckdb" for path in files)
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"{secret[:12]}... found in {path}"
