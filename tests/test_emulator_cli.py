"""The emulator as a command: ``atlas-certs emulator`` and ``python -m pipelines.emulator``."""

import argparse
import signal
import subprocess
import sys

import pytest
import requests
from requests.auth import HTTPDigestAuth

from pipelines.emulator.command import add_parser, build_emulator

V2_ACCEPT = "application/vnd.atlas.2023-01-01+json"


def build_parser() -> argparse.ArgumentParser:
    """A parser with only the emulator command; pipelines.cli adds the same subparser."""
    parser = argparse.ArgumentParser(prog="atlas-certs")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["emulator", *argv])


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


def test_help_has_summary_and_example(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["emulator", "--help"])

    output = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "Run a local Atlas Admin API emulator with a generated fleet." in output
    assert "atlas-certs emulator --port 8899 --seed 7 --fleet demo" in output


def test_options_build_configured_emulator():
    args = parse(
        "--fleet",
        "demo",
        "--projects",
        "4",
        "--users-per-project",
        "5",
        "--fault",
        "route=certs,kind=status,status=503,times=2",
        "--rate-limit-capacity",
        "7",
        "--rate-limit-scope",
        "project",
        "--page-size-cap",
        "50",
        "--total-count-mode",
        "wrong",
        "--time",
        "2026-06-02T13:56:22+00:00",
    )

    emulator = build_emulator(args)

    assert len(emulator.store.projects()) == 4
    assert emulator.faults.rules[0].status == 503
    assert emulator.faults.rules[0].times == 2
    assert emulator.rate_limit.capacity == 7
    assert emulator.rate_limit.scope == "project"
    assert emulator.page_size_cap == 50
    assert emulator.total_count_mode == "wrong"
    assert emulator.clock.now().isoformat() == "2026-06-02T13:56:22+00:00"


def test_empty_fleet_option():
    assert build_emulator(parse("--fleet", "empty")).store.projects() == []


def test_invalid_fault_exits_2(capsys):
    exit_code = main(["emulator", "--fault", "kind=explode"])

    assert exit_code == 2
    assert "fault kind must be one of" in capsys.readouterr().err


def test_subprocess_prints_url_first_and_serves():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.emulator",
            "--port",
            "0",
            "--seed",
            "3",
            "--projects",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        credentials = dict(process.stdout.readline().strip().split("=", 1) for _ in range(4))
        assert base_url.startswith("http://127.0.0.1:")
        response = requests.get(
            f"{base_url}/api/atlas/v2/groups",
            auth=HTTPDigestAuth(credentials["api_key_public"], credentials["api_key_private"]),
            headers={"Accept": V2_ACCEPT},
            timeout=10,
        )
        token = requests.post(
            f"{base_url}/api/oauth/token",
            auth=(
                credentials["service_account_client_id"],
                credentials["service_account_client_secret"],
            ),
            data={"grant_type": "client_credentials"},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.json()["totalCount"] == 2
        assert token.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()

    assert exit_code == 0
