"""Authentication and access control: HTTP Digest API keys, service-account bearer tokens and
per-credential project grants."""

import hashlib
import re
from datetime import timedelta

import pytest
import requests
from requests.auth import HTTPDigestAuth

from pipelines.emulator import AtlasEmulator

V2_ACCEPT = "application/vnd.atlas.2023-01-01+json"


def digest_session(public_key: str, private_key: str) -> requests.Session:
    session = requests.Session()
    session.auth = HTTPDigestAuth(public_key, private_key)
    session.headers["Accept"] = V2_ACCEPT
    return session


def bearer_token(emulator: AtlasEmulator, client_id: str, client_secret: str) -> dict:
    response = requests.post(
        f"{emulator.base_url}/api/oauth/token",
        auth=(client_id, client_secret),
        data={"grant_type": "client_credentials"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer_get(emulator: AtlasEmulator, token: str, path: str = "/api/atlas/v2/groups"):
    return requests.get(
        f"{emulator.base_url}{path}",
        headers={"Authorization": f"Bearer {token}", "Accept": V2_ACCEPT},
    )


def challenge_parameters(header: str) -> dict[str, str]:
    return {key: a or b for key, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header)}


def manual_digest_header(
    username: str, password: str, method: str, uri: str, challenge: dict, nc: str, cnonce: str
) -> str:
    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = md5(f"{username}:{challenge['realm']}:{password}")
    ha2 = md5(f"{method}:{uri}")
    response = md5(f"{ha1}:{challenge['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{username}", realm="{challenge["realm"]}", '
        f'nonce="{challenge["nonce"]}", '
        f'uri="{uri}", qop=auth, nc={nc}, cnonce="{cnonce}", response="{response}", '
        f'algorithm=MD5, opaque="{challenge["opaque"]}"'
    )


def fetch_challenge(emulator: AtlasEmulator, path: str) -> dict:
    response = requests.get(f"{emulator.base_url}{path}", headers={"Accept": V2_ACCEPT})
    assert response.status_code == 401
    return challenge_parameters(response.headers["WWW-Authenticate"])


def test_digest_challenge_parameters(atlas_emulator):
    response = requests.get(
        f"{atlas_emulator.base_url}/api/atlas/v2/groups", headers={"Accept": V2_ACCEPT}
    )

    assert response.status_code == 401
    header = response.headers["WWW-Authenticate"]
    assert header.startswith("Digest ")
    parameters = challenge_parameters(header)
    assert parameters["realm"] == "MMS Public API"
    assert parameters["qop"] == "auth"
    assert parameters["algorithm"] == "MD5"
    assert parameters["stale"] == "false"
    assert parameters["nonce"]
    assert parameters["opaque"]
    assert response.json()["error"] == 401
    assert response.json()["errorCode"] == "UNAUTHORIZED"


def test_digest_with_demo_key_succeeds(atlas_emulator, atlas_session):
    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups")

    assert response.status_code == 200
    record = atlas_emulator.stats.entries[-1]
    assert record.auth_kind == "digest"
    assert record.credential_id == atlas_emulator.demo_api_key[0]


def test_digest_wrong_private_key_is_401(atlas_emulator):
    public_key, _ = atlas_emulator.demo_api_key
    session = digest_session(public_key, "not-the-key")

    response = session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups")

    assert response.status_code == 401
    assert response.json()["errorCode"] == "UNAUTHORIZED"


def test_digest_unknown_public_key_is_401(atlas_emulator):
    response = digest_session("nobodyxx", "secret").get(
        f"{atlas_emulator.base_url}/api/atlas/v2/groups"
    )

    assert response.status_code == 401


def test_digest_manual_header_checks_nc_and_cnonce(atlas_emulator):
    path = "/api/atlas/v2/groups"
    challenge = fetch_challenge(atlas_emulator, path)
    user, password = atlas_emulator.demo_api_key
    url = f"{atlas_emulator.base_url}{path}"

    def get(header: str) -> int:
        return requests.get(url, headers={"Authorization": header, "Accept": V2_ACCEPT}).status_code

    good = manual_digest_header(user, password, "GET", path, challenge, "00000001", "abc123")
    tampered_cnonce = good.replace('cnonce="abc123"', 'cnonce="abc124"')
    second = manual_digest_header(user, password, "GET", path, challenge, "00000002", "abc123")
    wrong_uri = manual_digest_header(user, password, "GET", "/other", challenge, "00000003", "x")
    without_qop = re.sub(r"qop=auth, nc=\w+, cnonce=\"\w+\", ", "", good)

    assert get(good) == 200
    assert get(good) == 401  # the same nonce count again is a replay
    assert get(tampered_cnonce) == 401
    assert get(second) == 200
    assert get(wrong_uri) == 401
    assert get(without_qop) == 401


def test_digest_forged_nonce_is_401_not_stale(atlas_emulator):
    path = "/api/atlas/v2/groups"
    challenge = fetch_challenge(atlas_emulator, path)
    challenge["nonce"] = "0" * 40
    user, password = atlas_emulator.demo_api_key
    header = manual_digest_header(user, password, "GET", path, challenge, "00000001", "c")

    response = requests.get(
        f"{atlas_emulator.base_url}{path}", headers={"Authorization": header, "Accept": V2_ACCEPT}
    )

    assert response.status_code == 401
    assert "stale=false" in response.headers["WWW-Authenticate"]


def test_digest_stale_nonce_gets_stale_challenge(atlas_emulator):
    atlas_emulator.nonce_lifetime_seconds = 60
    path = "/api/atlas/v2/groups"
    challenge = fetch_challenge(atlas_emulator, path)
    user, password = atlas_emulator.demo_api_key
    atlas_emulator.clock.advance(timedelta(seconds=61))
    header = manual_digest_header(user, password, "GET", path, challenge, "00000001", "c")

    response = requests.get(
        f"{atlas_emulator.base_url}{path}", headers={"Authorization": header, "Accept": V2_ACCEPT}
    )

    assert response.status_code == 401
    fresh = challenge_parameters(response.headers["WWW-Authenticate"])
    assert fresh["stale"] == "true"
    assert fresh["nonce"] != challenge["nonce"]


def test_digest_stale_wrong_password_is_not_stale(atlas_emulator):
    atlas_emulator.nonce_lifetime_seconds = 60
    path = "/api/atlas/v2/groups"
    challenge = fetch_challenge(atlas_emulator, path)
    atlas_emulator.clock.advance(timedelta(seconds=61))
    header = manual_digest_header(
        atlas_emulator.demo_api_key[0], "wrong", "GET", path, challenge, "00000001", "c"
    )

    response = requests.get(
        f"{atlas_emulator.base_url}{path}", headers={"Authorization": header, "Accept": V2_ACCEPT}
    )

    assert "stale=false" in response.headers["WWW-Authenticate"]


def test_requests_digest_recovers_from_stale_nonce(atlas_emulator, atlas_session):
    atlas_emulator.nonce_lifetime_seconds = 60
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups"
    assert atlas_session.get(url).status_code == 200
    atlas_emulator.clock.advance(timedelta(seconds=120))
    atlas_emulator.stats.reset()

    response = atlas_session.get(url)

    assert response.status_code == 200
    assert [entry.status for entry in atlas_emulator.stats.entries] == [401, 200]


def test_oauth_token_response(atlas_emulator):
    body = bearer_token(atlas_emulator, *atlas_emulator.demo_service_account)

    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str)
    assert len(body["access_token"]) > 20


