from requests.auth import HTTPDigestAuth

from pipelines.atlas.http import ParsedOnceResponse, RequestStats, build_session
from pipelines.atlas.pacing import RateLimitPacer

ACCEPT = {"Accept": "application/vnd.atlas.2023-01-01+json"}


def _response(body: bytes) -> ParsedOnceResponse:
    response = ParsedOnceResponse()
    response._content = body
    response.encoding = "utf-8"
    return response


def test_json_parsed_once():
    response = _response(b'{"results": [{"_id": 1}], "links": []}')

    first = response.json()

    assert response.json() is first
    assert first == {"results": [{"_id": 1}], "links": []}


def test_json_options_parse_again():
    response = _response(b'{"value": 1.5}')
    cached = response.json()

    with_options = response.json(parse_float=str)

    assert with_options == {"value": "1.5"}
    assert with_options is not cached
    assert response.json() is cached


def test_invalid_body_raises_every_call():
    response = _response(b'{"results": [')

    for _ in range(2):
        try:
            response.json()
        except ValueError:
            continue
        raise AssertionError("a truncated body parsed as JSON")


def test_session_returns_parse_once_responses(atlas_emulator):
    emulator = atlas_emulator
    session = build_session(RequestStats(), RateLimitPacer(low_water=1), pool_size=2)

    response = session.get(
        f"{emulator.base_url}/api/atlas/v2/groups",
        auth=HTTPDigestAuth(*emulator.demo_api_key),
        headers=ACCEPT,
        timeout=10,
    )

    assert response.status_code == 200
    assert isinstance(response, ParsedOnceResponse)
    assert response.json() is response.json()
    assert len(response.json()["results"]) == len(emulator.store.projects())
