"""Responses that replace or change a reply when a fault rule fires."""

import logging
from http import HTTPStatus

from .errors import (
    ApiError,
    RateLimited,
    RateLimitedTokenBucket,
    TimeoutWhilePaging,
    UsernameNotFound,
    error_for_status,
)
from .faults import FaultRule
from .render import invalid_json
from .routes import RouteMatch
from .store import Store

logger = logging.getLogger(__name__)

# Route name -> endpoint text used in rate-limit details, as Atlas writes it (no leading slash).
ENDPOINTS = {
    "groups": "api/atlas/v2/groups",
    "org_groups": "api/atlas/v2/orgs/{orgId}/groups",
    "group": "api/atlas/v2/groups/{groupId}",
    "database_users": "api/atlas/v2/groups/{groupId}/databaseUsers",
    "database_user": "api/atlas/v2/groups/{groupId}/databaseUsers/{databaseName}/{username}",
    "certs": "api/atlas/v2/groups/{groupId}/databaseUsers/{username}/certs",
    "certs_v1": "api/atlas/v1.0/groups/{groupId}/databaseUsers/{username}/certs",
}
# An nginx-style maintenance page, the kind a load balancer sends instead of JSON.
HTML_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
)
# Bucket figures quoted in the detail of an injected 429.
INJECTED_CAPACITY, INJECTED_REFILL_RATE, INJECTED_REFILL_SECONDS = 100, 10, 60


def injected_error(
    store: Store, rule: FaultRule, route: RouteMatch, page_num: int, rate_limit: str
) -> ApiError:
    """Build the ApiError for a replacing rule other than ``reset`` and HTML ``status``.
    ``rate_limit`` is the RateLimit-Limit value a ``rate_limit`` rule sends with its headers."""
    kind = rule.kind
    endpoint = ENDPOINTS.get(route.name, route.name)
    if kind == "status":
        error = error_for_status(rule.status, rule.error_code)
        if rule.retry_after:
            error.headers = [("Retry-After", str(rule.retry_after))]
        return error
    if kind == "rate_limit":
        retry_after = rule.retry_after or 1
        headers = []
        if rule.with_headers:
            headers = [
                ("RateLimit-Limit", rate_limit),
                ("RateLimit-Remaining", "0"),
                ("Retry-After", str(retry_after)),
            ]
        return RateLimitedTokenBucket(
            endpoint,
            retry_after,
            INJECTED_CAPACITY,
            INJECTED_REFILL_RATE,
            INJECTED_REFILL_SECONDS,
            headers=headers,
        )
    if kind == "rate_limit_400":
        return RateLimited(endpoint, rule.error_code)
    if kind == "timeout_while_paging":
        return TimeoutWhilePaging(page_num)
    if kind == "user_deleted":
        username = route.params.get("username", "")
        try:
            store.delete_user(route.params.get("groupId", ""), username)
        except KeyError:
            logger.debug("user_deleted fault: user %r was already absent", username)
        return UsernameNotFound(username)
    raise ValueError(f"fault kind {kind!r} does not replace the response with an ApiError")


def html_page(status: int) -> bytes:
    if status == 503:
        return HTML_503
    phrase = HTTPStatus(status).phrase
    return (
        f"<html><head><title>{status} {phrase}</title></head>"
        f"<body><h1>{status} {phrase}</h1></body></html>"
    ).encode()


def apply_body_fault(rule: FaultRule, data: bytes) -> bytes:
    """Change an encoded body as a ``truncated_json`` or ``invalid_json`` rule describes."""
    if rule.kind == "truncated_json":
        return data[: max(1, len(data) // 2)]
    if rule.kind == "invalid_json":
        return invalid_json(data)
    return data
