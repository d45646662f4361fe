"""AtlasEmulator: the in-process entry point that owns the data, the settings and the server."""

import logging
import random
import threading
from collections.abc import Iterator
from datetime import datetime

from .auth import DEFAULT_NONCE_LIFETIME_SECONDS, DEFAULT_TOKEN_TTL_SECONDS, Authenticator
from .certs import CertificateAuthority
from .clock import EmulatorClock
from .faults import FaultInjector
from .fleet import FleetConfig, generate_fleet
from .models import Cert
from .pagination import TotalCountMode
from .ratelimit import RateLimitConfig, RateLimiter
from .server import EmulatorHTTPServer
from .stats import RequestStats
from .store import Store

logger = logging.getLogger(__name__)

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


class AtlasEmulator:
    """A local Atlas Admin API server for tests, the demo and benchmarks.

    ``with AtlasEmulator(seed=7, fleet=FleetConfig.demo()) as emulator:`` generates the fleet,
    starts serving on a daemon thread and stops (closing open connections) on exit. The same
    seed gives the same fleet, credentials and fault decisions. Fleet dates are relative to the
    clock's time at construction, so pass ``start_time`` for fully repeatable dates.
    """

    def __init__(
        self,
        seed: int = 0,
        fleet: FleetConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        start_time: datetime | None = None,
        nonce_lifetime_seconds: float = DEFAULT_NONCE_LIFETIME_SECONDS,
        rate_limit: RateLimitConfig | None = None,
        page_size_cap: int | None = None,
        total_count_mode: TotalCountMode = "exact",
        reject_unknown_query_params: bool = True,
    ) -> None:
        self.seed = seed
        self.host = host
        self.port = port
        self.clock = EmulatorClock(start_time)
        self.store = Store(self.clock, seed)
        self.authenticator = Authenticator(self.clock, nonce_lifetime_seconds)
        self.faults = FaultInjector(seed)
        self.stats = RequestStats()
        self.certificate_authority = CertificateAuthority()
        self.page_size_cap = page_size_cap
        self.total_count_mode: TotalCountMode = total_count_mode
        self.reject_unknown_query_params = reject_unknown_query_params
        self._rate_limiter: RateLimiter | None = None
        self.rate_limit = rate_limit
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

        rng = random.Random(f"credentials-{seed}")
        public_key = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))
        private_key = _uuid_from(rng)
        client_id = f"mdb_sa_id_{rng.getrandbits(96):024x}"
        client_secret = f"mdb_sa_sk_{rng.getrandbits(160):040x}"
        self.demo_api_key = (public_key, private_key)
        self.demo_service_account = (client_id, client_secret)
        self.authenticator.add_api_key(public_key, private_key)
        self.authenticator.add_service_account(client_id, client_secret)

        if fleet is not None:
            generate_fleet(self.store, fleet, seed)

    # -- settings -------------------------------------------------------------------------------

    @property
    def rate_limit(self) -> RateLimitConfig | None:
        return self._rate_limiter.config if self._rate_limiter else None

    @rate_limit.setter
    def rate_limit(self, config: RateLimitConfig | None) -> None:
        """Setting a config starts with full buckets; None turns rate limiting off."""
        self._rate_limiter = RateLimiter(config) if config else None

    @property
    def rate_limiter(self) -> RateLimiter | None:
        return self._rate_limiter

    @property
    def nonce_lifetime_seconds(self) -> float:
        return self.authenticator.nonce_lifetime_seconds

    @nonce_lifetime_seconds.setter
    def nonce_lifetime_seconds(self, seconds: float) -> None:
        self.authenticator.nonce_lifetime_seconds = seconds

    # -- credentials ----------------------------------------------------------------------------

    def add_api_key(self, public_key: str, private_key: str, project_ids=None) -> None:
        """Add a Digest API key; ``project_ids`` None grants every project."""
        self.authenticator.add_api_key(public_key, private_key, project_ids)

    def add_service_account(
        self,
        client_id: str,
        client_secret: str,
        project_ids=None,
        token_ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS,
    ) -> None:
        self.authenticator.add_service_account(
            client_id, client_secret, project_ids, token_ttl_seconds
        )

    def revoke_tokens(self) -> int:
        """Revoke every bearer token issued so far; returns how many were live."""
        return self.authenticator.revoke_tokens()

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; use it as a context manager")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def open_connections(self) -> int:
        """Client connections open right now (keep-alive connections stay open between requests)."""
        return self._server.connection_count if self._server else 0

    def own_authorities(self) -> set[str]:
        """Host header values that name this emulator (for the control endpoints)."""
        names = {*LOOPBACK_NAMES, f"[{self.host}]" if ":" in self.host else self.host}
        return {f"{name}:{self.port}".lower() for name in names}

    def start(self) -> "AtlasEmulator":
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._stopping.clear()
        self._server = EmulatorHTTPServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"atlas-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("Atlas emulator serving on %s", self.base_url)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None
        logger.info("Atlas emulator on port %d stopped", self.port)

    def serve_forever(self) -> None:
        """Serve in the calling thread until stop() is called from another thread."""
        self.start()
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def wait_interruptibly(self, seconds: float) -> bool:
        """Sleep for an injected delay; returns True if the emulator is stopping."""
        return self._stopping.wait(seconds)

    def __enter__(self) -> "AtlasEmulator":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- ground truth ---------------------------------------------------------------------------

    def fleet_truth(self) -> Iterator[tuple[str, str, Cert]]:
        """(project_id, username, cert) for every unexpired cert of every MANAGED user now."""
        return self.store.iter_unexpired_managed_certs()


def _uuid_from(rng: random.Random) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
