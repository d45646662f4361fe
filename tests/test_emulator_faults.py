"""Fault injection: every kind, the matching rules, times and seeded probability."""

import json
import time
from urllib.parse import quote

import pytest
import requests

from pipelines.emulator import AtlasEmulator, FaultRule, FleetConfig
from pipelines.emulator.faults import MALFORMED_VARIANTS


def managed_user_with_certs(emulator: AtlasEmulator, minimum: int = 2) -> tuple[str, str]:
    for project_id, username, _ in emulator.fleet_truth():
        if len(emulator.store.certs(project_id, username)) >= minimum:
            return project_id, username
    raise AssertionError("no MANAGED user with enough certificates")


def certs_url(emulator: AtlasEmulator, project_id: str, username: str) -> str:
    return (
        f"{emulator.base_url}/api/atlas/v2/groups/{project_id}/databaseUsers/"
        f"{quote(username, safe='')}/certs"
    )


def groups_url(emulator: AtlasEmulator) -> str:
    return f"{emulator.base_url}/api/atlas/v2/groups"


def test_status_fault_fires_times_then_stops(atlas_emulator, atlas_session):
    rule = atlas_emulator.faults.add(FaultRule(route="groups", kind="status", status=503, times=2))

    statuses = [atlas_session.get(groups_url(atlas_emulator)).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert rule.fired == 2
    assert atlas_emulator.stats.count(route="groups", status=503) == 2


def test_status_fault_json_bodies(atlas_emulator, atlas_session):
    atlas_emulator.faults.add(FaultRule(kind="status", status=500, times=1))
    atlas_emulator.faults.add(FaultRule(kind="status", status=503, times=1, retry_after=7))

    internal = atlas_session.get(groups_url(atlas_emulator))
    unavailable = atlas_session.get(groups_url(atlas_emulator))

    assert internal.json()["errorCode"] == "UNEXPECTED_ERROR"
    assert unavailable.json()["errorCode"] == "SERVICE_UNAVAILABLE"
    assert unavailable.headers["Retry-After"] == "7"
    assert unavailable.headers["Content-Type"] == "application/json"


def test_status_fault_html_503(atlas_emulator, atlas_session):
    atlas_emulator.faults.add(FaultRule(kind="status", status=503, html=True, times=1))

    response = atlas_session.get(groups_url(atlas_emulator))

    assert response.status_code == 503
    assert response.headers["Content-Type"] == "text/html"
    assert response.text.startswith("<html>")
    with pytest.raises(ValueError):
        response.json()


@pytest.mark.parametrize("with_headers", [True, False])
def test_rate_limit_fault(atlas_emulator, atlas_session, with_headers):
    atlas_emulator.faults.add(
        FaultRule(kind="rate_limit", with_headers=with_headers, retry_after=3, times=1)
    )

    response = atlas_session.get(groups_url(atlas_emulator))

    assert response.status_code == 429
    assert response.json()["errorCode"] == "RATE_LIMITED_TOKEN_BUCKET"
    assert ("Retry-After" in response.headers) is with_headers
    assert ("RateLimit-Remaining" in response.headers) is with_headers
    if with_headers:
        assert response.headers["Retry-After"] == "3"


def test_rate_limit_as_400_fault(atlas_emulator, atlas_session):
    atlas_emulator.faults.add(FaultRule(kind="rate_limit_400", times=1))
    atlas_emulator.faults.add(
        FaultRule(kind="rate_limit_400", error_code="RATE_LIMITED_IP", times=1)
    )

    first = atlas_session.get(groups_url(atlas_emulator))
    second = atlas_session.get(groups_url(atlas_emulator))

    assert first.status_code == second.status_code == 400
    assert first.json()["errorCode"] == "RATE_LIMITED"
    assert second.json()["errorCode"] == "RATE_LIMITED_IP"


def test_timeout_while_paging_only_deep_pages_with_count(atlas_emulator, atlas_session):
    atlas_emulator.faults.add(FaultRule(route="certs", kind="timeout_while_paging"))
    project_id, username = managed_user_with_certs(atlas_emulator)
    url = certs_url(atlas_emulator, project_id, username)

    first_page = atlas_session.get(url, params={"itemsPerPage": 1})
    deep_page = atlas_session.get(url, params={"itemsPerPage": 1, "pageNum": 2})
    deep_without_count = atlas_session.get(
        url, params={"itemsPerPage": 1, "pageNum": 2, "includeCount": "false"}
    )

    assert first_page.status_code == 200
    assert deep_page.status_code == 500
    assert deep_page.json()["errorCode"] == "TIMEOUT_WHILE_PAGING"
    assert deep_without_count.status_code == 200


def test_latency_fault_delays(atlas_emulator, atlas_session):
    atlas_emulator.faults.add(FaultRule(kind="latency", seconds=0.2, jitter=0.1, times=1))

    started = time.perf_counter()
    response = atlas_session.get(groups_url(atlas_emulator))
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert 0.2 <= elapsed < 2.0
    assert atlas_emulator.stats.entries[-1].fault == "latency"


def test_slow_fault_exceeds_client_timeout(atlas_emulator, atlas_session):
    atlas_emulator.faults.add(FaultRule(kind="slow", seconds=2, times=1))

    with pytest.raises(requests.exceptions.ReadTimeout):
        atlas_session.get(groups_url(atlas_emulator), timeout=0.3)

    assert atlas_session.get(groups_url(atlas_emulator), timeout=5).status_code == 200


def test_reset_fault_drops_connection(atlas_emulator, atlas_session):
    atlas_emulator.faults.add(FaultRule(kind="reset", times=1))

    with pytest.raises(requests.exceptions.ConnectionError):
        atlas_session.get(groups_url(atlas_emulator))

    assert atlas_session.get(groups_url(atlas_emulator)).status_code == 200


def test_truncated_json_fault(atlas_emulator, atlas_session):
    atlas_emulator.faults.add(FaultRule(kind="truncated_json", times=1))

    response = atlas_session.get(groups_url(atlas_emulator))

    assert response.status_code == 200
    assert len(response.content) == int(response.headers["Content-Length"])
    with pytest.raises(ValueError):
        json.loads(response.content)


def test_truncated_json_incomplete_fault(atlas_emulator, atlas_session):
    atlas_emulator.faults.add(FaultRule(kind="truncated_json", variant="incomplete", times=1))

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        atlas_session.get(groups_url(atlas_emulator))

    assert atlas_session.get(groups_url(atlas_emulator)).status_code == 200


def test_invalid_json_fault(atlas_emulator, atlas_session):
    atlas_emulator.faults.add(FaultRule(kind="invalid_json", times=1))

    response = atlas_session.get(groups_url(atlas_emulator))

    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_user_deleted_fault(atlas_emulator, atlas_session):
    project_id, username = managed_user_with_certs(atlas_emulator)
    atlas_emulator.faults.add(FaultRule(route="certs", kind="user_deleted", username=username))
    url = certs_url(atlas_emulator, project_id, username)

    response = atlas_session.get(url)

    assert response.status_code == 404
    assert response.json()["errorCode"] == "USERNAME_NOT_FOUND"
    assert atlas_emulator.store.find_user(project_id, username) is None


@pytest.mark.parametrize("variant", MALFORMED_VARIANTS)
def test_malformed_variants(atlas_emulator, atlas_session, variant):
    project_id, username = managed_user_with_certs(atlas_emulator)
    atlas_emulator.faults.add(FaultRule(route="certs", kind="malformed", variant=variant))
    expected = atlas_emulator.store.certs(project_id, username)

    response = atlas_session.get(certs_url(atlas_emulator, project_id, username))

    assert response.status_code == 200
    if variant == "id_leading_zeros":
        assert f'"_id":000{expected[0].id}' in response.text
        with pytest.raises(ValueError):
            response.json()
        return
    body = response.json()
    items = body["results"]
    if variant == "results_not_list":
        assert isinstance(items, dict)
        assert items["0"]["_id"] == expected[0].id
        return
    first = items[0]
    if variant == "missing_dates":
        assert "createdAt" not in first
        assert "notAfter" not in first
    elif variant == "non_string_dates":
        assert first["notAfter"] == int(expected[0].not_after.timestamp() * 1000)
    elif variant == "id_string":
        assert first["_id"] == str(expected[0].id)
    elif variant == "extra_fields":
        assert first["unexpectedItemField"] == "injected"
        assert "unexpectedField" in body
    elif variant == "pem_in_item":
        assert first["pem"].startswith("-----BEGIN CERTIFICATE-----")


def test_fault_matches_username_and_page(atlas_emulator, atlas_session):
    project_id, username = managed_user_with_certs(atlas_emulator)
    atlas_emulator.faults.add(
        FaultRule(route="certs", kind="status", status=500, username=username, page_num=2)
    )
    url = certs_url(atlas_emulator, project_id, username)

    page_one = atlas_session.get(url, params={"itemsPerPage": 1})
    page_two = atlas_session.get(url, params={"itemsPerPage": 1, "pageNum": 2})
    other_route = atlas_session.get(groups_url(atlas_emulator))

    assert page_one.status_code == 200
    assert page_two.status_code == 500
    assert other_route.status_code == 200


def test_fault_matches_project(atlas_emulator, atlas_session):
    first, second = atlas_emulator.store.projects()[:2]
    atlas_emulator.faults.add(
        FaultRule(route="group", kind="status", status=503, project_id=second.id)
    )
    base = f"{atlas_emulator.base_url}/api/atlas/v2/groups"

    assert atlas_session.get(f"{base}/{first.id}").status_code == 200
    assert atlas_session.get(f"{base}/{second.id}").status_code == 503


def test_oauth_token_route_fault(atlas_emulator):
    atlas_emulator.faults.add(FaultRule(route="oauth_token", kind="status", status=503, times=1))

    response = requests.post(
        f"{atlas_emulator.base_url}/api/oauth/token",
        auth=atlas_emulator.demo_service_account,
        data={"grant_type": "client_credentials"},
    )

    assert response.status_code == 503


def fault_sequence(seed: int) -> list[int]:
    with AtlasEmulator(seed=seed, fleet=FleetConfig(projects=1, users_per_project=0)) as emulator:
        emulator.faults.add(FaultRule(kind="status", status=503, probability=0.5))
        session = requests.Session()
        session.auth = requests.auth.HTTPDigestAuth(*emulator.demo_api_key)
        session.headers["Accept"] = "application/vnd.atlas.2023-01-01+json"
        return [session.get(groups_url(emulator)).status_code for _ in range(20)]


def test_probability_is_deterministic_under_seed():
    first = fault_sequence(seed=3)
    again = fault_sequence(seed=3)
    other = fault_sequence(seed=4)

    assert first == again
    assert first != other
    assert set(first) == {200, 503}


@pytest.mark.parametrize(
    ("spec", "field", "value"),
    [
        ("route=certs,kind=status,status=503,times=2", "times", 2),
        ("kind=latency,seconds=0.5,jitter=0.25", "jitter", 0.25),
        ("kind=rate_limit,with_headers=false", "with_headers", False),
        ("kind=malformed,variant=id_string,probability=0.5", "variant", "id_string"),
    ],
)
def test_fault_rule_from_spec(spec, field, value):
    assert getattr(FaultRule.from_spec(spec), field) == value


@pytest.mark.parametrize(
    "spec",
    ["kind=explode", "route=clusters", "kind=malformed", "times=abc", "bogus=1", "kind"],
)
def test_fault_rule_rejects_invalid_spec(spec):
    with pytest.raises(ValueError):
        FaultRule.from_spec(spec)
