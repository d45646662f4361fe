"""The baselines that atlas-certs is compared with, each run in its own process:

    python -m benchmarks.contenders sequential
    python -m benchmarks.contenders rest_api --workers 16 --database PATH
    python -m benchmarks.contenders capacity --project-id ID --username NAME --seconds 5

Each reads the emulator address and API key from the variables the atlas-certs CLI reads
(SOURCES__ATLAS_CERTS__BASE_URL, SOURCES__ATLAS_CERTS__CREDENTIALS__PUBLIC_KEY and
__PRIVATE_KEY), talks only to a loopback address, and prints one JSON result line last.
"""

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.auth import HTTPDigestAuth

from pipelines.config import is_loopback_host

API_PREFIX = "/api/atlas/v2"
ACCEPT = "application/vnd.atlas.2023-01-01+json"
ITEMS_PER_PAGE = 500
MAX_ATTEMPTS = 5
REQUEST_TIMEOUT_SECONDS = 60
MAX_RETRY_WAIT_SECONDS = 60


def emulator_settings() -> tuple[str, str, str]:
    """Return the base URL and the API key; raise SystemExit unless the URL is loopback."""
    try:
        base_url = os.environ["SOURCES__ATLAS_CERTS__BASE_URL"].rstrip("/")
        public_key = os.environ["SOURCES__ATLAS_CERTS__CREDENTIALS__PUBLIC_KEY"]
        private_key = os.environ["SOURCES__ATLAS_CERTS__CREDENTIALS__PRIVATE_KEY"]
    except KeyError as error:
        raise SystemExit(f"Error: environment variable {error.args[0]} is missing") from None
    host = urlsplit(base_url).hostname or ""
    if not is_loopback_host(host):
        raise SystemExit(
            f"Error: {base_url} is not a loopback address; the benchmark sends "
            "requests only to an emulator on this machine"
        )
    return base_url, public_key, private_key


# -- sequential loop ------------------------------------------------------------------------------


