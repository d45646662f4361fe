"""Token-bucket rate limiting as Atlas describes it: a bucket of ``capacity`` requests that
refills ``refill_rate`` requests every ``refill_seconds``, kept per scope. Buckets refill on the
real monotonic clock, so Retry-After means real seconds.
"""

import math
import threading
import time
from dataclasses import dataclass
from typing import Literal

Scope = Literal["credential", "project", "global"]
SCOPES = ("credential", "project", "global")

# RateLimit-Limit and RateLimit-Remaining sent while rate limiting is off.
UNLIMITED_HEADER_VALUE = 1_000_000


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """``scope`` keeps one bucket per credential (API key or service account), per project
    (requests outside a project fall back to the credential's bucket) or one for everyone."""

    capacity: int = 100
    refill_rate: int = 10
    refill_seconds: int = 60
    scope: Scope = "credential"

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.refill_rate < 1 or self.refill_seconds < 1:
            raise ValueError(
                "capacity, refill_rate and refill_seconds must be positive integers, got "
                f"{self.capacity}, {self.refill_rate}, {self.refill_seconds}"
            )
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {self.scope!r}")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int


class RateLimiter:
    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def key_for(self, credential_id: str, project_id: str | None) -> str:
        if self.config.scope == "global":
            return "global"
        if self.config.scope == "project" and project_id:
            return f"project:{project_id}"
        return f"credential:{credential_id}"

    def take(self, key: str) -> Decision:
        """Take one token from the bucket ``key``."""
        config = self.config
        rate_per_second = config.refill_rate / config.refill_seconds
        now = time.monotonic()
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(config.capacity), now))
            tokens = min(config.capacity, tokens + (now - updated) * rate_per_second)
            if tokens >= 1:
                tokens -= 1
                self._buckets[key] = (tokens, now)
                return Decision(True, config.capacity, int(tokens), 0)
            self._buckets[key] = (tokens, now)
        retry_after = max(1, math.ceil((1 - tokens) / rate_per_second))
        return Decision(False, config.capacity, 0, retry_after)
