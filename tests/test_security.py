"""No secret reaches logs, errors, DuckDB, dlt state, traces or load packages."""

import logging
import re

import pytest

from pipelines.atlas.auth import AtlasDigestAuth
from pipelines.config import load_config
from pipelines.emulator import AtlasEmulator, FaultRule
from pipelines.run import RunFailed, run_pipeline

CLIENT_ID = "mdb_sa_id_security"
CLIENT_SECRET = "mdb_sa_sk_security-secret-0123456789"


@pytest.fixture
def emulator():
    with AtlasEmulator(seed=15, fleet=None) as emulator:
        project = emulator.store.add_project(name="secure")
        for index in range(3):
            emulator.store.add_user(project.id, f"CN=secure-{index}")
            emulator.store.create_cert(project.id, f"CN=secure-{index}")
        emulator.add_service_account(CLIENT_ID, CLIENT_SECRET)
        yield emulator


@pytest.fixture
def digest_headers(monkeypatch):
    """Every Digest Authorization header the pipeline computes, to search for afterwards."""
    headers: list[str] = []
    original = AtlasDigestAuth._authorization

    def recording(self, request, fields, count):
        header = original(self, request, fields, count)
        headers.append(header)
        return header

    monkeypatch.setattr(AtlasDigestAuth, "_authorization", recording)
    return headers


def _configure(monkeypatch, emulator, **credentials):
    for key in ("PUBLIC_KEY", "PRIVATE_KEY", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"SOURCES__ATLAS_CERTS__CREDENTIALS__{key}", raising=False)
    monkeypatch.setenv("SOURCES__ATLAS_CERTS__BASE_URL", emulator.base_url)
    monkeypatch.setenv("SOURCES__ATLAS_CERTS__PROJECTS", "*")
    for key, value in credentials.items():
        monkeypatch.setenv(f"SOURCES__ATLAS_CERTS__CREDENTIALS__{key.upper()}", value)


def test_secrets_absent_after_every_failure(
    emulator, tmp_path, monkeypatch, caplog, digest_headers
):
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
    caplog.set_level(logging.DEBUG)
    dlt_logger = logging.getLogger("dlt")  # dlt's logger does not propagate to the root
    dlt_logger.addHandler(caplog.handler)
    monkeypatch.setattr(dlt_logger, "level", logging.DEBUG)
    public_key, private_key = emulator.demo_api_key
    database = tmp_path / "secure.duckdb"
    errors: list[str] = []

    def attempt(**credentials):
        _configure(monkeypatch, emulator, **credentials)
        try:
            run_pipeline(
                load_config(),
                database,
                clock=emulator.clock.now,
                pipelines_dir=str(tmp_path / "dlt"),
            )
        except RunFailed as error:
            errors.append(str(error))

    key = {"public_key": public_key, "private_key": private_key}
    account = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    attempt(**key)
    emulator.faults.add(FaultRule(route="certs", kind="status", status=503, times=2))
    emulator.faults.add(FaultRule(route="certs", kind="malformed", variant="pem_in_item"))
    attempt(**key)
    attempt(public_key=public_key, private_key="wrong-" + private_key)
    attempt(**account)
    emulator.revoke_tokens()
    attempt(**account)
    attempt(client_id=CLIENT_ID, client_secret="wrong-" + CLIENT_SECRET)
    emulator.faults.add(FaultRule(route="certs", kind="invalid_json"))
    attempt(**key)

    dlt_logger.removeHandler(caplog.handler)
    tokens = list(emulator.authenticator._tokens)
    digests = [re.search(r'response="([0-9a-f]+)"', header).group(1) for header in digest_headers]
    secrets = [private_key, CLIENT_SECRET, *tokens, *digests, "PRIVATE KEY", "BEGIN CERT"]
    assert len(errors) == 2
    assert len(tokens) >= 2
    assert len(digests) >= 3

    assert "Making GET request" in caplog.text  # dlt's request log was captured too
    texts = {"log": caplog.text, "errors": "\n".join(errors)}
    for path in tmp_path.rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("latin-1")
    assert any(name.endswith("trace.pickle") for name in texts)
    assert any("load_package" in name or "/normalized/" in name or "/loaded/" in name
               for name in texts)
    for name, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"{secret[:10]}... found in {name}"
