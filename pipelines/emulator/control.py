"""Control endpoints under /_emulator/, served only by the emulator and not part of Atlas.

They need no Atlas credentials. To keep other hosts and web pages out, a request is accepted
only from a loopback client address and only when its Host header names the emulator itself
(its bound address, ``localhost`` or a loopback address, with the emulator's port).

- ``GET  /_emulator/health``  -> ``{"status": "ok"}``
- ``GET  /_emulator/clock``   -> ``{"now": "...Z", "frozen": bool}``
- ``POST /_emulator/clock``   with one of ``{"now": "2026-06-02T13:56:22Z"}``,
  ``{"advanceSeconds": 86400}`` or ``{"realTime": true}``
- ``GET  /_emulator/faults``, ``POST /_emulator/faults`` (FaultRule fields, snake_case) and
  ``DELETE /_emulator/faults``
- ``GET  /_emulator/stats`` -> ``{"count": n}``; ``DELETE /_emulator/stats`` resets the log
"""

import ipaddress
import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .clock import format_timestamp, parse_timestamp
from .faults import FaultRule

if TYPE_CHECKING:
    from .emulator import AtlasEmulator

PREFIX = "/_emulator/"


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_allowed(emulator: "AtlasEmulator", client_address: str, host_header: str | None) -> bool:
    try:
        if not ipaddress.ip_address(client_address.split("%", 1)[0]).is_loopback:
            return False
    except ValueError:
        return False
    return (host_header or "").lower() in emulator.own_authorities()


def handle(
    emulator: "AtlasEmulator", method: str, path: str, body: bytes
) -> tuple[int, dict[str, Any] | None]:
    """Run one control request and return (status, JSON body or None for 204)."""
    resource = path[len(PREFIX) :]
    if resource == "health" and method == "GET":
        return 200, {"status": "ok"}
    if resource == "clock":
        if method == "POST":
            _change_clock(emulator, _json_object(body))
        elif method != "GET":
            raise ControlError(405, f"method {method} is not allowed on {path}")
        clock = emulator.clock
        return 200, {"now": format_timestamp(clock.now()), "frozen": clock.frozen}
    if resource == "faults":
        if method == "GET":
            return 200, {"rules": [rule.to_json() for rule in emulator.faults.rules]}
        if method == "POST":
            try:
                rule = FaultRule(**_json_object(body))
            except (TypeError, ValueError) as error:
                raise ControlError(400, f"invalid fault rule: {error}") from error
            emulator.faults.add(rule)
            return 201, rule.to_json()
        if method == "DELETE":
            emulator.faults.clear()
            return 204, None
    if resource == "stats":
        if method == "GET":
            return 200, {"count": emulator.stats.count()}
        if method == "DELETE":
            emulator.stats.reset()
            return 204, None
    raise ControlError(404, f"no control endpoint {method} {path}")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body or b"{}")
    except ValueError as error:
        raise ControlError(400, f"request body is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise ControlError(400, "request body must be a JSON object")
    return document


def _change_clock(emulator: "AtlasEmulator", document: dict[str, Any]) -> None:
    if len(document) != 1:
        raise ControlError(400, "send exactly one of now, advanceSeconds or realTime")
    ((key, value),) = document.items()
    if key == "now" and isinstance(value, str):
        try:
            emulator.clock.set(parse_timestamp(value))
        except ValueError as error:
            raise ControlError(400, f"invalid now {value!r}: {error}") from error
    elif key == "advanceSeconds" and isinstance(value, int | float) and not isinstance(value, bool):
        emulator.clock.advance(timedelta(seconds=value))
    elif key == "realTime" and value is True:
        emulator.clock.follow_real_time()
    else:
        raise ControlError(400, f"invalid clock change {key}={value!r}")
