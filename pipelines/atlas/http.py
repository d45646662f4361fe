"""The retrying, request-counting HTTP session that every Atlas request goes through."""

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.specs import RuntimeConfiguration
from dlt.sources.helpers.requests.retry import Client
from dlt.sources.helpers.requests.session import Session
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from requests.exceptions import ChunkedEncodingError, ConnectionError, SSLError, Timeout
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    wait_random_exponential,
)

from pipelines.atlas.errors import AtlasHTTPError, InvalidResponseBody
from pipelines.atlas.pacing import RateLimitPacer

logger = logging.getLogger(__name__)

RETRYABLE_EXCEPTIONS = (ConnectionError, Timeout, ChunkedEncodingError, InvalidResponseBody)


@dataclass
class RequestStats:
    """Counts of requests sent on the wire, shared by all worker threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    paced_seconds: float = 0.0

    def record(self, status: int | None, paced_seconds: float) -> None:
        with self.lock:
            self.sent += 1
            self.paced_seconds += paced_seconds
            if status is not None:
                self.by_status[status] = self.by_status.get(status, 0) + 1


class ParsedOnceResponse(Response):
    """A Response that parses its JSON body once.

    The body check, dlt's data selector and the paginator each call `json()`. JSON parsing
    was 12% of the walk's CPU samples, so the two extra parses cost about 8%. Callers must
    not change the parsed body, because all of them share it.
    """

    _parsed_body: Any

    def json(self, **kwargs: Any) -> Any:
        if kwargs:
            return super().json(**kwargs)
        try:
            return self._parsed_body
        except AttributeError:
            self._parsed_body = super().json()
            return self._parsed_body


class CountingAdapter(HTTPAdapter):
    """HTTP adapter that counts every request sent, Digest and token round trips included.

    It lets the shared pacer delay a request while Atlas's rate-limit bucket is nearly empty."""

    def __init__(self, stats: RequestStats, pacer: RateLimitPacer, pool_size: int) -> None:
        super().__init__(pool_connections=1, pool_maxsize=pool_size)
        self.stats = stats
        self.pacer = pacer

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        paced = self.pacer.wait_turn()
        try:
            response = super().send(request, **kwargs)
        except Exception:
            self.stats.record(None, paced)
            raise
        self.stats.record(response.status_code, paced)
        self.pacer.observe(response)
        return response

    def build_response(self, req: PreparedRequest, resp: Any) -> Response:
        response = super().build_response(req, resp)
        # Same attributes, one method more: requests has no hook to choose the Response class.
        response.__class__ = ParsedOnceResponse
        return response


class AtlasRetryWait:
    """Wait time before a retry: `Retry-After` when the response has one, otherwise an
    exponential back-off with full jitter."""

    def __init__(self, backoff_factor: float, max_delay: float) -> None:
        self.exponential = wait_random_exponential(multiplier=backoff_factor, max=max_delay)

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        response = getattr(error, "response", None)
        if response is not None:
            retry_after = _retry_after_seconds(response)
            if retry_after is not None:
                return retry_after
        return float(self.exponential(retry_state))


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, AtlasHTTPError):
        return error.is_retryable
    if isinstance(error, SSLError):
        return False  # a certificate that fails verification fails again
    return isinstance(error, RETRYABLE_EXCEPTIONS)


class AtlasHttpClient(Client):
    """dlt's retrying requests client with Atlas's retry rules.

    Subclasses dlt's Client because its retry waits carry no jitter, cap `Retry-After` at
    the maximum delay, and never retry a rate limit that Atlas reports as HTTP 400.
    """

    def __init__(
        self,
        runtime: RuntimeConfiguration,
        stats: RequestStats,
        pacer: RateLimitPacer,
        pool_size: int,
    ) -> None:
        super().__init__(
            request_timeout=runtime.request_timeout,
            max_connections=pool_size,
            raise_for_status=False,
            request_max_attempts=runtime.request_max_attempts,
            request_backoff_factor=runtime.request_backoff_factor,
            request_max_retry_delay=runtime.request_max_retry_delay,
        )
        self._adapter = CountingAdapter(stats, pacer, pool_size)
        self.stats = stats

    def _make_session(self) -> Session:
        session = Session(**self._session_kwargs)  # type: ignore[arg-type]
        session.mount("http://", self._adapter)
        session.mount("https://", self._adapter)
        send = session.send
        settings = self._retry_kwargs

        def send_with_retries(request: PreparedRequest, **kwargs: Any) -> Response:
            # A new Retrying per call: all worker threads share this session, and the
            # statistics dict behind tenacity's wraps() is shared by every caller (tenacity 9.2).
            retrying = Retrying(
                retry=retry_if_exception(is_retryable),
                wait=AtlasRetryWait(settings["backoff_factor"], float(settings["max_delay"])),
                stop=RetryBudget(settings["max_attempts"], float(settings["max_delay"])),
                before_sleep=_log_retry,
                reraise=True,
            )
            attempts = 0

            def attempt(request: PreparedRequest, **kwargs: Any) -> Response:
                nonlocal attempts
                attempts += 1
                sign_again = getattr(request, "sign_again", None)
                if attempts > 1 and sign_again is not None:
                    sign_again(request)
                return send(request, **kwargs)

            return retrying(attempt, request, **kwargs)

        session.send = send_with_retries  # type: ignore[method-assign]
        return session


class RetryBudget:
    """Stops retrying after `max_attempts` failed attempts that were not rate limits, or once
    `max_seconds` have passed since the first attempt.

    Rate-limit responses do not use up attempts, because the pacer already makes every thread
    wait its turn. The time bound ends a request that Atlas keeps throttling.
    """

    def __init__(self, max_attempts: int, max_seconds: float) -> None:
        self.max_attempts = max_attempts
        self.max_seconds = max_seconds

    def __call__(self, retry_state: RetryCallState) -> bool:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        failures = getattr(retry_state, "atlas_failures", 0)
        if not (isinstance(error, AtlasHTTPError) and error.is_rate_limit):
            failures += 1
            retry_state.atlas_failures = failures  # type: ignore[attr-defined]
        elapsed = retry_state.seconds_since_start or 0.0
        return failures >= self.max_attempts or elapsed >= self.max_seconds


def build_session(stats: RequestStats, pacer: RateLimitPacer, pool_size: int) -> Session:
    """Return a retrying session configured from dlt's `[runtime]` request settings."""
    runtime = resolve_configuration(RuntimeConfiguration())
    return AtlasHttpClient(runtime, stats, pacer, pool_size).session


def _retry_after_seconds(response: Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value.isdigit():
        return None
    return float(value)


def _log_retry(retry_state: RetryCallState) -> None:
    error = retry_state.outcome.exception() if retry_state.outcome else None
    wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
    logger.info(
        "retrying after %s (attempt %d, waiting %.1f s)", error, retry_state.attempt_number, wait
    )
