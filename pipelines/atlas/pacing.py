"""Client-side pacing that keeps a run inside Atlas's token-bucket rate limits.

Atlas sends `RateLimit-Limit` and `RateLimit-Remaining` on success and, on a 429, a
`Retry-After` and a detail such as "Refill rate: 5 per 60 seconds". All worker threads share
one pacer: after a 429 none of them sends before `Retry-After` has passed, and while the
bucket is nearly empty requests start one refill interval apart instead of all at once.
"""

import re
import threading
import time

from requests import Response

# Maximum single sleep, in seconds, of a waiting thread before it checks the schedule again.
POLL_SECONDS = 0.25

REFILL_PATTERN = re.compile(r"Refill rate:\s*(\d+(?:\.\d+)?)\s*per\s*(\d+(?:\.\d+)?)\s*second")


class RateLimitPacer:
    """Send schedule shared by all worker threads.

    While `RateLimit-Remaining` is at or below `low_water`, requests start one learned refill
    interval apart. The pipeline uses its number of workers as `low_water`."""

    def __init__(self, low_water: int) -> None:
        self.low_water = max(1, low_water)
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self._next_slot = 0.0
        self._interval: float | None = None
        self._remaining: int | None = None

    @property
    def refill_interval(self) -> float | None:
        """Seconds per token as learned from a 429, or None before the first one."""
        return self._interval

    def wait_turn(self) -> float:
        """Sleep until this thread may send; returns the seconds slept.

        No slot is booked ahead: a waiting thread checks again at least every
        POLL_SECONDS, so it goes at once when a response shows the bucket has refilled.
        """
        slept = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                pacing = self._interval is not None and self._is_low()
                start = max(self._resume_at, self._next_slot) if pacing else self._resume_at
                if start <= now:
                    if pacing:
                        self._next_slot = now + (self._interval or 0.0)
                    return slept
            pause = min(start - now, POLL_SECONDS)
            time.sleep(pause)
            slept += pause

    def observe(self, response: Response) -> None:
        """Learn from a response's rate-limit headers and, for a 429, its body."""
        remaining = _int_header(response, "RateLimit-Remaining")
        with self._lock:
            if remaining is not None:
                self._remaining = remaining
            if not _is_rate_limited(response):
                return
            self._remaining = 0
            interval = _refill_interval(response)
            if interval is not None:
                self._interval = interval
            retry_after = _int_header(response, "Retry-After")
            if retry_after is not None:
                self._resume_at = max(self._resume_at, time.monotonic() + retry_after)
                self._next_slot = max(self._next_slot, self._resume_at)

    def _is_low(self) -> bool:
        return self._remaining is not None and self._remaining <= self.low_water


def _is_rate_limited(response: Response) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 400:
        return False
    return "RATE_LIMITED" in response.text[:2000]


def _refill_interval(response: Response) -> float | None:
    match = REFILL_PATTERN.search(response.text[:2000])
    if match is None:
        return None
    tokens, seconds = float(match.group(1)), float(match.group(2))
    return seconds / tokens if tokens > 0 else None


def _int_header(response: Response, name: str) -> int | None:
    value = response.headers.get(name, "").strip()
    return int(value) if value.isdigit() else None
