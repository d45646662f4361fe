"""The emulator clock, in process and through the /_emulator/ control endpoints."""

import http.client
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import requests

from pipelines.emulator import EmulatorClock

START = datetime(2026, 6, 2, 13, 56, 22, tzinfo=UTC)


def test_clock_follows_real_time_by_default():
    clock = EmulatorClock()

    before = datetime.now(UTC)
    now = clock.now()

    assert not clock.frozen
    assert abs(now - before) < timedelta(seconds=1)
    assert now.tzinfo is not None


def test_clock_set_freezes_and_advance_moves():
    clock = EmulatorClock()
    clock.set(START)

    assert clock.now() == START
    assert clock.frozen
    assert clock.advance(timedelta(days=2)) == START + timedelta(days=2)
    assert clock.now() == START + timedelta(days=2)


def test_clock_returns_to_real_time():
    clock = EmulatorClock(START)

    clock.follow_real_time()

    assert not clock.frozen
    assert clock.now() > START


def test_clock_rejects_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        EmulatorClock().set(datetime(2026, 1, 1))


def test_advancing_clock_expires_certs(atlas_emulator, atlas_session):
    store = atlas_emulator.store
    atlas_emulator.clock.set(START)
    project = store.projects()[0]
    store.add_user(project.id, "clocked")
    cert = store.create_cert(project.id, "clocked", months=1)
    url = (
        f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers/"
        f"{quote('clocked')}/certs"
    )

    before = atlas_session.get(url).json()
    atlas_emulator.clock.set(cert.not_after - timedelta(seconds=1))
    just_before = atlas_session.get(url).json()
    atlas_emulator.clock.set(cert.not_after)
    after = atlas_session.get(url).json()

    assert cert.created_at == START
    assert before["totalCount"] == 1
    assert just_before["totalCount"] == 1
    assert after["totalCount"] == 0


def control_url(emulator, resource: str) -> str:
    return f"{emulator.base_url}/_emulator/{resource}"


def test_control_clock_set_and_advance(atlas_emulator):
    set_response = requests.post(
        control_url(atlas_emulator, "clock"), json={"now": "2026-06-02T13:56:22Z"}
    )
    advance_response = requests.post(
        control_url(atlas_emulator, "clock"), json={"advanceSeconds": 3600}
    )
    read = requests.get(control_url(atlas_emulator, "clock"))

    assert set_response.status_code == 200
    assert set_response.json() == {"now": "2026-06-02T13:56:22Z", "frozen": True}
    assert advance_response.json()["now"] == "2026-06-02T14:56:22Z"
    assert read.json() == {"now": "2026-06-02T14:56:22Z", "frozen": True}
    assert atlas_emulator.clock.now() == START + timedelta(hours=1)


def test_control_clock_back_to_real_time(atlas_emulator):
    atlas_emulator.clock.set(START)

    response = requests.post(control_url(atlas_emulator, "clock"), json={"realTime": True})

    assert response.json()["frozen"] is False
    assert not atlas_emulator.clock.frozen


@pytest.mark.parametrize(
    "body",
    [
        {"now": "not a date"},
        {"now": "2026-06-02T13:56:22"},
        {"advanceSeconds": "1"},
        {"realTime": False},
        {},
        {"now": "2026-06-02T13:56:22Z", "advanceSeconds": 1},
    ],
)
def test_control_clock_rejects_invalid_change(atlas_emulator, body):
    response = requests.post(control_url(atlas_emulator, "clock"), json=body)

    assert response.status_code == 400
    assert "error" in response.json()


def test_control_needs_no_atlas_auth(atlas_emulator):
    response = requests.get(control_url(atlas_emulator, "health"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_control_rejects_foreign_host_header(atlas_emulator):
    response = requests.get(
        control_url(atlas_emulator, "health"), headers={"Host": "evil.example:80"}
    )

    assert response.status_code == 403


def test_control_accepts_localhost_name(atlas_emulator):
    connection = http.client.HTTPConnection("127.0.0.1", atlas_emulator.port, timeout=5)
    connection.request(
        "GET", "/_emulator/health", headers={"Host": f"localhost:{atlas_emulator.port}"}
    )

    assert connection.getresponse().status == 200
    connection.close()


def test_control_unknown_resource_is_404(atlas_emulator):
    assert requests.get(control_url(atlas_emulator, "nothing")).status_code == 404


def test_control_faults_and_stats(atlas_emulator, atlas_session):
    added = requests.post(
        control_url(atlas_emulator, "faults"),
        json={"route": "groups", "kind": "status", "status": 503, "times": 1},
    )
    failed = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups")
    listed = requests.get(control_url(atlas_emulator, "faults")).json()
    cleared = requests.delete(control_url(atlas_emulator, "faults"))
    stats = requests.get(control_url(atlas_emulator, "stats")).json()
    reset = requests.delete(control_url(atlas_emulator, "stats"))

    assert added.status_code == 201
    assert failed.status_code == 503
    assert listed["rules"][0]["fired"] == 1
    assert cleared.status_code == 204
    assert atlas_emulator.faults.rules == []
    assert stats["count"] >= 3
    assert reset.status_code == 204
    assert atlas_emulator.stats.count(route="groups") == 0


def test_control_rejects_invalid_fault(atlas_emulator):
    response = requests.post(control_url(atlas_emulator, "faults"), json={"kind": "explode"})

    assert response.status_code == 400
    assert "kind" in response.json()["error"]
