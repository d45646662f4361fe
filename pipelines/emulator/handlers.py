"""Request handlers: one function per operation, each taking the emulator and a parsed request
and returning a Reply or raising an ApiError. Handlers hold no state of their own.

Not emulated: clusters (clusterCount comes from the fleet, not from cluster resources), the
write operations on projects and database users, regionUsageRestrictions (Atlas for Government
only) and deleteAfterDate on temporary users.
"""

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .auth import Principal
from .clock import format_timestamp
from .errors import (
    AttributeNegativeOrZero,
    CertExpiryCannotExceedTwoYears,
    GroupNotFound,
    InvalidAttribute,
    InvalidGroupId,
    InvalidJson,
    InvalidJsonAttribute,
    InvalidOrgId,
    MalformedJson,
    OrgNotFound,
    UsernameNotFound,
    UserNotManagedX509,
    UserUnauthorized,
)
from .models import DatabaseUser, Project
from .pagination import (
    ENTITY_PARAMETERS,
    LIST_PARAMETERS,
    QueryOptions,
    encode_path_segment,
    paginate,
    parse_query,
)
from .routes import RouteMatch

if TYPE_CHECKING:
    from .emulator import AtlasEmulator

OBJECT_ID = re.compile(r"^[a-f0-9]{24}$")
DEFAULT_CERT_MONTHS = 3
MAX_CERT_MONTHS = 24


@dataclass(slots=True)
class Request:
    method: str
    path: str  # raw, without the query
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    route: RouteMatch
    base_url: str
    principal: Principal | None = None


@dataclass(slots=True)
class Reply:
    """A handler result: JSON ``payload`` (``is_list`` selects how envelope wraps it) or, for
    the PEM that POST .../certs returns, plain ``text``."""

    status: int = 200
    payload: Any = None
    is_list: bool = False
    text: str | None = None
    options: QueryOptions | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


# -- JSON shapes ----------------------------------------------------------------------------------


def group_json(project: Project, base_url: str) -> dict[str, Any]:
    return {
        "clusterCount": project.cluster_count,
        "created": format_timestamp(project.created),
        "id": project.id,
        "links": [{"href": f"{base_url}/api/atlas/v2/groups/{project.id}", "rel": "self"}],
        "name": project.name,
        "orgId": project.org_id,
        "tags": [dict(tag) for tag in project.tags],
        "withDefaultAlertsSettings": project.with_default_alerts_settings,
    }


def user_json(user: DatabaseUser, base_url: str) -> dict[str, Any]:
    """CloudDatabaseUser without groupId, which the spec marks write-only."""
    href = (
        f"{base_url}/api/atlas/v2/groups/{user.project_id}/databaseUsers/"
        f"{encode_path_segment(user.database_name)}/{encode_path_segment(user.username)}"
    )
    body: dict[str, Any] = {
        "awsIAMType": user.aws_iam_type,
        "databaseName": user.database_name,
        "labels": [dict(label) for label in user.labels],
        "ldapAuthType": user.ldap_auth_type,
        "links": [{"href": href, "rel": "self"}],
        "oidcAuthType": user.oidc_auth_type,
        "roles": [dict(role) for role in user.roles],
        "scopes": [dict(scope) for scope in user.scopes],
        "username": user.username,
        "x509Type": user.x509_type,
    }
    if user.description is not None:
        body["description"] = user.description
    return body


# -- shared checks --------------------------------------------------------------------------------


def _options(emulator: "AtlasEmulator", request: Request, allowed: frozenset[str]) -> QueryOptions:
    return parse_query(request.query, allowed, emulator.reject_unknown_query_params)


def _project(emulator: "AtlasEmulator", request: Request) -> Project:
    """Return the path's project, checked in Atlas's order: id format, existence, access."""
    group_id = request.route.params["groupId"]
    if not OBJECT_ID.match(group_id):
        raise InvalidGroupId(group_id)
    project = emulator.store.get_project(group_id)
    if project is None:
        raise GroupNotFound(group_id)
    assert request.principal is not None
    if not request.principal.credential.can_access(group_id):
        raise UserUnauthorized()
    return project


def _list_reply(
    emulator: "AtlasEmulator", request: Request, options: QueryOptions, items: list, render
) -> Reply:
    body = paginate(
        items,
        options,
        request.base_url,
        request.path,
        page_size_cap=emulator.page_size_cap,
        total_count_mode=emulator.total_count_mode,
        render=render,
    )
    return Reply(payload=body, is_list=True, options=options)


# -- projects -------------------------------------------------------------------------------------


def list_groups(emulator: "AtlasEmulator", request: Request) -> Reply:
    options = _options(emulator, request, LIST_PARAMETERS)
    assert request.principal is not None
    credential = request.principal.credential
    projects = [p for p in emulator.store.projects() if credential.can_access(p.id)]
    return _list_reply(
        emulator, request, options, projects, lambda p: group_json(p, request.base_url)
    )


