"""Pagination, envelope and pretty on every list endpoint, and query-parameter validation."""

import json
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from requests.auth import HTTPDigestAuth

from pipelines.emulator import AtlasEmulator


def heavy_user(emulator: AtlasEmulator) -> tuple[str, str, int]:
    """The demo fleet's user with 1,200 unexpired certificates."""
    best = max(
        ((p, u) for p, u, _ in emulator.fleet_truth()),
        key=lambda key: len(emulator.store.certs(*key)),
    )
    return best[0], best[1], len(emulator.store.certs(*best))


def certs_url(emulator: AtlasEmulator, project_id: str, username: str) -> str:
    return (
        f"{emulator.base_url}/api/atlas/v2/groups/{project_id}/databaseUsers/"
        f"{quote(username, safe='')}/certs"
    )


def links_by_rel(body: dict) -> dict[str, str]:
    return {link["rel"]: link["href"] for link in body["links"]}


def query_of(href: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(href).query).items()}


def test_heavy_user_pages_cover_all_certs(atlas_emulator, atlas_session):
    project_id, username, total = heavy_user(atlas_emulator)
    assert total >= 1200
    url = certs_url(atlas_emulator, project_id, username)

    ids, pages = [], 0
    next_url: str | None = f"{url}?itemsPerPage=500"
    while next_url and pages < 10:
        body = atlas_session.get(next_url).json()
        ids.extend(item["_id"] for item in body["results"])
        next_url = links_by_rel(body).get("next")
        pages += 1

    expected = [cert.id for cert in atlas_emulator.store.certs(project_id, username)]
    assert ids == expected
    assert pages == -(-total // 500)


def test_links_first_middle_last(atlas_emulator, atlas_session):
    project_id, username, total = heavy_user(atlas_emulator)
    url = certs_url(atlas_emulator, project_id, username)
    last_page = -(-total // 100)

    first = links_by_rel(atlas_session.get(url).json())
    middle = links_by_rel(atlas_session.get(url, params={"pageNum": 2}).json())
    last = links_by_rel(atlas_session.get(url, params={"pageNum": last_page}).json())

    assert set(first) == {"self", "next"}
    assert set(middle) == {"self", "previous", "next"}
    assert set(last) == {"self", "previous"}
    assert query_of(first["self"]) == {
        "includeCount": "true",
        "itemsPerPage": "100",
        "pageNum": "1",
    }
    assert query_of(middle["previous"])["pageNum"] == "1"
    assert query_of(middle["next"])["pageNum"] == "3"
    assert first["next"].startswith(f"{url}?")


def test_page_past_the_end_is_empty(atlas_emulator, atlas_session):
    project_id, username, _ = heavy_user(atlas_emulator)

    body = atlas_session.get(
        certs_url(atlas_emulator, project_id, username), params={"pageNum": 99}
    ).json()

    assert body["results"] == []
    assert set(links_by_rel(body)) == {"self", "previous"}


def test_empty_list_is_200(atlas_emulator, atlas_session):
    project = atlas_emulator.store.add_project(name="empty")

    response = atlas_session.get(
        f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}/databaseUsers"
    )

    assert response.status_code == 200
    assert response.json()["results"] == []
    assert response.json()["totalCount"] == 0
    assert set(links_by_rel(response.json())) == {"self"}


def test_empty_world_lists_nothing(atlas_emulator_factory):
    emulator = atlas_emulator_factory(seed=1, fleet=None)

    response = requests.get(
        f"{emulator.base_url}/api/atlas/v2/groups",
        auth=HTTPDigestAuth(*emulator.demo_api_key),
        headers={"Accept": "application/vnd.atlas.2023-01-01+json"},
    )

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_include_count_false_omits_total(atlas_emulator, atlas_session):
    response = atlas_session.get(
        f"{atlas_emulator.base_url}/api/atlas/v2/groups", params={"includeCount": "false"}
    )

    body = response.json()
    assert "totalCount" not in body
    assert query_of(body["links"][0]["href"])["includeCount"] == "false"


def test_items_per_page_limits(atlas_emulator, atlas_session):
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups"

    one = atlas_session.get(url, params={"itemsPerPage": 1}).json()
    five_hundred = atlas_session.get(url, params={"itemsPerPage": 500}).json()

    assert len(one["results"]) == 1
    assert len(five_hundred["results"]) == 12


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("pageNum", "0"),
        ("pageNum", "-1"),
        ("pageNum", "abc"),
        ("pageNum", "1.5"),
        ("pageNum", "99999999999"),
        ("itemsPerPage", "0"),
        ("itemsPerPage", "501"),
        ("itemsPerPage", ""),
        ("includeCount", "yes"),
        ("envelope", "1"),
        ("pretty", "maybe"),
        ("unknownParam", "1"),
        ("itemsperpage", "10"),
    ],
)
def test_invalid_query_parameter_is_400(atlas_emulator, atlas_session, name, value):
    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups?{name}={value}")

    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "INVALID_QUERY_PARAMETER"
    assert body["parameters"] == [name]
    assert name in body["detail"]


