"""Validation of `[sources.atlas_certs]` before any request is made."""

import pytest

from pipelines.config import ConfigError, build_config, load_config

PROJECT = "32b6e34b3d91647abb20e7b8"
KEY = {"public_key": "pub", "private_key": "priv-secret"}


def test_api_key_config_is_accepted():
    config = build_config(projects=[PROJECT], **KEY)
    assert config.credentials.kind == "api_key"
    assert config.projects == (PROJECT,)
    assert config.items_per_page == 500
    assert config.base_url == "https://cloud.mongodb.com"


def test_service_account_config_is_accepted():
    config = build_config(projects="*", client_id="mdb_sa_id", client_secret="mdb_sa_sk")
    assert config.credentials.kind == "service_account"
    assert config.projects == "*"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"projects": ["32B6E34B3D91647ABB20E7B8"]}, "projects"),
        ({"projects": ["abc"]}, "projects"),
        ({"projects": None}, "projects"),
        ({"org_ids": ["not-an-org"]}, "org_ids"),
        ({"items_per_page": 0}, "items_per_page"),
        ({"items_per_page": 501}, "items_per_page"),
        ({"items_per_page": "many"}, "items_per_page"),
        ({"workers": 0}, "workers"),
        ({"base_url": "http://cloud.mongodb.com"}, "base_url"),
        ({"base_url": "http://10.0.0.5:8080"}, "base_url"),
        ({"base_url": "https://cloud.mongodb.com/api/atlas/v2"}, "base_url"),
        ({"base_url": "ftp://cloud.mongodb.com"}, "base_url"),
        ({"users": {"short": ["alice"]}}, "users"),
        ({"users": ["alice"]}, "users"),
    ],
    ids=lambda value: str(value),
)
def test_invalid_setting_names_key(overrides, key):
    settings = {"projects": [PROJECT], **KEY, **overrides}
    with pytest.raises(ConfigError) as raised:
        build_config(**settings)
    assert f"sources.atlas_certs.{key}" in str(raised.value)


def test_both_credential_kinds_rejected():
    with pytest.raises(ConfigError, match="both an API key and a service account"):
        build_config(projects="*", client_id="id", client_secret="sk", **KEY)


def test_no_credentials_rejected():
    with pytest.raises(ConfigError, match="no credentials"):
        build_config(projects="*")


def test_half_api_key_names_missing_key():
    with pytest.raises(ConfigError, match=r"credentials\.private_key: is missing"):
        build_config(projects="*", public_key="pub")


def test_secret_never_in_error_message():
    with pytest.raises(ConfigError) as raised:
        build_config(projects=["bad"], **KEY)
    assert "priv-secret" not in str(raised.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_plain_http_allowed_on_loopback(host):
    config = build_config(base_url=f"http://{host}:8080", projects="*", **KEY)
    assert config.base_url == f"http://{host}:8080"


def test_users_mapping_alone_selects_projects():
    config = build_config(users={PROJECT: ["CN=app,OU=eng", "alice"]}, **KEY)
    assert config.projects is None
    assert config.users == {PROJECT: ("CN=app,OU=eng", "alice")}


def test_environment_variables_resolve(monkeypatch):
    monkeypatch.setenv("SOURCES__ATLAS_CERTS__PROJECTS", f'["{PROJECT}"]')
    monkeypatch.setenv("SOURCES__ATLAS_CERTS__ITEMS_PER_PAGE", "200")
    monkeypatch.setenv("SOURCES__ATLAS_CERTS__CREDENTIALS__CLIENT_ID", "mdb_sa_id")
    monkeypatch.setenv("SOURCES__ATLAS_CERTS__CREDENTIALS__CLIENT_SECRET", "mdb_sa_sk")
    monkeypatch.setenv("SOURCES__ATLAS_CERTS__USERS", f'{{"{PROJECT}": ["CN=a b"]}}')
    config = load_config()
    assert config.projects == (PROJECT,)
    assert config.items_per_page == 200
    assert config.credentials.kind == "service_account"
    assert config.users == {PROJECT: ("CN=a b",)}