def list_org_groups(emulator: "AtlasEmulator", request: Request) -> Reply:
    """Projects of one organization, optionally filtered by a case-insensitive name prefix."""
    options = _options(emulator, request, LIST_PARAMETERS | {"name"})
    org_id = request.route.params["orgId"]
    if not OBJECT_ID.match(org_id):
        raise InvalidOrgId(org_id)
    if emulator.store.get_org(org_id) is None:
        raise OrgNotFound(org_id)
    assert request.principal is not None
    credential = request.principal.credential
    in_org = [p for p in emulator.store.projects() if p.org_id == org_id]
    visible = [p for p in in_org if credential.can_access(p.id)]
    if credential.project_ids is not None and not visible:
        raise UserUnauthorized()
    prefix = options.values.get("name")
    if prefix is not None:
        visible = [p for p in visible if p.name.casefold().startswith(prefix.casefold())]
    return _list_reply(
        emulator, request, options, visible, lambda p: group_json(p, request.base_url)
    )


def get_group(emulator: "AtlasEmulator", request: Request) -> Reply:
    options = _options(emulator, request, ENTITY_PARAMETERS)
    project = _project(emulator, request)
    return Reply(payload=group_json(project, request.base_url), options=options)


# -- database users -------------------------------------------------------------------------------


def list_database_users(emulator: "AtlasEmulator", request: Request) -> Reply:
    options = _options(emulator, request, LIST_PARAMETERS)
    project = _project(emulator, request)
    users = emulator.store.users(project.id)
    return _list_reply(emulator, request, options, users, lambda u: user_json(u, request.base_url))


def get_database_user(emulator: "AtlasEmulator", request: Request) -> Reply:
    options = _options(emulator, request, ENTITY_PARAMETERS)
    project = _project(emulator, request)
    params = request.route.params
    user = emulator.store.get_user(project.id, params["databaseName"], params["username"])
    if user is None:
        raise UsernameNotFound(params["username"])
    return Reply(payload=user_json(user, request.base_url), options=options)


# -- certificates ---------------------------------------------------------------------------------


def _managed_user(emulator: "AtlasEmulator", project: Project, username: str) -> DatabaseUser:
    """Find the user of a certs path, which names no database, so $external is searched first.
    A user that is not MANAGED X.509 gets USER_NOT_MANAGED_X509 for GET as well as POST."""
    user = emulator.store.find_user(project.id, username)
    if user is None:
        raise UsernameNotFound(username)
    if not user.is_managed_x509:
        raise UserNotManagedX509(username)
    return user


def list_certs(emulator: "AtlasEmulator", request: Request) -> Reply:
    """Unexpired certificates (notAfter after the emulator clock's now), oldest first."""
    options = _options(emulator, request, LIST_PARAMETERS)
    project = _project(emulator, request)
    user = _managed_user(emulator, project, request.route.params["username"])
    certs = emulator.store.certs(project.id, user.username)
    return _list_reply(emulator, request, options, certs, lambda cert: cert.to_json())


def create_cert(emulator: "AtlasEmulator", request: Request) -> Reply:
    """Create a certificate and return the PEM certificate followed by its private key.

    The body is a UserCert; only monthsUntilExpiration (1-24, default 3) is writable, and any
    other attribute is rejected. An empty body counts as ``{}``.
    """
    options = _options(emulator, request, ENTITY_PARAMETERS)
    project = _project(emulator, request)
    months = _months_from_body(request.body)
    user = _managed_user(emulator, project, request.route.params["username"])
    cert = emulator.store.create_cert(project.id, user.username, months=months)
    pem = emulator.certificate_authority.issue_pem(
        cert.id, user.username, cert.created_at, cert.not_after
    )
    return Reply(status=201, text=pem, options=options)


def _months_from_body(body: bytes) -> int:
    if not body.strip():
        return DEFAULT_CERT_MONTHS
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedJson() from error
    if not isinstance(document, dict):
        raise InvalidJson()
    for key in document:
        if key != "monthsUntilExpiration":
            raise InvalidAttribute(key)
    months = document.get("monthsUntilExpiration", DEFAULT_CERT_MONTHS)
    if isinstance(months, bool) or not isinstance(months, int):
        raise InvalidJsonAttribute("monthsUntilExpiration")
    if months <= 0:
        raise AttributeNegativeOrZero("monthsUntilExpiration")
    if months > MAX_CERT_MONTHS:
        raise CertExpiryCannotExceedTwoYears()
    return months


HANDLERS = {
    ("groups", "GET"): list_groups,
    ("org_groups", "GET"): list_org_groups,
    ("group", "GET"): get_group,
    ("database_users", "GET"): list_database_users,
    ("database_user", "GET"): get_database_user,
    ("certs", "GET"): list_certs,
    ("certs", "POST"): create_cert,
    ("certs_v1", "GET"): list_certs,
    ("certs_v1", "POST"): create_cert,
}
