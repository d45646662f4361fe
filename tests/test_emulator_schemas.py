"""Every response shape the emulator produces, validated against the official Atlas OpenAPI
schemas (version 2023-01-01) from <repo root>/../shared/reference/atlas-openapi.

The tests skip when that directory is absent. Three adjustments are deliberate:

- UserCert.subject declares a pattern that requires DC= parts, but an Atlas-managed
  certificate's subject is a plain ``CN=<username>``. Certificate items are therefore checked
  to fail that one pattern and nothing else.
- ApiError.parameters declares object items, but Atlas sends strings and numbers (its
  documented 429 body has ``["api/atlas/v2/orgs", 55, 10, 5, 60]``, and a recorded 404 has
  ``["<username>"]``). The emulator follows Atlas, so error bodies are checked to fail only
  that item type.
- Python's ``re`` lacks ``\\p{L}`` and ``\\p{N}`` (used by Group.name) and writes named
  groups as ``(?P<name>...)``, so patterns are translated: ``\\p{L}`` to ``\\w``, ``\\p{N}``
  to ``\\d`` (the emulator's project names are ASCII, where both agree) and ``(?<name>`` to
  ``(?P<name>``.
"""

import copy
import re
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
import yaml
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

from pipelines.emulator import FaultRule

SPEC_DIRECTORY = Path(__file__).resolve().parents[1].parent / "shared/reference/atlas-openapi"
FULL_SPEC = SPEC_DIRECTORY / "atlas-admin-api-v2-full-2026-08-21.yaml"


def _python_pattern(pattern: str) -> str:
    pattern = pattern.replace("\\p{L}", "\\w").replace("\\p{N}", "\\d")
    return re.sub(r"\(\?<(?![=!])", "(?P<", pattern)


def _python_patterns(node):
    if isinstance(node, dict):
        return {
            key: (
                _python_pattern(value)
                if key == "pattern" and isinstance(value, str)
                else _python_patterns(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_python_patterns(item) for item in node]
    return node


@pytest.fixture(scope="module")
def components() -> dict:
    if not FULL_SPEC.is_file():
        pytest.skip(f"official Atlas OpenAPI spec not found at {FULL_SPEC}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with FULL_SPEC.open(encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=loader)
    return _python_patterns(spec["components"])


def errors_for(components: dict, schema_name: str, instance) -> list:
    """Return the errors of ``instance`` against components.schemas[schema_name], read as a
    response (readOnly allowed, writeOnly forbidden)."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    validator = OAS30ReadValidator(schema, format_checker=oas30_format_checker)
    return list(validator.iter_errors(instance))


def assert_valid(components: dict, schema_name: str, instance) -> None:
    errors = errors_for(components, schema_name, instance)
    assert errors == [], [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def assert_valid_api_error(components: dict, body: dict) -> None:
    """ApiError check that accepts non-object ``parameters`` items (see the module docstring)."""
    for error in errors_for(components, "ApiError", body):
        path = list(error.absolute_path)
        assert path[:1] == ["parameters"], error.message
        assert error.validator == "type", error.message
    assert_valid(components, "ApiError", {**body, "parameters": []})


def test_paginated_groups(components, atlas_emulator, atlas_session):
    body = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups").json()

    assert_valid(components, "PaginatedAtlasGroupView", body)


def test_org_groups(components, atlas_emulator, atlas_session):
    org = atlas_emulator.store.orgs()[0]

    body = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/orgs/{org.id}/groups").json()

    assert body["results"]
    assert_valid(components, "PaginatedAtlasGroupView", body)


def test_group(components, atlas_emulator, atlas_session):
    for project in atlas_emulator.store.projects():
        body = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}")
        assert_valid(components, "Group", body.json())


def test_database_users_of_every_project(components, atlas_emulator, atlas_session):
    for project in atlas_emulator.store.projects():
        url = f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers"
        body = atlas_session.get(url, params={"itemsPerPage": 500}).json()
        assert_valid(components, "PaginatedApiAtlasDatabaseUserView", body)


def test_single_database_users(components, atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    for user in atlas_emulator.store.users(project.id):
        url = (
            f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers/"
            f"{quote(user.database_name, safe='')}/{quote(user.username, safe='')}"
        )
        body = atlas_session.get(url).json()
        assert_valid(components, "CloudDatabaseUser", body)


def test_group_id_on_database_user_is_rejected(components, atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers"
    user = atlas_session.get(url).json()["results"][0]

    errors = errors_for(components, "CloudDatabaseUser", {**user, "groupId": project.id})

    assert errors, "the spec marks groupId write-only, so a response must not carry it"


def test_certs_fail_only_the_subject_pattern(components, atlas_emulator, atlas_session):
    checked = 0
    for project_id, username in {(p, u) for p, u, _ in atlas_emulator.fleet_truth()}:
        url = (
            f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project_id}/databaseUsers/"
            f"{quote(username, safe='')}/certs"
        )
        body = atlas_session.get(url, params={"itemsPerPage": 5}).json()
        errors = errors_for(components, "PaginatedUserCertView", body)
        assert errors
        for error in errors:
            assert list(error.absolute_path)[-1] == "subject", error.message
            assert error.validator == "pattern"
        with_domain = copy.deepcopy(body)
        for item in with_domain["results"]:
            item["subject"] += ",DC=example,DC=com"
        assert_valid(components, "PaginatedUserCertView", with_domain)
        checked += 1

    assert checked >= 10


def test_empty_cert_page(components, atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    atlas_emulator.store.add_user(project.id, "no-certs")
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers/no-certs/certs"

    body = atlas_session.get(url, params={"includeCount": "false"}).json()

    assert_valid(components, "PaginatedUserCertView", body)


def test_post_cert_body_is_a_string(components, atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]
    atlas_emulator.store.add_user(project.id, "pem-schema")
    url = (
        f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers/pem-schema/certs"
    )

    response = atlas_session.post(url, json={"monthsUntilExpiration": 2})

    assert response.status_code == 201
    schema = {"description": "PEM file", "type": "string"}
    assert list(OAS30ReadValidator(schema).iter_errors(response.text)) == []


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 503},
        {"kind": "rate_limit"},
        {"kind": "rate_limit_400"},
        {"kind": "timeout_while_paging", "min_page_num": 1},
    ],
)
def test_injected_errors_are_api_errors(components, atlas_emulator, atlas_session, fault):
    atlas_emulator.faults.add(FaultRule(route="groups", times=1, **fault))

    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups")

    assert response.status_code >= 400
    assert_valid_api_error(components, response.json())


def test_request_errors_are_api_errors(components, atlas_emulator, atlas_session):
    base = f"{atlas_emulator.base_url}/api/atlas/v2"
    project = atlas_emulator.store.projects()[0]
    responses = {
        400: atlas_session.get(f"{base}/groups", params={"pageNum": 0}),
        401: requests.get(f"{base}/groups"),
        404: atlas_session.get(f"{base}/groups/{'c' * 24}"),
        406: atlas_session.get(f"{base}/groups", headers={"Accept": "application/json"}),
        405: atlas_session.delete(f"{base}/groups/{project.id}"),
    }

    for status, response in responses.items():
        assert response.status_code == status
        assert_valid_api_error(components, response.json())
        assert re.fullmatch(r"[A-Z0-9_]+", response.json()["errorCode"])
