"""HTTP behaviour: Accept-header versions, ApiError bodies, common headers, keep-alive and
concurrent connections, request bodies and IPv6 loopback."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from requests.auth import HTTPDigestAuth

NOT_ACCEPTABLE = {
    "detail": "Invalid accept header or version date.",
    "error": 406,
    "errorCode": "INVALID_VERSION_DATE",
    "parameters": [],
    "reason": "Not Acceptable",
}


def get_groups(emulator, accept: str | None) -> requests.Response:
    session = requests.Session()
    session.auth = HTTPDigestAuth(*emulator.demo_api_key)
    headers = {"Accept": accept}  # None removes requests' default */*
    return session.get(f"{emulator.base_url}/api/atlas/v2/groups", headers=headers)


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.atlas.2023-01-01+json",
        "application/vnd.atlas.2023-01-01+json;charset=utf-8",
        "application/json, application/vnd.atlas.2023-01-01+json;q=0.9",
        "APPLICATION/VND.ATLAS.2023-01-01+JSON",
    ],
)
def test_supported_version_is_accepted(atlas_emulator, accept):
    response = get_groups(atlas_emulator, accept)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.atlas.2023-01-01+json;charset=utf-8"


@pytest.mark.parametrize(
    "accept",
    [
        None,  # no Accept header at all
        "*/*",
        "application/json",
        "application/vnd.atlas.2024-08-05+json",  # exists in the API, not for this endpoint
        "application/vnd.atlas.2099-01-01+json",  # no such version
        "application/vnd.atlas.2023-1-1+json",  # malformed date
        "application/vnd.atlas.preview+json",
        "application/vnd.atlas.2023-01-01",  # missing +json
    ],
)
def test_unsupported_accept_is_406(atlas_emulator, accept):
    response = get_groups(atlas_emulator, accept)

    assert response.status_code == 406
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == NOT_ACCEPTABLE


def test_version_checked_after_authentication(atlas_emulator):
    response = requests.get(
        f"{atlas_emulator.base_url}/api/atlas/v2/groups", headers={"Accept": "application/json"}
    )

    assert response.status_code == 401


def test_v1_path_accepts_plain_json(atlas_emulator):
    project = atlas_emulator.store.projects()[0]
    atlas_emulator.store.add_user(project.id, "v1-user")
    session = requests.Session()
    session.auth = HTTPDigestAuth(*atlas_emulator.demo_api_key)

    response = session.get(
        f"{atlas_emulator.base_url}/api/atlas/v1.0/groups/{project.id}/databaseUsers/v1-user/certs"
    )

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_error_body_has_every_field(atlas_emulator, atlas_session):
    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups/{'b' * 24}")

    body = response.json()
    assert set(body) == {"detail", "error", "errorCode", "parameters", "reason"}
    assert body["error"] == response.status_code == 404
    assert body["reason"] == "Not Found"
    assert response.headers["Content-Type"] == "application/json"
    assert "X-MongoDB-Service-Version" in response.headers


def test_success_carries_rate_limit_headers(atlas_emulator, atlas_session):
    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups")

    assert int(response.headers["RateLimit-Limit"]) >= 1_000_000
    assert int(response.headers["RateLimit-Remaining"]) > 0
    assert response.headers["X-MongoDB-Service-Version"].startswith("gitHash=")


def test_keep_alive_connection_is_reused(atlas_emulator, atlas_session):
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups"
    for _ in range(5):
        assert atlas_session.get(url).status_code == 200

    response = atlas_session.get(url)

    assert response.raw.version == 11
    assert response.headers.get("Connection") != "close"
    assert atlas_emulator.open_connections == 1


def test_concurrent_keep_alive_clients(atlas_emulator):
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups"

    def client(_: int) -> list[int]:
        with requests.Session() as session:
            session.auth = HTTPDigestAuth(*atlas_emulator.demo_api_key)
            session.headers["Accept"] = "application/vnd.atlas.2023-01-01+json"
            return [session.get(url, timeout=30).status_code for _ in range(5)]

    with ThreadPoolExecutor(max_workers=100) as pool:
        statuses = [status for result in pool.map(client, range(100)) for status in result]

    assert statuses == [200] * 500


def test_chunked_body_is_411(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers/x/certs"

    response = atlas_session.post(url, data=iter([b"{}"]))

    assert response.status_code == 411
    assert response.json()["errorCode"] == "LENGTH_REQUIRED"


def test_ipv6_loopback(atlas_emulator_factory):
    try:
        emulator = atlas_emulator_factory(seed=1, host="::1")
    except OSError as error:
        pytest.skip(f"IPv6 loopback unavailable: {error}")
    session = requests.Session()
    session.auth = HTTPDigestAuth(*emulator.demo_api_key)

    response = session.get(
        f"{emulator.base_url}/api/atlas/v2/groups",
        headers={"Accept": "application/vnd.atlas.2023-01-01+json"},
    )

    assert emulator.base_url.startswith("http://[::1]:")
    assert response.status_code == 200
    assert requests.get(f"{emulator.base_url}/_emulator/health").status_code == 200
