"""Endpoints of the emulator over real HTTP: projects, database users, certificates (v2 and the
deprecated v1.0 path) and certificate creation."""

from datetime import timedelta
from urllib.parse import quote

import pytest
import requests
from cryptography import x509

from pipelines.emulator import AtlasEmulator
from pipelines.emulator.models import add_months

V2_CONTENT_TYPE = "application/vnd.atlas.2023-01-01+json;charset=utf-8"


def encode(segment: str) -> str:
    """Encode a whole path segment. A bare "." or ".." must be percent-encoded too, because
    HTTP clients (urllib3 among them) remove dot segments from paths."""
    if segment in (".", ".."):
        return segment.replace(".", "%2E")
    return quote(segment, safe="")


def certs_url(emulator: AtlasEmulator, group_id: str, username: str, version: str = "v2") -> str:
    return (
        f"{emulator.base_url}/api/atlas/{version}/groups/{group_id}/databaseUsers/"
        f"{encode(username)}/certs"
    )


def first_managed_user(emulator: AtlasEmulator, minimum_certs: int = 1):
    for project_id, username, _ in emulator.fleet_truth():
        if len(emulator.store.certs(project_id, username)) >= minimum_certs:
            return project_id, username
    raise AssertionError("the demo fleet has no MANAGED user with certificates")


def test_groups_lists_every_project(atlas_emulator, atlas_session):
    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == V2_CONTENT_TYPE
    assert "X-MongoDB-Service-Version" in response.headers
    body = response.json()
    expected = [project.id for project in atlas_emulator.store.projects()]
    assert [group["id"] for group in body["results"]] == expected
    assert body["totalCount"] == 12


def test_group_has_spec_fields(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]

    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}")

    assert response.status_code == 200
    group = response.json()
    assert set(group) == {
        "clusterCount",
        "created",
        "id",
        "links",
        "name",
        "orgId",
        "tags",
        "withDefaultAlertsSettings",
    }
    assert group["id"] == project.id
    assert group["orgId"] == project.org_id
    assert group["links"] == [
        {"href": f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}", "rel": "self"}
    ]
    assert group["created"].endswith("Z")


def test_org_groups_filter_by_name_prefix(atlas_emulator, atlas_session):
    store = atlas_emulator.store
    org = store.add_org("Filter Org")
    store.add_project(org_id=org.id, name="Payments-EU")
    store.add_project(org_id=org.id, name="payments-us")
    store.add_project(org_id=org.id, name="search")
    url = f"{atlas_emulator.base_url}/api/atlas/v2/orgs/{org.id}/groups"

    everything = atlas_session.get(url).json()
    filtered = atlas_session.get(url, params={"name": "PAYMENTS"}).json()

    assert everything["totalCount"] == 3
    assert sorted(group["name"] for group in filtered["results"]) == ["Payments-EU", "payments-us"]
    assert filtered["totalCount"] == 2
    assert "name=PAYMENTS" in filtered["links"][0]["href"]


def test_org_groups_unknown_org_is_404(atlas_emulator, atlas_session):
    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/orgs/{'0' * 24}/groups")

    assert response.status_code == 404
    assert response.json()["errorCode"] == "ORG_NOT_FOUND"


def test_database_users_cover_every_auth_type(atlas_emulator, atlas_session):
    seen = set()
    for project in atlas_emulator.store.projects():
        url = f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers"
        body = atlas_session.get(url, params={"itemsPerPage": 500}).json()
        for user in body["results"]:
            assert "groupId" not in user
            kinds = (
                user["x509Type"],
                user["awsIAMType"],
                user["ldapAuthType"],
                user["oidcAuthType"],
            )
            seen.add((user["databaseName"], kinds))

    assert ("admin", ("NONE", "NONE", "NONE", "NONE")) in seen  # SCRAM
    assert ("$external", ("MANAGED", "NONE", "NONE", "NONE")) in seen
    assert ("$external", ("CUSTOMER", "NONE", "NONE", "NONE")) in seen
    assert any(kinds[1] in ("USER", "ROLE") and db == "$external" for db, kinds in seen)
    assert any(kinds[2] in ("USER", "GROUP") and db == "$external" for db, kinds in seen)
    assert ("$external", ("NONE", "NONE", "NONE", "USER")) in seen
    assert ("admin", ("NONE", "NONE", "NONE", "IDP_GROUP")) in seen


