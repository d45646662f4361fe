"""Deterministic fault injection.

A FaultRule matches requests by route, method, username, project and page, and fires at most
``times`` times, each time with ``probability`` drawn from an RNG seeded by the emulator seed
(so a fixed request order gives a fixed outcome). Kinds fall into three groups:

- delays, applied before the response: ``latency`` (``seconds`` plus uniform ``jitter``) and
  ``slow`` (``seconds``, meant to exceed a client's read timeout);
- replacements of the whole response: ``status`` (ApiError body, or an HTML page with
  ``html=True``), ``rate_limit`` (429, headers only with ``with_headers=True``),
  ``rate_limit_400`` (400 with an errorCode containing RATE_LIMITED), ``timeout_while_paging``
  (500 for pages >= ``min_page_num``, default 2, when includeCount is true), ``reset`` (TCP
  reset without a response) and ``user_deleted`` (deletes the user, then 404);
- changes to a successful body: ``truncated_json`` (half the body; ``variant="incomplete"``
  keeps the full Content-Length and closes early), ``invalid_json`` and ``malformed`` with one
  of MALFORMED_VARIANTS.
"""

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

DELAY_KINDS = ("latency", "slow")
REPLACE_KINDS = (
    "status",
    "rate_limit",
    "rate_limit_400",
    "timeout_while_paging",
    "reset",
    "user_deleted",
)
BODY_KINDS = ("truncated_json", "invalid_json", "malformed")
KINDS = DELAY_KINDS + REPLACE_KINDS + BODY_KINDS

ROUTES = (
    "*",
    "groups",
    "org_groups",
    "group",
    "database_users",
    "database_user",
    "certs",
    "certs_v1",
    "oauth_token",
    "oauth_revoke",
)

MALFORMED_VARIANTS = (
    "missing_dates",  # createdAt and notAfter removed from every item
    "non_string_dates",  # dates as epoch milliseconds
    "id_string",  # _id as a JSON string
    "id_leading_zeros",  # _id as a number token with leading zeros, which strict JSON rejects
    "extra_fields",  # unknown fields on the body and on every item
    "results_not_list",  # results as an object keyed by position
    "pem_in_item",  # a PEM certificate field inside the first item
)


@dataclass
class FaultRule:
    route: str = "*"
    kind: str = "status"
    status: int = 500
    html: bool = False
    with_headers: bool = True
    retry_after: int | None = None
    seconds: float = 0.0
    jitter: float = 0.0
    variant: str | None = None
    error_code: str | None = None
    times: int | None = None
    probability: float = 1.0
    method: str | None = None
    username: str | None = None
    project_id: str | None = None
    page_num: int | None = None
    min_page_num: int | None = None
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}, got {self.kind!r}")
        if self.route not in ROUTES:
            raise ValueError(f"fault route must be one of {ROUTES}, got {self.route!r}")
        if self.kind == "malformed" and self.variant not in MALFORMED_VARIANTS:
            raise ValueError(
                f"malformed faults need variant one of {MALFORMED_VARIANTS}, got {self.variant!r}"
            )
        if self.kind == "truncated_json" and self.variant not in (None, "incomplete"):
            raise ValueError(
                f"truncated_json variant must be None or 'incomplete', got {self.variant!r}"
            )
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be between 0 and 1, got {self.probability}")
        if self.times is not None and self.times < 0:
            raise ValueError(f"times must be None or >= 0, got {self.times}")
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {self.status}")

    @classmethod
    def from_spec(cls, spec: str) -> "FaultRule":
        """Parse ``key=value`` pairs separated by commas, e.g.
        ``route=certs,kind=status,status=503,times=2``."""
        types = {item.name: item.type for item in fields(cls)}
        values: dict[str, Any] = {}
        for pair in filter(None, (part.strip() for part in spec.split(","))):
            key, separator, text = pair.partition("=")
            if not separator or key not in types or key == "fired":
                raise ValueError(f"invalid fault setting {pair!r} in {spec!r}")
            values[key] = _convert(key, text, str(types[key]))
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _convert(key: str, text: str, type_name: str) -> Any:
    if text.lower() in ("none", "null") and "None" in type_name:
        return None
    try:
        if "bool" in type_name:
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if "int" in type_name:
            return int(text)
        if "float" in type_name:
            return float(text)
    except ValueError as error:
        raise ValueError(f"fault setting {key}={text!r} is not a valid {type_name}") from error
    return text


@dataclass(frozen=True, slots=True)
class FaultContext:
    route: str
    method: str
    username: str | None
    project_id: str | None
    page_num: int
    include_count: bool


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The faults chosen for one request."""

    delay_seconds: float = 0.0
    replace: FaultRule | None = None
    body: FaultRule | None = None

    @property
    def kind(self) -> str | None:
        rule = self.replace or self.body
        if rule is not None:
            return rule.kind
        return "latency" if self.delay_seconds else None


class FaultInjector:
    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults-{seed}")
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def plan(self, context: FaultContext) -> FaultPlan:
        """Choose the faults for one request: all matching delays, the first matching
        replacement and, without a replacement, the first matching body change."""
        delay = 0.0
        replace: FaultRule | None = None
        body: FaultRule | None = None
        with self._lock:
            for rule in self._rules:
                if rule.kind in REPLACE_KINDS and replace is not None:
                    continue
                if rule.kind in BODY_KINDS and body is not None:
                    continue
                if not _matches(rule, context) or not self._fire(rule):
                    continue
                if rule.kind in DELAY_KINDS:
                    jitter = self._rng.uniform(0, rule.jitter) if rule.jitter else 0.0
                    delay += rule.seconds + jitter
                elif rule.kind in REPLACE_KINDS:
                    replace = rule
                else:
                    body = rule
        return FaultPlan(delay, replace, None if replace else body)

    def _fire(self, rule: FaultRule) -> bool:
        if rule.times is not None and rule.fired >= rule.times:
            return False
        if rule.probability < 1.0 and self._rng.random() >= rule.probability:
            return False
        rule.fired += 1
        return True


def _matches(rule: FaultRule, context: FaultContext) -> bool:
    if rule.route != "*" and rule.route != context.route:
        return False
    if rule.method is not None and rule.method.upper() != context.method:
        return False
    if rule.username is not None and rule.username != context.username:
        return False
    if rule.project_id is not None and rule.project_id != context.project_id:
        return False
    if rule.page_num is not None and rule.page_num != context.page_num:
        return False
    min_page = rule.min_page_num
    if rule.kind == "timeout_while_paging":
        if not context.include_count:
            return False
        if min_page is None and rule.page_num is None:
            min_page = 2
    return min_page is None or context.page_num >= min_page