def test_bearer_token_grants_access(atlas_emulator):
    token = bearer_token(atlas_emulator, *atlas_emulator.demo_service_account)["access_token"]

    response = bearer_get(atlas_emulator, token)

    assert response.status_code == 200
    assert response.json()["totalCount"] == 12
    assert atlas_emulator.stats.entries[-1].auth_kind == "bearer"


def test_bearer_token_expires(atlas_emulator):
    atlas_emulator.add_service_account("short-lived", "secret", token_ttl_seconds=60)
    body = bearer_token(atlas_emulator, "short-lived", "secret")
    assert body["expires_in"] == 60
    assert bearer_get(atlas_emulator, body["access_token"]).status_code == 200

    atlas_emulator.clock.advance(timedelta(seconds=60))
    response = bearer_get(atlas_emulator, body["access_token"])

    assert response.status_code == 401
    assert response.json()["detail"] == "The access token has expired."
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_bearer_tokens_revoked_by_emulator(atlas_emulator):
    token = bearer_token(atlas_emulator, *atlas_emulator.demo_service_account)["access_token"]

    revoked = atlas_emulator.revoke_tokens()
    response = bearer_get(atlas_emulator, token)

    assert revoked == 1
    assert response.status_code == 401
    assert response.json()["detail"] == "The access token has been revoked."


def test_revoke_endpoint_revokes_token(atlas_emulator):
    client = atlas_emulator.demo_service_account
    token = bearer_token(atlas_emulator, *client)["access_token"]

    response = requests.post(
        f"{atlas_emulator.base_url}/api/oauth/revoke",
        auth=client,
        data={"token": token, "token_type_hint": "access_token"},
    )

    assert response.status_code == 200
    assert bearer_get(atlas_emulator, token).status_code == 401


