"""Lower bounds that the benchmark compares each contender against.

All three are exact for the fleet the emulator serves, not estimates:
- the request floor: the minimum number of requests that read every MANAGED user's certificates;
- the concurrency floor: the wall time of that many requests spread over `workers`
  connections with a fixed server latency;
- the bucket floor: the time a token bucket needs to admit that many requests.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

ATLAS_MAX_ITEMS_PER_PAGE = 500


def pages_needed(items: int, items_per_page: int = ATLAS_MAX_ITEMS_PER_PAGE) -> int:
    """Return the pages a listing of `items` takes: an empty listing still costs one request."""
    if items < 0:
        raise ValueError(f"items must not be negative, got {items}")
    return max(1, math.ceil(items / items_per_page))


@dataclass(frozen=True)
class RequestFloor:
    """The minimum number of requests that list every project, every project's database users and
    every MANAGED user's unexpired certificates, at 500 items per page."""

    discovery_pages: int
    certificate_pages: int

    @property
    def total(self) -> int:
        return self.discovery_pages + self.certificate_pages


def request_floor(
    project_user_counts: Iterable[int], managed_certificate_counts: Iterable[int]
) -> RequestFloor:
    """Compute the request floor from the number of database users of each project and the
    number of unexpired certificates of each MANAGED user.

    Discovery is the project list plus every project's database-user list. Authentication
    round trips (Digest challenges, token requests) are not part of the floor.
    """
    user_counts = list(project_user_counts)
    discovery = pages_needed(len(user_counts))
    discovery += sum(pages_needed(count) for count in user_counts)
    certificates = sum(pages_needed(count) for count in managed_certificate_counts)
    return RequestFloor(discovery_pages=discovery, certificate_pages=certificates)


def concurrency_floor(requests: int, latency_seconds: float, workers: int) -> float:
    """Return the seconds that `requests` take when `workers` connections each wait
    `latency_seconds` per request and nothing else costs time."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return requests * latency_seconds / workers


def bucket_floor(requests: int, capacity: int, refill_rate: int, refill_seconds: float) -> float:
    """Return the seconds a token bucket needs to admit `requests` requests.

    The bucket starts full with `capacity` tokens and gains `refill_rate` tokens every
    `refill_seconds`, so the first `capacity` requests pass at once and each further one
    waits for a refill: max(0, requests - capacity) * refill_seconds / refill_rate.
    """
    if refill_rate < 1 or refill_seconds <= 0:
        raise ValueError(
            f"refill_rate and refill_seconds must be positive, got {refill_rate}, {refill_seconds}"
        )
    return max(0, requests - capacity) * refill_seconds / refill_rate
