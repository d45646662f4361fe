"""Atlas API errors, one class per errorCode.

Each is returned as an ApiError JSON body (``error``, ``errorCode``, ``detail``, ``reason``,
``parameters``) with content type ``application/json``. Codes, statuses and detail texts follow
the Atlas Administration API error-code table. Where Atlas documents no code for a case, the
class docstring states that the code is the emulator's choice.
"""

from http import HTTPStatus
from typing import Any


class ApiError(Exception):
    status: int = 500
    error_code: str = "UNEXPECTED_ERROR"

    def __init__(
        self,
        detail: str | None = None,
        parameters: list[Any] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(detail or self.error_code)
        self.detail = detail
        self.parameters = parameters or []
        self.headers = headers or []

    @property
    def reason(self) -> str:
        return HTTPStatus(self.status).phrase

    def body(self) -> dict[str, Any]:
        return {
            "detail": self.detail,
            "error": self.status,
            "errorCode": self.error_code,
            "parameters": self.parameters,
            "reason": self.reason,
        }


class InvalidQueryParameter(ApiError):
    status = 400
    error_code = "INVALID_QUERY_PARAMETER"

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"Invalid query parameter {name} specified: {problem}.", [name])


class MalformedJson(ApiError):
    status = 400
    error_code = "MALFORMED_JSON"

    def __init__(self) -> None:
        super().__init__("Received JSON is malformed.")


class InvalidJsonAttribute(ApiError):
    status = 400
    error_code = "INVALID_JSON_ATTRIBUTE"

    def __init__(self, attribute: str) -> None:
        super().__init__(
            f"Received JSON for the {attribute} attribute does not match expected format.",
            [attribute],
        )


class InvalidAttribute(ApiError):
    status = 400
    error_code = "INVALID_ATTRIBUTE"

    def __init__(self, attribute: str) -> None:
        super().__init__(f"Invalid attribute {attribute} specified.", [attribute])


class AttributeNegativeOrZero(ApiError):
    status = 400
    error_code = "ATTRIBUTE_NEGATIVE_OR_ZERO"

    def __init__(self, attribute: str) -> None:
        super().__init__(f"The attribute {attribute} cannot be negative or zero.", [attribute])


class CertExpiryCannotExceedTwoYears(ApiError):
    status = 400
    error_code = "CERT_EXPIRY_CANNOT_EXCEED_TWO_YEARS"

    def __init__(self) -> None:
        super().__init__(
            "Atlas-generated X.509 certificates have a maximum expiration of 24 months."
        )


class UserNotManagedX509(ApiError):
    status = 400
    error_code = "USER_NOT_MANAGED_X509"

    def __init__(self, username: str) -> None:
        super().__init__("The user does not have managed mode X509 enabled.", [username])


class RateLimited(ApiError):
    """A rate limit reported with status 400, as some Atlas endpoints do (fault injection only)."""

    status = 400
    error_code = "RATE_LIMITED"

    def __init__(self, resource: str, error_code: str | None = None) -> None:
        super().__init__(
            f"Resource {resource} is limited to 10 requests every 1 minutes.", [resource]
        )
        if error_code:
            self.error_code = error_code


class Unauthorized(ApiError):
    """Missing or invalid credentials. Atlas documents no errorCode for this case; the emulator
    uses UNAUTHORIZED with the detail text Atlas and Ops Manager return."""

    status = 401
    error_code = "UNAUTHORIZED"

    def __init__(self, detail: str = "You are not authorized for this resource.") -> None:
        super().__init__(detail)


class UserUnauthorized(ApiError):
    """The credential is valid but not granted the project or organization."""

    status = 401
    error_code = "USER_UNAUTHORIZED"

    def __init__(self) -> None:
        super().__init__("Current user is not authorized to perform this action.")


class ResourceNotFound(ApiError):
    status = 404
    error_code = "RESOURCE_NOT_FOUND"

    def __init__(self, resource: str) -> None:
        super().__init__(f"Cannot find resource {resource}.", [resource])


class InvalidGroupId(ApiError):
    status = 404
    error_code = "INVALID_GROUP_ID"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"An invalid group ID {group_id} was specified.", [group_id])


