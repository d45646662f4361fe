"""Route table: raw request path -> route name and decoded path parameters.

The raw path is split on ``/`` first and each segment is then percent-decoded exactly once, so
``%2F`` inside a username is part of the name and never a separator. Where a path fits two
templates (``databaseUsers/{databaseName}/{username}`` and ``databaseUsers/{username}/certs``
when the last segment is ``certs``), the literal segment wins, as in JAX-RS-style routers.
NOTE: Atlas does not document which route it picks for such a path.
"""

from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

V2 = ("api", "atlas", "v2")
V1 = ("api", "atlas", "v1.0")

# Route name -> allowed methods.
METHODS: dict[str, tuple[str, ...]] = {
    "groups": ("GET",),
    "org_groups": ("GET",),
    "group": ("GET",),
    "database_users": ("GET",),
    "database_user": ("GET",),
    "certs": ("GET", "POST"),
    "certs_v1": ("GET", "POST"),
    "oauth_token": ("POST",),
    "oauth_revoke": ("POST",),
}


class InvalidPathEncoding(ValueError):
    """A path segment is not valid percent-encoded UTF-8."""


@dataclass(frozen=True, slots=True)
class RouteMatch:
    name: str
    params: dict[str, str]

    @property
    def is_v2(self) -> bool:
        return self.name not in ("certs_v1", "oauth_token", "oauth_revoke")


def decode_segments(raw_path: str) -> list[str]:
    """Split a raw path (no query) on ``/`` and percent-decode each segment as UTF-8."""
    segments = raw_path.split("/")[1:]
    try:
        # http.server hands over the request line as latin-1 text; recover the bytes first.
        return [unquote_to_bytes(segment.encode("latin-1")).decode("utf-8") for segment in segments]
    except (UnicodeDecodeError, UnicodeEncodeError) as error:
        raise InvalidPathEncoding(str(error)) from error


def match_route(segments: list[str]) -> RouteMatch | None:
    count = len(segments)

    if count == 3 and segments[0] == "api" and segments[1] == "oauth":
        if segments[2] == "token":
            return RouteMatch("oauth_token", {})
        if segments[2] == "revoke":
            return RouteMatch("oauth_revoke", {})
        return None

    if count >= 4 and tuple(segments[:3]) == V1:
        rest = segments[3:]
        is_certs = len(rest) == 5 and (rest[0], rest[2], rest[4]) == (
            "groups",
            "databaseUsers",
            "certs",
        )
        if is_certs and rest[1] and rest[3]:
            return RouteMatch("certs_v1", {"groupId": rest[1], "username": rest[3]})
        return None

    if count < 4 or tuple(segments[:3]) != V2:
        return None
    rest = segments[3:]
    if rest == ["groups"]:
        return RouteMatch("groups", {})
    if len(rest) == 3 and rest[0] == "orgs" and rest[2] == "groups" and rest[1]:
        return RouteMatch("org_groups", {"orgId": rest[1]})
    if rest[0] != "groups" or len(rest) < 2 or not rest[1]:
        return None
    group = {"groupId": rest[1]}

    if len(rest) == 2:
        return RouteMatch("group", group)
    if rest[2] != "databaseUsers":
        return None
    if len(rest) == 3:
        return RouteMatch("database_users", group)
    if len(rest) == 5 and rest[4] == "certs" and rest[3]:
        return RouteMatch("certs", {**group, "username": rest[3]})
    if len(rest) == 5 and rest[3] and rest[4]:
        return RouteMatch("database_user", {**group, "databaseName": rest[3], "username": rest[4]})
    return None
