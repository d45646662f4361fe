"""``atlas-certs emulator``: run the Atlas Admin API emulator until interrupted.

The first stdout line is the base URL, so a parent process can read it; the next lines are the
demo credentials as ``key=value``. Logs go to stderr.
"""

import argparse
import ipaddress
import logging
import signal
import sys
import time
from datetime import datetime
from typing import Any

from .emulator import AtlasEmulator
from .faults import FaultRule
from .fleet import FleetConfig
from .ratelimit import SCOPES, RateLimitConfig

logger = logging.getLogger(__name__)

SUMMARY = "Run a local Atlas Admin API emulator with a generated fleet."
EXAMPLE = (
    "example:\n"
    "  atlas-certs emulator --port 8899 --seed 7 --fleet demo "
    "--fault route=certs,kind=status,status=503,times=2"
)
FLEET_PRESETS = {"demo": FleetConfig.demo, "benchmark": FleetConfig.benchmark}
SIZE_OPTIONS = (
    ("--orgs", "orgs", int, "number of organizations"),
    ("--projects", "projects", int, "number of projects"),
    ("--users-per-project", "users_per_project", float, "mean database users per project"),
    ("--managed-fraction", "managed_fraction", float, "share of MANAGED X.509 users (0-1)"),
    ("--certs-per-user", "certs_per_user_mean", float, "mean certificates per MANAGED user"),
    ("--max-certs-per-user", "max_certs_per_user", int, "cap for ordinary MANAGED users"),
    ("--heavy-users", "heavy_users", int, "users with heavy-user-certs or more certificates"),
    ("--heavy-user-certs", "heavy_user_certs", int, "unexpired certificates of a heavy user"),
    ("--expired-fraction", "expired_fraction", float, "share of already expired certs (0-1)"),
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "emulator",
        help=SUMMARY,
        description=SUMMARY,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument("--seed", type=int, default=7, help="seed of fleet, credentials and faults")
    parser.add_argument(
        "--fleet",
        choices=[*FLEET_PRESETS, "empty"],
        default="demo",
        help="fleet preset that the size options below adjust (default: demo)",
    )

    for flag, _, kind, text in SIZE_OPTIONS:
        parser.add_argument(flag, type=kind, default=None, help=text)

    parser.add_argument(
        "--time",
        type=datetime.fromisoformat,
        default=None,
        help="freeze the clock at this RFC 3339 time, e.g. 2026-06-02T13:56:22+00:00",
    )

    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="fault rule as key=value pairs, e.g. route=certs,kind=rate_limit,times=3 (repeatable)",
    )
    parser.add_argument("--rate-limit-capacity", type=int, help="enable rate limiting: bucket size")
    parser.add_argument(
        "--rate-limit-refill-rate",
        type=int,
        default=10,
        help="requests added per refill period (default: 10)",
    )
    parser.add_argument(
        "--rate-limit-refill-seconds",
        type=int,
        default=60,
        help="refill period in seconds (default: 60)",
    )
    parser.add_argument(
        "--rate-limit-scope",
        choices=SCOPES,
        default="credential",
        help="one bucket per credential, project or for everyone",
    )

    parser.add_argument("--page-size-cap", type=int, help="return at most this many items a page")
    parser.add_argument(
        "--total-count-mode",
        choices=("exact", "omit", "wrong"),
        default="exact",
        help="exact, omitted or a wrong totalCount (default: exact)",
    )
    parser.add_argument(
        "--nonce-lifetime",
        type=float,
        default=300,
        help="seconds before a Digest nonce is stale (default: 300)",
    )
    parser.add_argument(
        "--allow-unknown-query-params",
        action="store_true",
        help="ignore undeclared query parameters instead of returning 400",
    )


def build_emulator(args: argparse.Namespace) -> AtlasEmulator:
    """Create (not start) the emulator the parsed arguments describe."""
    fleet = None
    if args.fleet != "empty":
        overrides = {
            field: getattr(args, field_arg(flag))
            for flag, field, _, _ in SIZE_OPTIONS
            if getattr(args, field_arg(flag)) is not None
        }
        fleet = FLEET_PRESETS[args.fleet]()
        if overrides:
            fleet = FleetConfig(**{**fleet.__dict__, **overrides})
    rate_limit = None
    if args.rate_limit_capacity is not None:
        rate_limit = RateLimitConfig(
            args.rate_limit_capacity,
            args.rate_limit_refill_rate,
            args.rate_limit_refill_seconds,
            args.rate_limit_scope,
        )
    emulator = AtlasEmulator(
        seed=args.seed,
        fleet=fleet,
        host=args.host,
        port=args.port,
        start_time=args.time,
        nonce_lifetime_seconds=args.nonce_lifetime,
        rate_limit=rate_limit,
        page_size_cap=args.page_size_cap,
        total_count_mode=args.total_count_mode,
        reject_unknown_query_params=not args.allow_unknown_query_params,
    )
    for spec in args.fault:
        emulator.faults.add(FaultRule.from_spec(spec))
    return emulator


def field_arg(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit code (2 for invalid settings)."""
    try:
        emulator = build_emulator(args)
    except ValueError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    if not _is_loopback(args.host):
        logger.warning("binding to %s: the emulator is reachable from other hosts", args.host)

    # A plain list, not threading.Event: Event.set() in a signal handler can deadlock when a
    # second signal arrives while the main thread holds the event's lock in wait().
    stop: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, _frame: stop.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with emulator:
            public_key, private_key = emulator.demo_api_key
            client_id, client_secret = emulator.demo_service_account
            print(emulator.base_url)
            print(f"api_key_public={public_key}")
            print(f"api_key_private={private_key}")
            print(f"service_account_client_id={client_id}")
            print(f"service_account_client_secret={client_secret}", flush=True)
            while not stop:
                time.sleep(0.2)
    except OSError as error:
        print(f"Error: cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