def test_repeated_query_parameter_is_400(atlas_emulator, atlas_session):
    response = atlas_session.get(
        f"{atlas_emulator.base_url}/api/atlas/v2/groups?pageNum=1&pageNum=2"
    )

    assert response.status_code == 400
    assert response.json()["errorCode"] == "INVALID_QUERY_PARAMETER"


def test_unknown_query_parameter_allowed_when_configured(atlas_emulator, atlas_session):
    atlas_emulator.reject_unknown_query_params = False

    response = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups?foo=bar")

    assert response.status_code == 200


def test_envelope_on_list_adds_status(atlas_emulator, atlas_session):
    body = atlas_session.get(
        f"{atlas_emulator.base_url}/api/atlas/v2/groups", params={"envelope": "true"}
    ).json()

    assert body["status"] == 200
    assert len(body["results"]) == 12
    assert query_of(body["links"][0]["href"])["envelope"] == "true"


def test_envelope_on_entity_wraps_content(atlas_emulator, atlas_session):
    project = atlas_emulator.store.projects()[0]

    body = atlas_session.get(
        f"{atlas_emulator.base_url}/api/atlas/v2/groups/{project.id}", params={"envelope": "true"}
    ).json()

    assert set(body) == {"status", "content"}
    assert body["status"] == 200
    assert body["content"]["id"] == project.id


def test_pretty_indents_json(atlas_emulator, atlas_session):
    url = f"{atlas_emulator.base_url}/api/atlas/v2/groups"

    compact = atlas_session.get(url)
    pretty = atlas_session.get(url, params={"pretty": "true"})

    assert "\n" not in compact.text
    assert pretty.text.startswith('{\n  "links" : [')
    assert pretty.json()["results"] == compact.json()["results"]


def test_page_size_cap_still_links_every_item(atlas_emulator, atlas_session):
    atlas_emulator.page_size_cap = 200
    project_id, username, total = heavy_user(atlas_emulator)

    ids, next_url, pages = (
        [],
        f"{certs_url(atlas_emulator, project_id, username)}?itemsPerPage=500",
        0,
    )
    sizes = []
    while next_url and pages < 20:
        body = atlas_session.get(next_url).json()
        sizes.append(len(body["results"]))
        ids.extend(item["_id"] for item in body["results"])
        next_url = links_by_rel(body).get("next")
        pages += 1

    assert sizes[0] == 200
    assert len(ids) == total
    assert len(set(ids)) == total


@pytest.mark.parametrize(("mode", "has_total"), [("omit", False), ("wrong", True)])
def test_total_count_modes(atlas_emulator, atlas_session, mode, has_total):
    atlas_emulator.total_count_mode = mode

    body = atlas_session.get(f"{atlas_emulator.base_url}/api/atlas/v2/groups").json()

    assert ("totalCount" in body) is has_total
    if has_total:
        assert body["totalCount"] != 12
        assert 0 < body["totalCount"] < 12


def test_large_ids_written_as_exact_integers(atlas_emulator, atlas_session):
    project_id, username, _ = heavy_user(atlas_emulator)
    response = atlas_session.get(certs_url(atlas_emulator, project_id, username))
    expected = {cert.id for cert in atlas_emulator.store.certs(project_id, username)[:100]}

    parsed = json.loads(response.text, parse_int=int, parse_float=lambda text: 1 / 0)

    assert {item["_id"] for item in parsed["results"]} == expected
