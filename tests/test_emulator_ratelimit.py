"""Token-bucket rate limiting: 429 bodies and headers, scopes and refill."""

import time

import pytest
import requests
from requests.auth import HTTPDigestAuth

from pipelines.emulator import RateLimitConfig


def session_for(emulator, public_key: str, private_key: str) -> requests.Session:
    session = requests.Session()
    session.auth = HTTPDigestAuth(public_key, private_key)
    session.headers["Accept"] = "application/vnd.atlas.2023-01-01+json"
    return session


def test_rate_limit_off_by_default(atlas_emulator, atlas_session):
    statuses = {
        atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups").status_code
        for _ in range(30)
    }

    assert statuses == {200}


def test_bucket_empties_then_429(atlas_emulator, atlas_session):
    atlas_emulator.rate_limit = RateLimitConfig(capacity=3, refill_rate=5, refill_seconds=60)
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups"

    allowed = [atlas_session.get(url) for _ in range(3)]
    limited = atlas_session.get(url)

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [r.headers["RateLimit-Remaining"] for r in allowed] == ["2", "1", "0"]
    assert allowed[0].headers["RateLimit-Limit"] == "3"
    assert limited.status_code == 429
    assert limited.headers["RateLimit-Remaining"] == "0"
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 12
    assert limited.json() == {
        "detail": (
            f"Rate limit exceeded for api/atlas/v2/groups. Please retry after {retry_after} "
            "seconds. Request capacity: 3. Refill rate: 5 per 60 seconds."
        ),
        "error": 429,
        "errorCode": "RATE_LIMITED_TOKEN_BUCKET",
        "parameters": ["api/atlas/v2/groups", retry_after, 3, 5, 60],
        "reason": "Too Many Requests",
    }


def test_bucket_refills(atlas_emulator, atlas_session):
    atlas_emulator.rate_limit = RateLimitConfig(capacity=1, refill_rate=10, refill_seconds=1)
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups"
    assert atlas_session.get(url).status_code == 200
    assert atlas_session.get(url).status_code == 429

    time.sleep(0.15)

    assert atlas_session.get(url).status_code == 200


def test_credential_scope_separates_keys(atlas_emulator, atlas_session):
    atlas_emulator.rate_limit = RateLimitConfig(capacity=1, refill_rate=1, refill_seconds=600)
    atlas_emulator.add_api_key("second01", "second-secret")
    other = session_for(atlas_emulator, "second01", "second-secret")
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups"

    assert atlas_session.get(url).status_code == 200
    assert atlas_session.get(url).status_code == 429
    assert other.get(url).status_code == 200


def test_global_scope_shares_one_bucket(atlas_emulator, atlas_session):
    atlas_emulator.rate_limit = RateLimitConfig(
        capacity=1, refill_rate=1, refill_seconds=600, scope="global"
    )
    atlas_emulator.add_api_key("second02", "second-secret")
    other = session_for(atlas_emulator, "second02", "second-secret")
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups"

    assert atlas_session.get(url).status_code == 200
    assert other.get(url).status_code == 429


def test_project_scope_per_group(atlas_emulator, atlas_session):
    atlas_emulator.rate_limit = RateLimitConfig(
        capacity=1, refill_rate=1, refill_seconds=600, scope="project"
    )
    first, second = atlas_emulator.store.projects()[:2]
    base = f"{atlas_emulator.base_url}/api/atlas/v2/groups"

    assert atlas_session.get(f"{base}/{first.id}").status_code == 200
    assert atlas_session.get(f"{base}/{first.id}/databaseUsers").status_code == 429
    assert atlas_session.get(f"{base}/{second.id}").status_code == 200


def test_unauthenticated_requests_use_no_tokens(atlas_emulator, atlas_session):
    atlas_emulator.rate_limit = RateLimitConfig(capacity=1, refill_rate=1, refill_seconds=600)
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups"
    for _ in range(3):
        assert requests.get(url).status_code == 401

    assert atlas_session.get(url).status_code == 200


@pytest.mark.parametrize(
    "settings",
    [
        {"capacity": 0},
        {"refill_rate": 0},
        {"refill_seconds": 0},
        {"scope": "user"},
    ],
)
def test_rate_limit_config_rejects_invalid_values(settings):
    with pytest.raises(ValueError):
        RateLimitConfig(**settings)
