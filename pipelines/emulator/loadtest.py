"""Loopback load test of the emulator: ``python -m pipelines.emulator.loadtest``.

Starts the emulator as a subprocess pinned to one CPU (``--server-cpu``), then runs client
processes pinned to another (``--client-cpu``). Each client process keeps ``--connections``
keep-alive HTTP/1.1 connections busy for ``--seconds`` with bearer-token requests, so digest
round trips do not count. Prints requests per second for a small list page and for a
500-item certificate page, and the median latency of one 500-item page on an idle server.
Only loopback addresses are used and every loop ends after its time budget.
"""

import argparse
import http.client
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import quote, urlsplit

import requests
from requests.auth import HTTPDigestAuth

V2_ACCEPT = "application/vnd.atlas.2023-01-01+json"


def _pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def _client_process(
    host: str, port: int, path: str, token: str, connections: int, seconds: float, cpu, queue
) -> None:
    _pin(cpu)
    deadline = time.monotonic() + seconds
    counts = [0] * connections
    failures = [0] * connections
    headers = {"Authorization": f"Bearer {token}", "Accept": V2_ACCEPT}

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        while time.monotonic() < deadline:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                counts[index] += 1
            else:
                failures[index] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((sum(counts), sum(failures)))


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc (Linux only)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_load(
    base_url: str, path: str, token: str, args: argparse.Namespace, server_pid: int
) -> tuple[float, float, int]:
    """Return (requests per second, requests per second of server CPU time, failures)."""
    parts = urlsplit(base_url)

    queue: multiprocessing.Queue = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(
            target=_client_process,
            args=(
                parts.hostname,
                parts.port,
                path,
                token,
                args.connections,
                args.seconds,
                args.client_cpu,
                queue,
            ),
        )
        for _ in range(args.client_processes)
    ]

    started = time.monotonic()
    cpu_before = _cpu_seconds(server_pid)
    for process in processes:
        process.start()
    results = [queue.get(timeout=args.seconds + 60) for _ in processes]
    for process in processes:
        process.join()
    elapsed = time.monotonic() - started

    server_cpu = _cpu_seconds(server_pid) - cpu_before
    succeeded = sum(ok for ok, _ in results)
    return succeeded / elapsed, succeeded / server_cpu, sum(failed for _, failed in results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.emulator.loadtest", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each load run")
    parser.add_argument(
        "--connections", type=int, default=16, help="keep-alive connections per client process"
    )
    parser.add_argument("--client-processes", type=int, default=2, help="client processes")
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU for the emulator")
    parser.add_argument("--client-cpu", type=int, default=1, help="CPU for the clients")
    args = parser.parse_args(argv)

    command = [
        sys.executable,
        "-m",
        "pipelines.emulator",
        "--port",
        "0",
        "--seed",
        "1",
        "--fleet",
        "benchmark",
    ]
    if args.server_cpu is not None:
        command = ["taskset", "-c", str(args.server_cpu), *command]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().strip()
        values = dict(server.stdout.readline().strip().split("=", 1) for _ in range(4))
        token = requests.post(
            f"{base_url}/api/oauth/token",
            auth=(values["service_account_client_id"], values["service_account_client_secret"]),
            data={"grant_type": "client_credentials"},
            timeout=30,
        ).json()["access_token"]
        session = requests.Session()
        session.auth = HTTPDigestAuth(values["api_key_public"], values["api_key_private"])
        session.headers["Accept"] = V2_ACCEPT
        heavy_path = _heavy_certs_path(session, base_url)

        latencies = []
        for _ in range(50):
            started = time.perf_counter()
            response = session.get(f"{base_url}{heavy_path}")
            latencies.append(time.perf_counter() - started)
            assert len(response.json()["results"]) == 500
        small = _run_load(base_url, "/api/atlas/v2/groups?itemsPerPage=5", token, args, server.pid)
        heavy = _run_load(base_url, heavy_path, token, args, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(
        f"cpus: server {args.server_cpu}, clients {args.client_cpu}; "
        f"{args.client_processes} x {args.connections} keep-alive connections, "
        f"{args.seconds:.0f} s per run"
    )
    print(
        f"500-item certs page, one idle connection: median "
        f"{statistics.median(latencies) * 1000:.1f} ms (digest session, client included)"
    )
    for name, (rate, per_cpu_second, failed) in (
        ("GET /groups?itemsPerPage=5", small),
        ("GET certs itemsPerPage=500", heavy),
    ):
        print(
            f"{name}: {rate:.0f} requests/s, {per_cpu_second:.0f} per server CPU second "
            f"({failed} failed)"
        )
    return 0


def _heavy_certs_path(session: requests.Session, base_url: str) -> str:
    """Path of the first 500-item page of a user with more than 500 certificates."""
    groups = session.get(f"{base_url}/api/atlas/v2/groups", params={"itemsPerPage": 500}).json()
    for group in groups["results"]:
        users_url = f"{base_url}/api/atlas/v2/groups/{group['id']}/databaseUsers"
        users = session.get(users_url, params={"itemsPerPage": 500}).json()["results"]
        for user in users:
            if user["x509Type"] != "MANAGED":
                continue
            path = (
                f"/api/atlas/v2/groups/{group['id']}/databaseUsers/"
                f"{quote(user['username'], safe='')}/certs?itemsPerPage=500"
            )
            if session.get(f"{base_url}{path}").json().get("totalCount", 0) > 500:
                return path
    raise RuntimeError("the benchmark fleet has no user with more than 500 certificates")


if __name__ == "__main__":
    sys.exit(main())
