"""The emulator's clock: follows real time until a test sets or advances it."""

import threading
import time
from datetime import UTC, datetime, timedelta


class EmulatorClock:
    """Thread-safe UTC clock that can be frozen, set and advanced.

    By default ``now()`` returns the real time. ``set()`` and ``advance()`` switch the clock to a
    fixed time, which stays frozen until it is changed again or ``follow_real_time()`` is called.
    Certificate expiry, bearer-token expiry and digest-nonce staleness are all measured on this
    clock; rate-limit buckets refill on the real monotonic clock.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen_at: datetime | None = None
        if start is not None:
            self.set(start)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
        return datetime.now(UTC)

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen_at is not None

    def set(self, moment: datetime) -> None:
        """Freeze the clock at ``moment``, which must be timezone-aware."""
        if moment.tzinfo is None:
            raise ValueError(f"clock time must be timezone-aware, got naive {moment.isoformat()}")
        with self._lock:
            self._frozen_at = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        """Freeze the clock at ``now() + delta`` and return the new time."""
        moment = self.now() + delta
        self.set(moment)
        return moment

    def follow_real_time(self) -> None:
        with self._lock:
            self._frozen_at = None


def format_timestamp(moment: datetime) -> str:
    """Format as RFC 3339 UTC with whole seconds, the form Atlas returns (2026-06-02T13:56:22Z)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_epoch(epoch: int) -> str:
    """format_timestamp for UTC epoch seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; a missing offset is rejected rather than guessed."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return moment.astimezone(UTC)