class GroupNotFound(ApiError):
    status = 404
    error_code = "GROUP_NOT_FOUND"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"No group with ID {group_id} exists.", [group_id])


class InvalidOrgId(ApiError):
    status = 404
    error_code = "INVALID_ORG_ID"

    def __init__(self, org_id: str) -> None:
        super().__init__(f"An invalid organization ID {org_id} was specified.", [org_id])


class OrgNotFound(ApiError):
    status = 404
    error_code = "ORG_NOT_FOUND"

    def __init__(self, org_id: str) -> None:
        super().__init__(f"No organization with ID {org_id} exists.", [org_id])


class UsernameNotFound(ApiError):
    status = 404
    error_code = "USERNAME_NOT_FOUND"

    def __init__(self, username: str) -> None:
        super().__init__(f"No user with username {username} exists.", [username])


class MethodNotAllowed(ApiError):
    """Atlas documents no errorCode for an unsupported method; the emulator uses this one."""

    status = 405
    error_code = "METHOD_NOT_ALLOWED"

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(
            f"Method {method} is not allowed on this resource.",
            [method],
            headers=[("Allow", ", ".join(allowed))],
        )


class InvalidVersionDate(ApiError):
    status = 406
    error_code = "INVALID_VERSION_DATE"

    def __init__(self) -> None:
        super().__init__("Invalid accept header or version date.")


class LengthRequired(ApiError):
    """A request body without a numeric Content-Length; the emulator does not read chunked
    bodies."""

    status = 411
    error_code = "LENGTH_REQUIRED"

    def __init__(self) -> None:
        super().__init__("A request body must be sent with a Content-Length header.")


class RateLimitedTokenBucket(ApiError):
    status = 429
    error_code = "RATE_LIMITED_TOKEN_BUCKET"

    def __init__(
        self,
        endpoint: str,
        retry_after: int,
        capacity: int,
        refill_rate: int,
        refill_seconds: int,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(
            f"Rate limit exceeded for {endpoint}. Please retry after {retry_after} seconds. "
            f"Request capacity: {capacity}. Refill rate: {refill_rate} per {refill_seconds} "
            "seconds.",
            [endpoint, retry_after, capacity, refill_rate, refill_seconds],
            headers=headers,
        )


class UnexpectedError(ApiError):
    status = 500
    error_code = "UNEXPECTED_ERROR"

    def __init__(self) -> None:
        super().__init__("Unexpected error.")


class TimeoutWhilePaging(ApiError):
    """Atlas gives up counting a deep page when includeCount=true (fault injection only)."""

    status = 500
    error_code = "TIMEOUT_WHILE_PAGING"

    def __init__(self, page_num: int) -> None:
        super().__init__(
            f"Timed out while counting results for page {page_num}. "
            "Retry the request with includeCount=false.",
            [page_num],
        )


class ServiceUnavailable(ApiError):
    status = 503
    error_code = "SERVICE_UNAVAILABLE"

    def __init__(self) -> None:
        super().__init__("Service Unavailable.")


class GenericStatusError(ApiError):
    """Any other injected status; the errorCode is the status name, e.g. BAD_GATEWAY."""

    def __init__(self, status: int, error_code: str | None = None) -> None:
        self.status = status
        self.error_code = error_code or HTTPStatus(status).name
        super().__init__(HTTPStatus(status).description or HTTPStatus(status).phrase)


def error_for_status(status: int, error_code: str | None = None) -> ApiError:
    """The ApiError an injected ``status`` fault returns."""
    if status == 500 and error_code is None:
        return UnexpectedError()
    if status == 503 and error_code is None:
        return ServiceUnavailable()
    return GenericStatusError(status, error_code)


class InvalidJson(ApiError):
    status = 400
    error_code = "INVALID_JSON"

    def __init__(self) -> None:
        super().__init__("Received JSON does not match expected format.")


class InvalidPathParameter(ApiError):
    status = 400
    error_code = "INVALID_PATH_PARAMETER"

    def __init__(self, path: str) -> None:
        super().__init__(f"Invalid path parameter {path} specified.", [path])