class SequentialLoop:
    """One requests.Session walking projects, then users, then certificate pages in order,
    as a script around the Atlas CLI does. A page shorter than itemsPerPage is the last.
    429 and 5xx responses are retried after Retry-After (or 1 s), up to MAX_ATTEMPTS tries."""

    def __init__(self, base_url: str, public_key: str, private_key: str) -> None:
        self.api = base_url + API_PREFIX
        self.session = requests.Session()
        self.session.auth = HTTPDigestAuth(public_key, private_key)
        self.session.headers["Accept"] = ACCEPT
        self.requests = 0
        self.rate_limited = 0
        self.failed_listings = 0

    def run(self) -> dict[str, Any]:
        certificates = users = 0
        for project in self.items(f"{self.api}/groups"):
            project_path = f"{self.api}/groups/{project['id']}"
            try:
                managed = [
                    user["username"]
                    for user in self.items(f"{project_path}/databaseUsers")
                    if user.get("x509Type") == "MANAGED"
                ]
            except requests.RequestException:
                self.failed_listings += 1
                continue
            for username in managed:
                segment = quote(username, safe="")
                try:
                    certificates += sum(
                        1 for _ in self.items(f"{project_path}/databaseUsers/{segment}/certs")
                    )
                    users += 1
                except requests.RequestException:
                    self.failed_listings += 1
        return {
            "certificates": certificates,
            "users": users,
            "failed_listings": self.failed_listings,
            "client_requests": self.requests,
            "client_rate_limited": self.rate_limited,
        }

    def items(self, url: str) -> Iterator[dict[str, Any]]:
        page_num = 1
        while True:
            results = self.get(url, {"pageNum": page_num, "itemsPerPage": ITEMS_PER_PAGE})
            yield from results
            if len(results) < ITEMS_PER_PAGE:
                return
            page_num += 1

    def get(self, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            response = self.session.get(url, params=params, timeout=REQUEST_TIMEOUT_SECONDS)
            # HTTPDigestAuth re-sends after a challenge and keeps the 401 in response.history.
            self.requests += 1 + len(response.history)
            if response.status_code == 429:
                self.rate_limited += 1
            if response.status_code != 429 and response.status_code < 500:
                response.raise_for_status()
                return response.json()["results"]
            if attempt < MAX_ATTEMPTS:
                time.sleep(_retry_after(response))
        response.raise_for_status()
        raise AssertionError("unreachable: the last attempt raised")


def _retry_after(response: requests.Response) -> float:
    value = response.headers.get("Retry-After", "")
    return min(float(value), MAX_RETRY_WAIT_SECONDS) if value.isdigit() else 1.0


# -- dlt rest_api ---------------------------------------------------------------------------------


def build_rest_api_source(base_url: str, public_key: str, private_key: str) -> Any:
    """Return dlt's generic REST API source for the same walk, configured as its
    documentation shows: PageNumberPaginator from page 1 with no total (it stops at the
    first empty page), projects -> database users -> certificates, with the dependent
    resources parallelized. Only MANAGED users reach the certificates resource."""
    from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
    from dlt.sources.rest_api import rest_api_source

    from benchmarks.digest import DigestAuth

    def add_path_segment(user: dict[str, Any]) -> dict[str, Any]:
        # rest_api puts parent values into the path unencoded; names may hold / ? # or %.
        return {**user, "username_segment": quote(user["username"], safe="")}

    config: dict[str, Any] = {
        "client": {
            "base_url": base_url + API_PREFIX + "/",
            "headers": {"Accept": ACCEPT},
            "auth": DigestAuth(username=public_key, password=private_key),
            "paginator": PageNumberPaginator(base_page=1, page_param="pageNum", total_path=None),
        },
        "resource_defaults": {
            "endpoint": {"params": {"itemsPerPage": ITEMS_PER_PAGE}, "data_selector": "results"},
        },
        "resources": [
            {"name": "projects", "endpoint": {"path": "groups"}},
            {
                "name": "database_users",
                "selected": False,
                "parallelized": True,
                "include_from_parent": ["id"],
                "endpoint": {"path": "groups/{resources.projects.id}/databaseUsers"},
                "processing_steps": [
                    {"filter": lambda user: user.get("x509Type") == "MANAGED"},
                    {"map": add_path_segment},
                ],
            },
            {
                "name": "certificates",
                "parallelized": True,
                "endpoint": {
                    "path": "groups/{resources.database_users._projects_id}/databaseUsers/"
                    "{resources.database_users.username_segment}/certs",
                },
            },
        ],
    }
    return rest_api_source(config, name="atlas_rest_api")


def run_rest_api(base_url: str, public_key: str, private_key: str, database: Path) -> dict:
    import dlt
    import duckdb

    pipeline = dlt.pipeline(
        pipeline_name="atlas_rest_api_bench",
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name="atlas_rest_api",
        pipelines_dir=str(database.parent / "dlt-rest-api"),
    )
    pipeline.run(build_rest_api_source(base_url, public_key, private_key))
    with duckdb.connect(str(database), read_only=True) as connection:
        (certificates,) = connection.execute(
            "select count(*) from atlas_rest_api.certificates"
        ).fetchone()
    return {"certificates": certificates}


# -- emulator capacity ----------------------------------------------------------------------------


def run_capacity(
    base_url: str,
    public_key: str,
    private_key: str,
    project_id: str,
    username: str,
    threads: int,
    seconds: float,
    max_requests: int,
) -> dict[str, Any]:
    """Request page 1 of one user's certificates at 500 items per page from `threads`
    connections until `seconds` pass or `max_requests` were sent."""
    url = (
        f"{base_url}{API_PREFIX}/groups/{project_id}/databaseUsers/{quote(username, safe='')}/certs"
    )
    params = {"pageNum": 1, "itemsPerPage": ITEMS_PER_PAGE}
    lock = threading.Lock()
    counts = {"requests": 0, "ok": 0, "items": 0}
    deadline = time.monotonic() + seconds

    def hammer() -> None:
        with requests.Session() as session:
            session.auth = HTTPDigestAuth(public_key, private_key)
            session.headers["Accept"] = ACCEPT
            while time.monotonic() < deadline:
                with lock:
                    if counts["requests"] >= max_requests:
                        return
                response = session.get(url, params=params, timeout=REQUEST_TIMEOUT_SECONDS)
                with lock:
                    counts["requests"] += 1 + len(response.history)
                    if response.ok:
                        counts["ok"] += 1
                        counts["items"] = len(response.json()["results"])

    started = time.monotonic()
    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {**counts, "wall_seconds": time.monotonic() - started, "threads": threads}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.contenders", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="contender", required=True)
    commands.add_parser("sequential", help="plain sequential requests loop")
    rest_api = commands.add_parser("rest_api", help="dlt's generic rest_api source")
    rest_api.add_argument("--database", type=Path, required=True, help="DuckDB file to load")
    capacity = commands.add_parser("capacity", help="load one 500-item page repeatedly")
    capacity.add_argument("--project-id", required=True)
    capacity.add_argument("--username", required=True)
    capacity.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    capacity.add_argument("--seconds", type=float, default=5.0, help="duration (default 5)")
    capacity.add_argument(
        "--max-requests", type=int, default=20_000, help="stop after this many requests"
    )
    args = parser.parse_args(argv)
    base_url, public_key, private_key = emulator_settings()

    if args.contender == "sequential":
        result = SequentialLoop(base_url, public_key, private_key).run()
    elif args.contender == "rest_api":
        result = run_rest_api(base_url, public_key, private_key, args.database)
    else:
        result = run_capacity(
            base_url,
            public_key,
            private_key,
            args.project_id,
            args.username,
            args.threads,
            args.seconds,
            args.max_requests,
        )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
