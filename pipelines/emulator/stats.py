"""Thread-safe log of every request the emulator served, for assertions in tests."""

import threading
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RequestRecord:
    method: str
    route: str | None
    path: str  # as received, still percent-encoded
    query: dict[str, str]
    status: int
    username: str | None  # decoded from the path, for user and certs routes
    project_id: str | None
    auth_kind: str | None  # "digest", "bearer", "basic" or None
    credential_id: str | None
    fault: str | None  # kind of the fault rule that changed the response, if any
    received_at: datetime


@dataclass
class RequestStats:
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _entries: list[RequestRecord] = field(default_factory=list)

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._entries)

    def count(
        self, route: str | None = None, status: int | None = None, method: str | None = None
    ) -> int:
        """Count requests matching every given filter."""
        with self._lock:
            return sum(
                1
                for entry in self._entries
                if (route is None or entry.route == route)
                and (status is None or entry.status == status)
                and (method is None or entry.method == method)
            )

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
