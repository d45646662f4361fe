"""A fleet of thousands of users under random faults ends equal to the emulator's truth."""

import time

import pytest

from pipelines.emulator import AtlasEmulator, FaultRule, FleetConfig
from tests.pipeline_helpers import PipelineRunner, truth

# Bounds that keep the soak test short on a 2-core machine.
MAX_SECONDS = 240
FAULT_PROBABILITY = 0.03


@pytest.mark.slow
def test_soak_random_faults_match_truth(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "8")
    monkeypatch.setenv("RUNTIME__REQUEST_TIMEOUT", "2")
    fleet = FleetConfig(orgs=3, projects=24, users_per_project=100, heavy_users=2)
    with AtlasEmulator(seed=99, fleet=fleet) as emulator:
        for kind in ("reset", "truncated_json", "invalid_json"):
            emulator.faults.add(FaultRule(route="*", kind=kind, probability=FAULT_PROBABILITY))
        emulator.faults.add(
            FaultRule(route="*", kind="status", status=503, probability=FAULT_PROBABILITY)
        )
        emulator.faults.add(
            FaultRule(route="*", kind="rate_limit", retry_after=1, probability=0.002)
        )
        runner = PipelineRunner(emulator, tmp_path)
        users = sum(len(emulator.store.users(p.id)) for p in emulator.store.projects())

        started = time.monotonic()
        report = runner.run(workers=16)
        elapsed = time.monotonic() - started
        expected = truth(emulator)
        injected = sum(rule.fired for rule in emulator.faults.rules)
        requests = len(emulator.stats.entries)

    assert users >= 2_000
    assert injected > 50  # the faults really fired
    assert report.status == "succeeded", report.counters.failures[:5]
    assert set(runner.certificates()) == expected
    assert requests < 3 * report.requests  # retries stayed bounded
    assert elapsed < MAX_SECONDS
