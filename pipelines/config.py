"""Configuration of the `[sources.atlas_certs]` section, resolved the dlt way and validated.

Every key can come from `.dlt/config.toml`, `.dlt/secrets.toml` or an environment variable
`SOURCES__ATLAS_CERTS__<KEY>` (nested keys joined with `__`), as dlt resolves them.
"""

import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration, CredentialsConfiguration
from dlt.common.typing import TSecretStrValue

from pipelines.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_WORKERS,
    MAX_ITEMS_PER_PAGE,
    MAX_LOCK_TIMEOUT,
    MAX_WORKERS,
)

SECTION = "sources.atlas_certs"
PROJECT_ID_PATTERN = re.compile(r"^[a-f0-9]{24}$")


class ConfigError(ValueError):
    """Invalid configuration; the message names the key, the problem and the fix."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(f"invalid {SECTION}.{key}: {problem}. {fix}")
        self.key = key


@configspec
class AtlasCredentialsSpec(CredentialsConfiguration):
    public_key: str | None = None
    private_key: TSecretStrValue | None = None
    client_id: str | None = None
    client_secret: TSecretStrValue | None = None


@configspec
class AtlasCertsSpec(BaseConfiguration):
    base_url: str = DEFAULT_BASE_URL
    # Loose types on purpose: build_config() validates them with messages that name the fix.
    projects: str | list[Any] | None = None
    org_ids: str | list[Any] | None = None
    users: str | dict[str, Any] | None = None
    items_per_page: str | int | None = MAX_ITEMS_PER_PAGE
    workers: str | int | None = DEFAULT_WORKERS
    lock_timeout: str | int | None = DEFAULT_LOCK_TIMEOUT
    credentials: AtlasCredentialsSpec = None


@dataclass(frozen=True)
class Credentials:
    """Either an API key pair (HTTP Digest) or a service account (OAuth2 client credentials)."""

    kind: Literal["api_key", "service_account"]
    identity: str  # public key or client id; not secret
    secret: str = field(repr=False)


@dataclass(frozen=True)
class AtlasCertsConfig:
    """Validated settings for one run."""

    base_url: str
    credentials: Credentials
    projects: tuple[str, ...] | Literal["*"] | None = None
    org_ids: tuple[str, ...] = ()
    users: dict[str, tuple[str, ...]] = field(default_factory=dict)
    items_per_page: int = MAX_ITEMS_PER_PAGE
    workers: int = DEFAULT_WORKERS
    lock_timeout: int = (
        DEFAULT_LOCK_TIMEOUT  # seconds to wait while another process has the DuckDB file open
    )


def load_config() -> AtlasCertsConfig:
    """Resolve `[sources.atlas_certs]` from dlt's providers and validate it.

    Raises ConfigError before any request is made.
    """
    spec = resolve_configuration(AtlasCertsSpec(), sections=("sources", "atlas_certs"))
    credentials = spec.credentials or AtlasCredentialsSpec()
    return build_config(
        base_url=spec.base_url,
        projects=spec.projects,
        org_ids=spec.org_ids,
        users=spec.users,
        items_per_page=spec.items_per_page,
        workers=spec.workers,
        lock_timeout=spec.lock_timeout,
        public_key=credentials.public_key,
        private_key=credentials.private_key,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
    )


def build_config(
    *,
    base_url: str = DEFAULT_BASE_URL,
    projects: Any = None,
    org_ids: Any = None,
    users: Any = None,
    items_per_page: Any = MAX_ITEMS_PER_PAGE,
    workers: Any = DEFAULT_WORKERS,
    lock_timeout: Any = DEFAULT_LOCK_TIMEOUT,
    public_key: str | None = None,
    private_key: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> AtlasCertsConfig:
    """Validate raw settings (as dlt resolved them, or from code) into an AtlasCertsConfig."""
    parsed_users = _parse_users(users)
    parsed_org_ids = _parse_id_list("org_ids", org_ids, "organization id") or ()
    parsed_projects = _parse_projects(projects)
    if parsed_projects is None and not parsed_org_ids and not parsed_users:
        raise ConfigError(
            "projects",
            "no projects are configured",
            'Set projects to a list of 24-hex project ids or to "*" for every project '
            "the credentials can read, or set org_ids, in .dlt/config.toml of the working "
            f"directory ({Path.cwd()}) or as SOURCES__ATLAS_CERTS__PROJECTS",
        )

    return AtlasCertsConfig(
        base_url=_parse_base_url(base_url),
        credentials=_parse_credentials(public_key, private_key, client_id, client_secret),
        projects=parsed_projects,
        org_ids=parsed_org_ids,
        users=parsed_users,
        items_per_page=_parse_int("items_per_page", items_per_page, 1, MAX_ITEMS_PER_PAGE),
        workers=_parse_int("workers", workers, 1, MAX_WORKERS),
        lock_timeout=_parse_int("lock_timeout", lock_timeout, 0, MAX_LOCK_TIMEOUT),
    )


def _parse_base_url(value: Any) -> str:
    text = str(value or "").strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "base_url",
            f"{text!r} is not an http(s) URL",
            f"Use the Atlas address, {DEFAULT_BASE_URL}",
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(
            "base_url",
            f"{parts.scheme}://{parts.hostname}… carries user info, a query or a fragment",
            "Give only scheme, host and optional port, e.g. https://cloud.mongodb.com",
        )
    if parts.path not in ("", "/"):
        raise ConfigError(
            "base_url",
            f"{text!r} has a path",
            "Give only scheme, host and optional port; the pipeline adds /api/atlas/v2",
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            "base_url",
            f"{text!r} uses plain http to a host that is not loopback",
            "Use https; plain http is accepted only for 127.0.0.1, ::1 or localhost",
        )
    return text


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_credentials(
    public_key: str | None,
    private_key: str | None,
    client_id: str | None,
    client_secret: str | None,
) -> Credentials:
    has_key = bool(public_key) or bool(private_key)
    has_account = bool(client_id) or bool(client_secret)
    fix = (
        "Set either credentials.public_key and credentials.private_key (API key) or "
        "credentials.client_id and credentials.client_secret (service account) "
        "in .dlt/secrets.toml or SOURCES__ATLAS_CERTS__CREDENTIALS__* variables"
    )
    if has_key and has_account:
        raise ConfigError("credentials", "both an API key and a service account are set", fix)
    if has_key:
        if not (public_key and private_key):
            missing = "private_key" if public_key else "public_key"
            raise ConfigError(f"credentials.{missing}", "is missing", fix)
        return Credentials("api_key", str(public_key), str(private_key))
    if has_account:
        if not (client_id and client_secret):
            missing = "client_secret" if client_id else "client_id"
            raise ConfigError(f"credentials.{missing}", "is missing", fix)
        return Credentials("service_account", str(client_id), str(client_secret))
    raise ConfigError("credentials", "no credentials are set", fix)


def _parse_projects(value: Any) -> tuple[str, ...] | Literal["*"] | None:
    if isinstance(value, str) and value.strip() == "*":
        return "*"
    return _parse_id_list("projects", value, "project id")


def _parse_id_list(key: str, value: Any, noun: str) -> tuple[str, ...] | None:
    if value is None or value == "" or value == []:
        return None
    items = _as_list(key, value)
    for item in items:
        if not isinstance(item, str) or not PROJECT_ID_PATTERN.match(item):
            raise ConfigError(
                key,
                f"{item!r} is not a {noun}",
                f"Atlas {noun}s are 24 lowercase hexadecimal characters, "
                "e.g. 32b6e34b3d91647abb20e7b8",
            )
    return tuple(dict.fromkeys(items))


def _as_list(key: str, value: Any) -> list[Any]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise ConfigError(
                    key, f"{text!r} is not a valid JSON list", "Fix the list syntax"
                ) from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ConfigError(key, f"{value!r} is not a list", 'Give a list such as ["<id>", "<id>"]')
    return list(value)


def _parse_users(value: Any) -> dict[str, tuple[str, ...]]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigError(
                "users", f"{value!r} is not a JSON object", "Fix the mapping syntax"
            ) from None
    if not isinstance(value, dict):
        raise ConfigError(
            "users",
            f"{value!r} is not a mapping",
            'Map each project id to a list of usernames, e.g. {"<project id>": ["CN=app"]}',
        )
    users: dict[str, tuple[str, ...]] = {}
    for project_id, names in value.items():
        _parse_id_list("users", [project_id], "project id")
        names_list = (
            _as_list(f"users.{project_id}", names) if not isinstance(names, list) else names
        )
        for name in names_list:
            if not isinstance(name, str) or not name:
                raise ConfigError(
                    f"users.{project_id}",
                    f"{name!r} is not a username",
                    "List database usernames as non-empty strings",
                )
        users[project_id] = tuple(dict.fromkeys(names_list))
    return users


def _parse_int(key: str, value: Any, minimum: int, maximum: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or not minimum <= number <= maximum:
        raise ConfigError(
            key,
            f"{value!r} is not an integer from {minimum} to {maximum}",
            f"Set {key} to a value from {minimum} to {maximum}",
        )
    return number
