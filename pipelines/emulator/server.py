"""HTTP/1.1 keep-alive server: parses requests, authenticates, applies rate limits and faults,
calls a handler and writes the response. One thread serves each connection.
"""

import contextlib
import logging
import socket
import struct
import threading
from datetime import UTC, datetime
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from . import control, oauth
from .auth import DigestChallenge, Principal
from .errors import (
    ApiError,
    InvalidPathParameter,
    LengthRequired,
    MethodNotAllowed,
    RateLimitedTokenBucket,
    ResourceNotFound,
    Unauthorized,
    UnexpectedError,
)
from .fault_responses import ENDPOINTS, apply_body_fault, html_page, injected_error
from .faults import FaultContext, FaultPlan, FaultRule
from .handlers import HANDLERS, Reply, Request
from .ratelimit import UNLIMITED_HEADER_VALUE
from .render import apply_malformed, to_json_bytes, wrap_envelope
from .routes import METHODS, InvalidPathEncoding, RouteMatch, decode_segments, match_route
from .stats import RequestRecord
from .versioning import V1_CONTENT_TYPE, V2_CONTENT_TYPE, require_supported_version

if TYPE_CHECKING:
    from .emulator import AtlasEmulator

logger = logging.getLogger(__name__)

ERROR_CONTENT_TYPE = "application/json"
SERVICE_VERSION = "gitHash=4e1a8c0f2b7d9e3a6c5b8d0f1e2a3b4c5d6e7f80; versionString=v20260821"


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], emulator: "AtlasEmulator") -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self._connections_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        super().__init__(address, AtlasRequestHandler)

    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    @property
    def connection_count(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    def close_connections(self) -> None:
        """Shut down every open keep-alive connection so its thread ends."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Outcome:
    """Route, status and caller of one request, collected for the stats log."""

    __slots__ = (
        "auth_kind",
        "credential_id",
        "fault",
        "path",
        "project_id",
        "query",
        "recorded",
        "route",
        "status",
        "username",
    )

    def __init__(self, path: str, query: dict[str, list[str]]) -> None:
        self.path = path
        self.query = query
        self.recorded = False
        self.route: str | None = None
        self.status = 0
        self.username: str | None = None
        self.project_id: str | None = None
        self.auth_kind: str | None = None
        self.credential_id: str | None = None
        self.fault: str | None = None


class AtlasRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    # Seconds an idle keep-alive connection is kept open.
    timeout = 300
    server: EmulatorHTTPServer
    _outcome: "_Outcome"

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    # -- dispatch -------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        raw_path, _, raw_query = self.path.partition("?")
        query = parse_qs(raw_query, keep_blank_values=True)
        self._outcome = outcome = _Outcome(raw_path, query)
        try:
            self._serve(emulator, raw_path, query, outcome)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("client closed the connection during %s %s", self.command, self.path)
            self.close_connection = True
        except Exception:
            logger.exception("failed to serve %s %s", self.command, self.path)
            if not outcome.recorded:
                self._send_error(UnexpectedError(), outcome, close=True)
        finally:
            self._record(outcome)

    def _record(self, outcome: "_Outcome") -> None:
        """Add the request to the stats log once, before its response is written, so a client
        that has its response always finds the record."""
        if outcome.recorded:
            return
        outcome.recorded = True
        self.server.emulator.stats.record(
            RequestRecord(
                method=self.command,
                route=outcome.route,
                path=outcome.path,
                query={key: values[-1] for key, values in outcome.query.items()},
                status=outcome.status,
                username=outcome.username,
                project_id=outcome.project_id,
                auth_kind=outcome.auth_kind,
                credential_id=outcome.credential_id,
                fault=outcome.fault,
                received_at=datetime.now(UTC),
            )
        )

    def _serve(
        self,
        emulator: "AtlasEmulator",
        raw_path: str,
        query: dict[str, list[str]],
        outcome: _Outcome,
    ) -> None:
        body = self._read_body()
        if body is None:
            self._send_error(LengthRequired(), outcome, close=True)
            return
        if raw_path.startswith(control.PREFIX):
            self._serve_control(emulator, raw_path, body, outcome)
            return
        try:
            segments = decode_segments(raw_path)
        except InvalidPathEncoding:
            self._send_error(InvalidPathParameter(raw_path), outcome)
            return
        route = match_route(segments)
        if route is None:
            self._send_error(ResourceNotFound(raw_path), outcome)
            return
        outcome.route = route.name
        outcome.username = route.params.get("username")
        outcome.project_id = route.params.get("groupId")
        if route.name in ("oauth_token", "oauth_revoke"):
            self._serve_oauth(emulator, route, query, body, outcome)
            return

        principal = self._authenticate(emulator, outcome)
        if principal is None:
            return
        if self.command not in METHODS[route.name]:
            self._send_error(MethodNotAllowed(self.command, list(METHODS[route.name])), outcome)
            return
        try:
            if route.is_v2:
                require_supported_version(self.headers.get("Accept"))
            rate_headers = self._take_rate_limit(emulator, principal, route)
        except ApiError as error:
            self._send_error(error, outcome)
            return

        plan = emulator.faults.plan(_fault_context(route, self.command, query))
        outcome.fault = plan.kind
        if plan.delay_seconds and emulator.wait_interruptibly(plan.delay_seconds):
            return
        if plan.replace is not None:
            self._send_replacement(emulator, plan.replace, route, query, outcome, rate_headers)
            return

        request = Request(
            method=self.command,
            path=raw_path,
            query=query,
            headers=self.headers,
            body=body,
            route=route,
            base_url=self._base_url(emulator),
            principal=principal,
        )
        try:
            reply = HANDLERS[(route.name, self.command)](emulator, request)
        except ApiError as error:
            error.headers = [*error.headers, *rate_headers]
            self._send_error(error, outcome)
            return
        except Exception:
            logger.exception("handler failed for %s %s", self.command, self.path)
            self._send_error(UnexpectedError(), outcome)
            return
        self._send_reply(reply, route, plan, outcome, rate_headers)

    # -- steps ----------------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        """Read the request body so the connection stays in sync; None if it is chunked or
        its Content-Length is not a number."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _authenticate(self, emulator: "AtlasEmulator", outcome: _Outcome) -> Principal | None:
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        try:
            if scheme.lower() == "digest":
                principal = emulator.authenticator.verify_digest(value, self.command, self.path)
            elif scheme.lower() == "bearer":
                principal = emulator.authenticator.verify_bearer(value.strip())
            else:
                raise DigestChallenge()
        except DigestChallenge as challenge:
            challenge_header = emulator.authenticator.challenge_header(stale=challenge.stale)
            error = Unauthorized(challenge.detail)
            error.headers = [("WWW-Authenticate", challenge_header)]
            self._send_error(error, outcome)
            return None
        except Unauthorized as error:
            error.headers = [("WWW-Authenticate", 'Bearer error="invalid_token"')]
            outcome.auth_kind = "bearer"
            self._send_error(error, outcome)
            return None
        outcome.auth_kind = principal.auth_kind
        outcome.credential_id = principal.credential.id
        return principal

    def _take_rate_limit(
        self, emulator: "AtlasEmulator", principal: Principal, route: RouteMatch
    ) -> list[tuple[str, str]]:
        limiter = emulator.rate_limiter
        if limiter is None:
            value = str(UNLIMITED_HEADER_VALUE)
            return [("RateLimit-Limit", value), ("RateLimit-Remaining", value)]
        decision = limiter.take(
            limiter.key_for(principal.credential.id, route.params.get("groupId"))
        )
        headers = [
            ("RateLimit-Limit", str(decision.limit)),
            ("RateLimit-Remaining", str(decision.remaining)),
        ]
        if decision.allowed:
            return headers
        config = limiter.config
        raise RateLimitedTokenBucket(
            ENDPOINTS[route.name],
            decision.retry_after,
            config.capacity,
            config.refill_rate,
            config.refill_seconds,
            headers=[*headers, ("Retry-After", str(decision.retry_after))],
        )

    def _serve_oauth(
        self,
        emulator: "AtlasEmulator",
        route: RouteMatch,
        query: dict[str, list[str]],
        body: bytes,
        outcome: _Outcome,
    ) -> None:
        outcome.auth_kind = "basic"
        if self.command != "POST":
            self._send_error(MethodNotAllowed(self.command, ["POST"]), outcome)
            return
        plan = emulator.faults.plan(_fault_context(route, self.command, query))
        outcome.fault = plan.kind
        if plan.delay_seconds and emulator.wait_interruptibly(plan.delay_seconds):
            return
        if plan.replace is not None:
            self._send_replacement(emulator, plan.replace, route, query, outcome, [])
            return
        operation = oauth.issue_token if route.name == "oauth_token" else oauth.revoke_token
        reply = operation(
            emulator.authenticator,
            self.headers.get("Authorization"),
            self.headers.get("Content-Type"),
            body,
        )
        if reply.credential is not None:
            outcome.credential_id = reply.credential.id
        payload = to_json_bytes(reply.payload)
        if plan.body is not None:
            payload = apply_body_fault(plan.body, payload)
        outcome.status = reply.status
        self._send(reply.status, payload, "application/json", list(reply.headers))

    def _serve_control(
        self, emulator: "AtlasEmulator", raw_path: str, body: bytes, outcome: _Outcome
    ) -> None:
        outcome.route = "control"
        if not control.is_allowed(emulator, self.client_address[0], self.headers.get("Host")):
            status, payload = 403, {"error": "control endpoints accept only the emulator's host"}
        else:
            try:
                status, payload = control.handle(emulator, self.command, raw_path, body)
            except control.ControlError as error:
                status, payload = error.status, {"error": error.message}
        outcome.status = status
        data = b"" if payload is None else to_json_bytes(payload)
        self._send(status, data, "application/json" if payload is not None else None, [])

    def _send_replacement(
        self,
        emulator: "AtlasEmulator",
        rule: FaultRule,
        route: RouteMatch,
        query: dict[str, list[str]],
        outcome: _Outcome,
        rate_headers: list[tuple[str, str]],
    ) -> None:
        """Send the response that a replacing fault rule describes."""
        kind = rule.kind
        if kind == "reset":
            outcome.status = 0  # no response at all
            self._record(outcome)
            self._reset_connection()
            return
        if kind == "status" and rule.html:
            outcome.status = rule.status
            headers = [("Retry-After", str(rule.retry_after))] if rule.retry_after else []
            self._send(rule.status, html_page(rule.status), "text/html", headers)
            return
        limit = rate_headers[0][1] if rate_headers else str(UNLIMITED_HEADER_VALUE)
        error = injected_error(emulator.store, rule, route, _page_num(query), limit)
        self._send_error(error, outcome)

    def _send_reply(
        self,
        reply: Reply,
        route: RouteMatch,
        plan: FaultPlan,
        outcome: _Outcome,
        rate_headers: list[tuple[str, str]],
    ) -> None:
        content_type = V2_CONTENT_TYPE if route.is_v2 else V1_CONTENT_TYPE
        headers = [*rate_headers, *reply.headers]
        outcome.status = reply.status
        if reply.text is not None:
            self._send(reply.status, reply.text.encode("utf-8"), content_type, headers)
            return
        options = reply.options
        payload = reply.payload
        if plan.body is not None and plan.body.kind == "malformed":
            payload = apply_malformed(payload, plan.body.variant or "")
        if options is not None and options.envelope:
            payload = wrap_envelope(payload, reply.status, reply.is_list)
        data = to_json_bytes(payload, pretty=bool(options and options.pretty))
        declared = None
        if plan.body is not None and plan.body.kind != "malformed":
            if plan.body.kind == "truncated_json" and plan.body.variant == "incomplete":
                declared = len(data)
            data = apply_body_fault(plan.body, data)
        self._send(reply.status, data, content_type, headers, declared_length=declared)

    # -- writing --------------------------------------------------------------------------------

    def _send_error(self, error: ApiError, outcome: _Outcome, close: bool = False) -> None:
        outcome.status = error.status
        self._send(
            error.status,
            to_json_bytes(error.body()),
            ERROR_CONTENT_TYPE,
            error.headers,
            close=close,
        )

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: list[tuple[str, str]],
        close: bool = False,
        declared_length: int | None = None,
    ) -> None:
        """Write status line, headers and body in one call. With ``declared_length`` larger than
        the body, the connection is closed after the short body (an incomplete response)."""
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            f"Date: {formatdate(usegmt=True)}",
            f"X-MongoDB-Service-Version: {SERVICE_VERSION}",
            f"Content-Length: {declared_length if declared_length is not None else len(body)}",
        ]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines.extend(f"{name}: {value}" for name, value in headers)
        if close or declared_length is not None:
            self.close_connection = True
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self._outcome.status = status
        self._record(self._outcome)
        self.wfile.write(head if self.command == "HEAD" else head + body)

    def _reset_connection(self) -> None:
        """Close the socket with SO_LINGER 0, so the client sees a TCP reset."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            logger.debug("socket already closed before reset")

    def _base_url(self, emulator: "AtlasEmulator") -> str:
        host = self.headers.get("Host")
        return f"http://{host}" if host else emulator.base_url


def _fault_context(route: RouteMatch, method: str, query: dict[str, list[str]]) -> FaultContext:
    include_count = (query.get("includeCount") or ["true"])[-1].lower() != "false"
    return FaultContext(
        route=route.name,
        method=method,
        username=route.params.get("username"),
        project_id=route.params.get("groupId"),
        page_num=_page_num(query),
        include_count=include_count,
    )


def _page_num(query: dict[str, list[str]]) -> int:
    text = (query.get("pageNum") or ["1"])[-1]
    return int(text) if text.isdigit() else 1