def test_revoke_endpoint_requires_client_auth(atlas_emulator):
    token = bearer_token(atlas_emulator, *atlas_emulator.demo_service_account)["access_token"]

    response = requests.post(
        f"{atlas_emulator.base_url}/api/oauth/revoke",
        auth=("mdb_sa_id_unknown", "secret"),
        data={"token": token},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert bearer_get(atlas_emulator, token).status_code == 200


@pytest.mark.parametrize(
    ("auth", "data", "status", "error"),
    [
        (("wrong", "secret"), {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (None, {"grant_type": "client_credentials"}, 401, "invalid_client"),
        ("demo", {"grant_type": "password"}, 400, "unsupported_grant_type"),
        ("demo", {}, 400, "invalid_request"),
        ("demo", {"scope": "x"}, 400, "invalid_request"),
    ],
)
def test_oauth_token_errors(atlas_emulator, auth, data, status, error):
    if auth == "demo":
        auth = atlas_emulator.demo_service_account

    response = requests.post(f"{atlas_emulator.base_url}/api/oauth/token", auth=auth, data=data)

    assert response.status_code == status
    assert response.json()["error"] == error


def test_oauth_token_rejects_json_body(atlas_emulator):
    response = requests.post(
        f"{atlas_emulator.base_url}/api/oauth/token",
        auth=atlas_emulator.demo_service_account,
        json={"grant_type": "client_credentials"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_unknown_bearer_token_is_401(atlas_emulator):
    assert bearer_get(atlas_emulator, "not-a-token").status_code == 401


def test_basic_auth_on_api_gets_digest_challenge(atlas_emulator):
    response = requests.get(
        f"{atlas_emulator.base_url}/api/atlas/v2/groups",
        auth=atlas_emulator.demo_api_key,
        headers={"Accept": V2_ACCEPT},
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Digest ")


def test_api_key_sees_only_granted_projects(atlas_emulator):
    projects = atlas_emulator.store.projects()
    granted = [projects[0].id, projects[3].id]
    atlas_emulator.add_api_key("limited1", "limited-secret", project_ids=granted)
    session = digest_session("limited1", "limited-secret")

    body = session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups").json()

    assert [group["id"] for group in body["results"]] == granted
    assert body["totalCount"] == 2


def test_ungranted_project_is_401_user_unauthorized(atlas_emulator):
    projects = atlas_emulator.store.projects()
    atlas_emulator.add_api_key("limited2", "limited-secret", project_ids=[projects[0].id])
    session = digest_session("limited2", "limited-secret")

    for path in ("", "/databaseUsers"):
        response = session.get(
            f"{atlas_emulator.base_url}/api/atlas/v2/groups/{projects[1].id}{path}"
        )
        assert response.status_code == 401
        assert response.json()["errorCode"] == "USER_UNAUTHORIZED"


def test_unknown_project_is_404_group_not_found(atlas_emulator, atlas_session):
    missing = "a" * 24

    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups/{missing}")

    assert response.status_code == 404
    assert response.json()["errorCode"] == "GROUP_NOT_FOUND"
    assert response.json()["detail"] == f"No group with ID {missing} exists."


def test_malformed_project_id_is_invalid_group_id(atlas_emulator, atlas_session):
    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups/not-an-id")

    assert response.status_code == 404
    assert response.json()["errorCode"] == "INVALID_GROUP_ID"


def test_service_account_grants_apply_to_bearer(atlas_emulator):
    projects = atlas_emulator.store.projects()
    atlas_emulator.add_service_account("mdb_sa_id_limited", "s3cret", project_ids=[projects[2].id])
    token = bearer_token(atlas_emulator, "mdb_sa_id_limited", "s3cret")["access_token"]

    listed = bearer_get(atlas_emulator, token).json()
    denied = bearer_get(atlas_emulator, token, f"/api/atlas/v2/groups/{projects[0].id}")

    assert [group["id"] for group in listed["results"]] == [projects[2].id]
    assert denied.status_code == 401
    assert denied.json()["errorCode"] == "USER_UNAUTHORIZED"


def test_org_groups_without_any_grant_is_401(atlas_emulator):
    other = atlas_emulator.store.add_org("Other Org")
    atlas_emulator.store.add_project(org_id=other.id, name="other-project")
    first = atlas_emulator.store.projects()[0]
    atlas_emulator.add_api_key("limited3", "limited-secret", project_ids=[first.id])
    session = digest_session("limited3", "limited-secret")

    response = session.get(f"{atlas_emulator.base_url}/api/atlas/v2/orgs/{other.id}/groups")

    assert response.status_code == 401
    assert response.json()["errorCode"] == "USER_UNAUTHORIZED"