def test_database_user_by_database_and_name(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    user = atlas_emulator.store.add_user(
        project.id, "arn:aws:iam::123456789012:user/app", auth="AWS_IAM"
    )
    url = (
        f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers/"
        f"%24external/{encode(user.username)}"
    )

    response = atlas_session.get(url)

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == user.username
    assert body["awsIAMType"] == "USER"
    assert body["links"][0]["href"].endswith(
        "/databaseUsers/$external/arn:aws:iam::123456789012:user%2Fapp"
    )


def test_database_user_in_wrong_database_is_404(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    atlas_emulator.store.add_user(project.id, "svc", auth="SCRAM")
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers/$external/svc"

    response = atlas_session.get(url)

    assert response.status_code == 404
    assert response.json()["errorCode"] == "USERNAME_NOT_FOUND"
    assert response.json()["parameters"] == ["svc"]


def test_certs_list_only_unexpired(atlas_emulator, atlas_session):
    store = atlas_emulator.store
    project = store.projects()[0]
    store.add_user(project.id, "expiry-check")
    now = atlas_emulator.clock.now().replace(microsecond=0)
    expired = store.create_cert(
        project.id, "expiry-check", months=1, created_at=add_months(now, -1) - timedelta(hours=1)
    )
    live = store.create_cert(
        project.id, "expiry-check", months=1, created_at=add_months(now, -1) - timedelta(minutes=59)
    )

    body = atlas_session.get(certs_url(atlas_emulator, project.id, "expiry-check")).json()

    assert expired.not_after == now  # notAfter == now counts as expired
    assert [item["_id"] for item in body["results"]] == [live.id]
    assert body["totalCount"] == 1


def test_cert_item_shape(atlas_emulator, atlas_session):
    project_id, username = first_managed_user(atlas_emulator)
    cert = atlas_emulator.store.certs(project_id, username)[0]

    response = atlas_session.get(certs_url(atlas_emulator, project_id, username))

    item = response.json()["results"][0]
    assert item == {
        "_id": cert.id,
        "createdAt": cert.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "groupId": project_id,
        "notAfter": cert.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "subject": f"CN={username}" if "," not in username else item["subject"],
    }
    assert isinstance(item["_id"], int)
    assert item["_id"] >= 2**60
    assert f'"_id":{cert.id},' in response.text


def test_not_after_is_months_plus_one_hour(atlas_emulator):
    store = atlas_emulator.store
    project = store.projects()[0]
    store.add_user(project.id, "month-end")
    created = atlas_emulator.clock.now().replace(
        month=1, day=31, hour=10, minute=0, second=0, microsecond=0
    )

    cert = store.create_cert(project.id, "month-end", months=1, created_at=created)

    leap = created.year % 4 == 0 and (created.year % 100 != 0 or created.year % 400 == 0)
    assert cert.not_after == created.replace(month=2, day=29 if leap else 28, hour=11)


def test_certs_unknown_user_is_404(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]

    response = atlas_session.get(certs_url(atlas_emulator, project.id, "nobody here"))

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "No user with username nobody here exists.",
        "error": 404,
        "errorCode": "USERNAME_NOT_FOUND",
        "parameters": ["nobody here"],
        "reason": "Not Found",
    }


def test_certs_for_customer_user_is_400(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    dn = "CN=Dylan Bloggs,OU=Enterprise,OU=Sales,DC=Example,DC=COM"
    atlas_emulator.store.add_user(project.id, dn, x509_type="CUSTOMER")

    listed = atlas_session.get(certs_url(atlas_emulator, project.id, dn))
    created = atlas_session.post(certs_url(atlas_emulator, project.id, dn), json={})

    assert listed.status_code == 400
    assert listed.json()["errorCode"] == "USER_NOT_MANAGED_X509"
    assert created.status_code == 400
    assert created.json()["errorCode"] == "USER_NOT_MANAGED_X509"


@pytest.mark.parametrize(
    "username",
    [
        "dylan bloggs",
        "CN=Dylan Bloggs,OU=Sales",
        "ops+alerts@example.com",
        "team/alpha",
        "what?now",
        "hash#tag",
        "100%pure",
        "../admin",
        "a=b;c",
        "zoë.müller",
        "名前",
    ],
)
def test_awkward_usernames_decode_once(atlas_emulator, atlas_session, username):
    project = atlas_emulator.store.projects()[0]
    assert atlas_emulator.store.find_user(project.id, username) is not None
    url = certs_url(atlas_emulator, project.id, username)

    response = atlas_session.get(url)

    assert response.status_code == 200
    record = atlas_emulator.stats.entries[-1]
    assert record.username == username
    assert record.path == url.removeprefix(atlas_emulator.base_url)


def test_dot_dot_username_segment(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    atlas_emulator.store.add_user(project.id, "..")

    response = atlas_session.get(certs_url(atlas_emulator, project.id, ".."))

    assert response.status_code == 200
    # urllib3 turns %2E back into "." (an unreserved character) but keeps the segment.
    assert atlas_emulator.stats.entries[-1].path.endswith("/databaseUsers/../certs")
    assert atlas_emulator.stats.entries[-1].username == ".."


def test_double_encoded_username_is_not_found(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    url = (
        f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers/"
        f"{encode(encode('team/alpha'))}/certs"
    )

    response = atlas_session.get(url)

    assert response.status_code == 404
    assert response.json()["parameters"] == ["team%2Falpha"]


def test_post_cert_returns_pem_with_listed_serial(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    atlas_emulator.store.add_user(project.id, "pem-user")
    url = certs_url(atlas_emulator, project.id, "pem-user")

    created = atlas_session.post(url, json={"monthsUntilExpiration": 6})
    listed = atlas_session.get(url).json()

    assert created.status_code == 201
    assert created.headers["Content-Type"] == V2_CONTENT_TYPE
    assert "-----BEGIN PRIVATE KEY-----" in created.text
    certificate = x509.load_pem_x509_certificate(created.text.encode())
    assert certificate.serial_number == listed["results"][0]["_id"]
    assert certificate.subject.rfc4514_string() == "CN=pem-user"
    cert = atlas_emulator.store.certs(project.id, "pem-user")[0]
    assert cert.not_after == add_months(cert.created_at, 6) + timedelta(hours=1)
    assert certificate.not_valid_after_utc == cert.not_after


def test_post_cert_defaults_to_three_months(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    atlas_emulator.store.add_user(project.id, "default-months")

    response = atlas_session.post(certs_url(atlas_emulator, project.id, "default-months"), json={})

    assert response.status_code == 201
    cert = atlas_emulator.store.certs(project.id, "default-months")[0]
    assert cert.not_after == add_months(cert.created_at, 3) + timedelta(hours=1)


@pytest.mark.parametrize(
    ("body", "error_code"),
    [
        ({"monthsUntilExpiration": 0}, "ATTRIBUTE_NEGATIVE_OR_ZERO"),
        ({"monthsUntilExpiration": -3}, "ATTRIBUTE_NEGATIVE_OR_ZERO"),
        ({"monthsUntilExpiration": 25}, "CERT_EXPIRY_CANNOT_EXCEED_TWO_YEARS"),
        ({"monthsUntilExpiration": "3"}, "INVALID_JSON_ATTRIBUTE"),
        ({"monthsUntilExpiration": 2.5}, "INVALID_JSON_ATTRIBUTE"),
        ({"monthsUntilExpiration": True}, "INVALID_JSON_ATTRIBUTE"),
        ({"subject": "CN=x"}, "INVALID_ATTRIBUTE"),
        ([3], "INVALID_JSON"),
    ],
)
def test_post_cert_rejects_invalid_body(atlas_emulator, atlas_session, body, error_code):
    project = atlas_emulator.store.projects()[0]
    atlas_emulator.store.add_user(project.id, "invalid-body")

    response = atlas_session.post(certs_url(atlas_emulator, project.id, "invalid-body"), json=body)

    assert response.status_code == 400
    assert response.json()["errorCode"] == error_code
    assert atlas_emulator.store.certs(project.id, "invalid-body") == []


def test_post_cert_rejects_malformed_json(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    atlas_emulator.store.add_user(project.id, "malformed-body")

    response = atlas_session.post(
        certs_url(atlas_emulator, project.id, "malformed-body"),
        data=b"{not json",
        headers={"Content-Type": "application/vnd.atlas.2023-01-01+json"},
    )

    assert response.status_code == 400
    assert response.json()["errorCode"] == "MALFORMED_JSON"


def test_v1_certs_path_uses_plain_json(atlas_emulator):
    project_id, username = first_managed_user(atlas_emulator)
    session = requests.Session()
    session.auth = requests.auth.HTTPDigestAuth(*atlas_emulator.demo_api_key)
    url = certs_url(atlas_emulator, project_id, username, version="v1.0")

    listed = session.get(url, headers={"Accept": "application/json"})
    created = session.post(
        url, json={"monthsUntilExpiration": 1}, headers={"Accept": "application/json"}
    )

    assert listed.status_code == 200
    assert listed.headers["Content-Type"] == "application/json"
    assert listed.json()["totalCount"] == len(atlas_emulator.store.certs(project_id, username)) - 1
    assert listed.json()["links"][0]["href"].startswith(f"{url}?")
    assert created.status_code == 201
    assert created.headers["Content-Type"] == "application/json"
    assert "BEGIN CERTIFICATE" in created.text
    assert atlas_emulator.stats.count(route="certs_v1", status=200) == 1
    assert atlas_emulator.stats.count(route="certs_v1", status=201) == 1


def test_unknown_path_is_404(atlas_emulator, atlas_session):
    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/clusters")

    assert response.status_code == 404
    assert response.json()["errorCode"] == "RESOURCE_NOT_FOUND"


def test_unsupported_method_is_405(atlas_emulator, atlas_session):
    response = atlas_session.delete(f"{atlas_emulator.base_url}/api/atlas/v2/groups")

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.json()["errorCode"] == "METHOD_NOT_ALLOWED"


def test_links_follow_host_header(atlas_emulator, atlas_session):
    response = atlas_session.get(
        f"{atlas_emulator.base_url}/api/atlas/v2/groups",
        headers={"Host": "atlas.example.test:8443"},
    )

    assert response.json()["links"][0]["href"].startswith(
        "http://atlas.example.test:8443/api/atlas/v2/groups?"
    )
