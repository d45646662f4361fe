"""The walk can start before `rows()` is called, and stops cleanly when it is closed."""

import time
from datetime import UTC, datetime

import pyarrow
import pytest

from pipelines.atlas.client import AtlasClient
from pipelines.emulator import AtlasEmulator, FaultRule, FleetConfig
from pipelines.traversal import RunAborted, Traversal
from tests.pipeline_helpers import PipelineRunner

WORKERS = 2


@pytest.fixture
def emulator():
    with AtlasEmulator(seed=5, fleet=FleetConfig.demo()) as emulator:
        yield emulator


def _traversal(emulator, **overrides) -> Traversal:
    config = PipelineRunner(emulator, None).config(workers=WORKERS, **overrides)
    return Traversal(AtlasClient(config), config, "run-1", lambda: datetime.now(UTC))


def _wait_for_requests(emulator, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(emulator.stats.entries) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_start_sends_requests_before_rows(emulator):
    traversal = _traversal(emulator)

    traversal.start()
    _wait_for_requests(emulator, 3)
    traversal.close()

    routes = [entry.route for entry in emulator.stats.entries]
    assert "groups" in routes
    assert "database_users" in routes


def test_close_stops_queued_fetches(emulator):
    emulator.faults.add(FaultRule(route="*", kind="latency", seconds=0.05))
    traversal = _traversal(emulator)
    traversal.start()
    _wait_for_requests(emulator, 2)

    traversal.close()
    served = len(emulator.stats.entries)
    time.sleep(0.3)

    # Discovery, its Digest challenge and at most two rounds of queued project fetches.
    assert served <= 2 + 2 * WORKERS * 2
    assert len(emulator.stats.entries) == served


def test_rows_after_start_match_a_direct_walk(emulator):
    started = _traversal(emulator)
    started.start()
    _wait_for_requests(emulator, 3)
    direct = _traversal(emulator)

    def certificates(traversal: Traversal) -> set[tuple[str, str, int]]:
        keys = set()
        for item in traversal.rows():
            data = getattr(item, "data", None)
            if isinstance(data, pyarrow.Table) and item.meta.table_name == "certificates":
                table = data.select(["project_id", "username", "cert_id"])
                keys.update(tuple(row.values()) for row in table.to_pylist())
        return keys

    assert certificates(started) == certificates(direct)
    assert started.counters.users_fetched == direct.counters.users_fetched > 0


def test_discovery_failure_surfaces_in_rows(emulator):
    traversal = _traversal(emulator, public_key="unknown", private_key="wrong-private-key")
    traversal.start()

    with pytest.raises(RunAborted, match="rejected the credentials"):
        list(traversal.rows())
