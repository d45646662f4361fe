"""`atlas-certs run` as cron runs it: a child process, settings from the environment."""

import os
import subprocess
import sys

import pytest

from pipelines.emulator import AtlasEmulator, FaultRule
from pipelines.run import run_lock

USERS = ["CN=cli-1", "CN=cli-2"]


@pytest.fixture
def emulator():
    with AtlasEmulator(seed=14, fleet=None) as emulator:
        project = emulator.store.add_project(name="cli")
        for username in USERS:
            emulator.store.add_user(project.id, username)
            emulator.store.create_cert(project.id, username)
        yield emulator


def _environment(emulator, tmp_path, **settings):
    public_key, private_key = emulator.demo_api_key
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "RUNTIME__", "DESTINATION__"))
    }
    environment.update(
        {
            "DLT_DATA_DIR": str(tmp_path / "dlt"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.01",
            "RUNTIME__REQUEST_MAX_ATTEMPTS": "2",
            "SOURCES__ATLAS_CERTS__BASE_URL": emulator.base_url,
            "SOURCES__ATLAS_CERTS__PROJECTS": "*",
            "SOURCES__ATLAS_CERTS__CREDENTIALS__PUBLIC_KEY": public_key,
            "SOURCES__ATLAS_CERTS__CREDENTIALS__PRIVATE_KEY": private_key,
        }
    )
    environment.update(settings)
    return environment


def _run(emulator, tmp_path, *arguments, **settings):
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--database", "certs.duckdb", *arguments],
        cwd=tmp_path,
        env=_environment(emulator, tmp_path, **settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_success_exits_0(emulator, tmp_path):
    result = _run(emulator, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "succeeded" in result.stdout
    assert "2 fetched, 0 failed" in result.stdout
    assert (tmp_path / "certs.duckdb").exists()


def test_partial_run_exits_3(emulator, tmp_path):
    emulator.faults.add(FaultRule(route="certs", kind="status", status=503, username=USERS[0]))
    result = _run(emulator, tmp_path)
    assert result.returncode == 3, result.stderr
    assert "1 fetched, 1 failed" in result.stdout
    assert "CN=cli-1" in result.stdout


def test_rejected_credentials_exit_1(emulator, tmp_path):
    result = _run(
        emulator, tmp_path, SOURCES__ATLAS_CERTS__CREDENTIALS__PRIVATE_KEY="not-the-key"
    )
    assert result.returncode == 1
    assert "rejected the credentials" in result.stderr
    assert "not-the-key" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("arguments", "settings", "message"),
    [
        ((), {"SOURCES__ATLAS_CERTS__PROJECTS": '["nope"]'}, "sources.atlas_certs.projects"),
        ((), {"SOURCES__ATLAS_CERTS__ITEMS_PER_PAGE": "900"}, "items_per_page"),
        ((), {"SOURCES__ATLAS_CERTS__BASE_URL": "http://atlas.example.invalid"}, "base_url"),
        (("--project", "ABC"), {}, "--project"),
        (("--database", "atlas_certs.duckdb"), {}, "ambiguous"),
    ],
    ids=["project-id", "page-size", "plain-http", "project-flag", "database-name"],
)
def test_invalid_usage_exits_2_before_requests(emulator, tmp_path, arguments, settings, message):
    result = _run(emulator, tmp_path, *arguments, **settings)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.startswith("Error: ")
    assert emulator.stats.count() == 0


def test_concurrent_run_exits_1(emulator, tmp_path):
    with run_lock(tmp_path / "certs.duckdb"):
        result = _run(emulator, tmp_path)
    assert result.returncode == 1
    assert "another atlas-certs run" in result.stderr
    assert emulator.stats.count() == 0
