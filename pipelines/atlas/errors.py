"""Errors raised for Atlas responses, carrying only secret-free facts about them."""

from typing import Any

from requests import HTTPError, RequestException, Response

# Maximum length of a reason kept from a response, enough for an ApiError detail line.
MAX_REASON_LENGTH = 200


class AtlasHTTPError(HTTPError):
    """An Atlas response with an error status, with the ApiError `errorCode` when present.

    The message contains the method, the path and the status but never a header, so no
    credential can leak through it.
    """

    def __init__(self, response: Response) -> None:
        self.status_code = response.status_code
        self.error_code, self.detail = _api_error_fields(response)
        request = response.request
        path = request.path_url.split("?", 1)[0] if request is not None else "?"
        method = request.method if request is not None else "GET"
        message = f"{method} {path} failed with HTTP {self.status_code}"
        if self.error_code:
            message += f" {self.error_code}"
        if self.detail:
            message += f": {self.detail}"
        super().__init__(message, response=response)

    @property
    def is_rate_limit(self) -> bool:
        return self.status_code == 429 or "RATE_LIMITED" in (self.error_code or "")

    @property
    def is_retryable(self) -> bool:
        return self.is_rate_limit or self.status_code >= 500


class InvalidResponseBody(RequestException):
    """A success response whose body is not the JSON object Atlas documents."""

    def __init__(self, response: Response, problem: str) -> None:
        request = response.request
        path = request.path_url.split("?", 1)[0] if request is not None else "?"
        super().__init__(f"GET {path} returned an invalid body: {problem}", response=response)
        self.status_code = response.status_code


def raise_for_atlas_status(response: Response, *args: Any, **kwargs: Any) -> None:
    """Raise AtlasHTTPError for 4xx and 5xx responses and unfollowed redirects.

    Used as a requests response hook."""
    if response.status_code >= 300:
        raise AtlasHTTPError(response)


def require_json_object(response: Response, *args: Any, **kwargs: Any) -> None:
    """Raise InvalidResponseBody when a success body is not a JSON object; a response hook.

    Runs inside the retrying send, so a truncated or garbled body is fetched again.
    """
    try:
        body = response.json()
    except ValueError as error:
        raise InvalidResponseBody(response, f"not JSON ({error.__class__.__name__})") from None
    if not isinstance(body, dict):
        raise InvalidResponseBody(response, f"expected a JSON object, got {type(body).__name__}")
    if "results" in body and not isinstance(body["results"], list):
        raise InvalidResponseBody(response, "`results` is not a list")


def short_reason(error: BaseException) -> str:
    """Return a one-line, secret-free description of a failed fetch for the fetch log."""
    # requests wraps transport failures in urllib3's MaxRetryError; its reason is the cause.
    inner = error.args[0] if isinstance(error, RequestException) and error.args else None
    cause = getattr(inner, "reason", None)
    if cause is not None:
        text = f"{error.__class__.__name__}: {cause}"
    else:
        text = str(error) or error.__class__.__name__
    return text.splitlines()[0][:MAX_REASON_LENGTH]


def _api_error_fields(response: Response) -> tuple[str | None, str | None]:
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    code = body.get("errorCode")
    detail = body.get("detail") or body.get("reason")
    return (
        str(code) if code is not None else None,
        str(detail)[:MAX_REASON_LENGTH] if detail is not None else None,
    )
