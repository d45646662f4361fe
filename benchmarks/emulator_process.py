"""The Atlas emulator as a child process of the benchmark, controlled over stdin and stdout.

Run as ``python -m benchmarks.emulator_process --projects 200 --users 5000``. The process
generates the fleet, starts serving and writes two lines to stdout: the base URL, then one
JSON object with the demo API key, the fleet's request-floor inputs and the user with the
most certificates. After that it reads one JSON command per stdin line and writes one JSON line
in response to each:

- ``{"command": "reset"}`` clears the request log;
- ``{"command": "stats"}`` returns the requests logged since the last reset, by status and
  by route;
- ``{"command": "configure", "latency_seconds": 0.05, "rate_limit": null}`` replaces the
  latency fault and the token bucket (``rate_limit`` contains RateLimitConfig fields).

It stops at end of input or on SIGTERM. The emulator's own ``/_emulator/stats`` endpoint
returns only a total count, and the benchmark needs Digest challenges and 429 responses apart,
so it reads ``AtlasEmulator.stats`` in this process instead.
"""

import argparse
import json
import logging
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pipelines.emulator import AtlasEmulator, FaultRule, FleetConfig, RateLimitConfig

logger = logging.getLogger(__name__)

# A frozen emulator clock keeps the fleet's dates, and so which certificates are unexpired,
# the same in every run of the benchmark.
FROZEN_TIME = datetime(2026, 6, 1, tzinfo=UTC)


def build_fleet(projects: int, users: int) -> FleetConfig:
    """Return FleetConfig.benchmark() resized to `projects` projects and about `users`
    database users, which the fleet generator spreads unevenly over projects.

    The heavy users (thousands of certificates each) scale with the user count, keeping at
    least one, so a small fleet still has a user that needs several pages.
    """
    base = FleetConfig.benchmark()
    if projects < 1 or users < 0:
        raise ValueError(f"need at least 1 project and 0 or more users, got {projects}, {users}")
    base_users = base.projects * base.users_per_project
    heavy_users = max(1, round((base.heavy_users or 1) * users / base_users))
    settings = {
        **base.__dict__,
        "orgs": min(base.orgs, projects),
        "projects": projects,
        "users_per_project": users / projects,
        "heavy_users": heavy_users,
    }
    return FleetConfig(**settings)


def describe_fleet(emulator: AtlasEmulator) -> dict[str, Any]:
    """Return the inputs of the request floor and the user with the most certificates."""
    store = emulator.store
    project_user_counts = []
    managed_certificate_counts = []
    busiest: tuple[int, str, str] = (-1, "", "")
    for project in store.projects():
        users = store.users(project.id)
        project_user_counts.append(len(users))
        for user in users:
            if not user.is_managed_x509:
                continue
            count = len(store.certs(project.id, user.username))
            managed_certificate_counts.append(count)
            busiest = max(busiest, (count, project.id, user.username))
    return {
        "project_user_counts": project_user_counts,
        "managed_certificate_counts": managed_certificate_counts,
        "busiest_user": {
            "project_id": busiest[1],
            "username": busiest[2],
            "certificates": busiest[0],
        },
    }


def render_certificates(emulator: AtlasEmulator) -> None:
    """Build the cached JSON of every certificate before the first contender runs.

    The emulator renders an item on first use, so without this the first contender to walk
    the fleet would also pay for encoding all of it.
    """
    store = emulator.store
    for project in store.projects():
        for user in store.users(project.id):
            for cert in store.certs(project.id, user.username):
                cert.to_json()


def summarize_requests(emulator: AtlasEmulator) -> dict[str, Any]:
    """Count the logged requests by HTTP status and by route (status 0 is a dropped
    connection)."""
    entries = emulator.stats.entries
    by_status = Counter(str(entry.status) for entry in entries)
    by_route = Counter(str(entry.route) for entry in entries)
    return {"requests": len(entries), "by_status": by_status, "by_route": by_route}


def configure(emulator: AtlasEmulator, latency_seconds: float, rate_limit: Any) -> None:
    """Replace every fault rule with one latency rule and set or clear the token bucket."""
    emulator.faults.clear()
    if latency_seconds > 0:
        emulator.faults.add(FaultRule(route="*", kind="latency", seconds=latency_seconds))
    emulator.rate_limit = RateLimitConfig(**rate_limit) if rate_limit else None


def handle_command(emulator: AtlasEmulator, line: str) -> dict[str, Any]:
    try:
        command = json.loads(line)
        name = command["command"]
        if name == "reset":
            emulator.stats.reset()
            return {"ok": True}
        if name == "stats":
            return {"ok": True, **summarize_requests(emulator)}
        if name == "configure":
            configure(emulator, float(command["latency_seconds"]), command.get("rate_limit"))
            return {"ok": True}
        return {"ok": False, "error": f"unknown command {name!r}"}
    except (ValueError, KeyError, TypeError) as error:
        return {"ok": False, "error": f"invalid command {line.strip()!r}: {error}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.emulator_process", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--projects", type=int, default=200, help="number of projects")
    parser.add_argument("--users", type=int, default=5000, help="database users in all projects")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated fleet")
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="delay added to every response, in ms"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # SIGTERM ends the process through the normal exit path, so the server closes cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    emulator = AtlasEmulator(
        seed=args.seed, fleet=build_fleet(args.projects, args.users), start_time=FROZEN_TIME
    )
    configure(emulator, args.latency_ms / 1000, None)
    render_certificates(emulator)
    with emulator:
        public_key, private_key = emulator.demo_api_key
        print(emulator.base_url)
        info = {"public_key": public_key, "private_key": private_key, **describe_fleet(emulator)}
        print(json.dumps(info), flush=True)
        for line in sys.stdin:
            if line.strip():
                print(json.dumps(handle_command(emulator, line)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
