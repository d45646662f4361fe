"""Credentials and authentication: HTTP Digest for API keys, OAuth 2.0 client credentials and
bearer tokens for service accounts.

Digest follows RFC 2617/7616 with MD5 and ``qop="auth"``, the parameters Atlas sends in its
challenge (realm "MMS Public API"). Nonces are stateless: each carries its issue time and an
HMAC, so any nonce the emulator issued can be checked and recognised as stale after
``nonce_lifetime_seconds`` on the emulator clock. A request signed with a stale nonce but a
correct response hash gets a fresh challenge with ``stale=true``. A repeated nonce count for the
same nonce is rejected as a replay.
"""

import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .clock import EmulatorClock
from .errors import Unauthorized

logger = logging.getLogger(__name__)

DIGEST_REALM = "MMS Public API"
DEFAULT_NONCE_LIFETIME_SECONDS = 300
DEFAULT_TOKEN_TTL_SECONDS = 3600
# Bound on remembered nonces for replay detection; the oldest are forgotten first.
MAX_TRACKED_NONCES = 100_000

_DIGEST_PARAMETER = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(slots=True)
class Credential:
    """An API key (``kind="api_key"``: id = public key, secret = private key) or a service
    account (``kind="service_account"``: id = client id, secret = client secret).
    ``project_ids`` None grants every project, including ones added later."""

    kind: str
    id: str
    secret: str
    project_ids: frozenset[str] | None = None
    token_ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS

    def can_access(self, project_id: str) -> bool:
        return self.project_ids is None or project_id in self.project_ids


@dataclass(slots=True)
class AccessToken:
    value: str
    client_id: str
    expires_at: datetime
    revoked: bool = False


@dataclass(slots=True)
class Principal:
    """The authenticated caller of one request."""

    credential: Credential
    auth_kind: str  # "digest" or "bearer"


@dataclass
class DigestChallenge(Exception):
    """Raised when a request must get 401 with a new Digest challenge."""

    stale: bool = False
    detail: str = "You are not authorized for this resource."


@dataclass
class Authenticator:
    clock: EmulatorClock
    nonce_lifetime_seconds: float = DEFAULT_NONCE_LIFETIME_SECONDS
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _api_keys: dict[str, Credential] = field(default_factory=dict)
    _service_accounts: dict[str, Credential] = field(default_factory=dict)
    _tokens: dict[str, AccessToken] = field(default_factory=dict)
    _nonce_counts: OrderedDict[str, set[str]] = field(default_factory=OrderedDict)
    _nonce_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    opaque: str = field(default_factory=lambda: secrets.token_hex(16))

    # -- credential registry --------------------------------------------------------------------

    def add_api_key(self, public_key: str, private_key: str, project_ids=None) -> Credential:
        credential = Credential("api_key", public_key, private_key, _frozen(project_ids))
        with self._lock:
            self._api_keys[public_key] = credential
        return credential

    def add_service_account(
        self,
        client_id: str,
        client_secret: str,
        project_ids=None,
        token_ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS,
    ) -> Credential:
        credential = Credential(
            "service_account", client_id, client_secret, _frozen(project_ids), token_ttl_seconds
        )
        with self._lock:
            self._service_accounts[client_id] = credential
        return credential

    def revoke_tokens(self) -> int:
        """Revoke every issued bearer token; returns how many were still live."""
        with self._lock:
            live = [token for token in self._tokens.values() if not token.revoked]
            for token in live:
                token.revoked = True
            return len(live)

    # -- digest ---------------------------------------------------------------------------------

    def challenge_header(self, stale: bool = False) -> str:
        issued_ms = int(self.clock.now().timestamp() * 1000)
        # Random bytes keep nonces unique while the clock is frozen, as a real server's are.
        stamp = f"{issued_ms:x}-{secrets.token_hex(8)}"
        signature = hmac.new(self._nonce_key, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        nonce = f"{stamp}{signature}"
        return (
            f'Digest realm="{DIGEST_REALM}", domain="", nonce="{nonce}", '
            f'algorithm=MD5, qop="auth", opaque="{self.opaque}", stale={str(stale).lower()}'
        )

    def verify_digest(self, header_value: str, method: str, request_target: str) -> Principal:
        """Check a Digest Authorization header; raises DigestChallenge on any failure."""
        parameters = {
            match.group(1).lower(): match.group(2) if match.group(2) is not None else match.group(3)
            for match in _DIGEST_PARAMETER.finditer(header_value)
        }
        required = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        missing = [name for name in required if not parameters.get(name)]
        if missing:
            raise DigestChallenge(detail=f"Digest authorization lacks {', '.join(missing)}.")
        if parameters["realm"] != DIGEST_REALM or parameters["qop"] != "auth":
            raise DigestChallenge(detail="Digest authorization has the wrong realm or qop.")
        if parameters.get("algorithm", "MD5").upper() != "MD5":
            raise DigestChallenge(detail="Digest authorization must use algorithm MD5.")
        if parameters.get("opaque") not in (None, self.opaque):
            raise DigestChallenge(detail="Digest authorization has the wrong opaque value.")
        if parameters["uri"] != request_target:
            raise DigestChallenge(detail="Digest uri does not match the request target.")
        if not re.fullmatch(r"[0-9a-fA-F]{8}", parameters["nc"]):
            raise DigestChallenge(detail="Digest nonce count must be 8 hex digits.")

        nonce = parameters["nonce"]
        issued_at = self._nonce_issue_time(nonce)
        if issued_at is None:
            raise DigestChallenge(detail="Digest nonce was not issued by this server.")
        with self._lock:
            credential = self._api_keys.get(parameters["username"])
        if credential is None:
            raise DigestChallenge()

        expected = _digest_response(credential.id, credential.secret, method, parameters)
        if not hmac.compare_digest(expected, parameters["response"].lower()):
            raise DigestChallenge()
        age = self.clock.now() - issued_at
        if age > timedelta(seconds=self.nonce_lifetime_seconds):
            raise DigestChallenge(stale=True, detail="Digest nonce is stale.")
        if not self._record_nonce_count(nonce, parameters["nc"].lower()):
            raise DigestChallenge(detail="Digest nonce count was already used.")
        return Principal(credential, "digest")

    def _nonce_issue_time(self, nonce: str) -> datetime | None:
        stamp, signature = nonce[:-32], nonce[-32:]
        expected = hmac.new(self._nonce_key, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        if not stamp or not hmac.compare_digest(expected, signature):
            return None
        try:
            issued_ms = int(stamp.split("-", 1)[0], 16)
        except ValueError:
            return None
        return datetime.fromtimestamp(issued_ms / 1000, tz=UTC)

    def _record_nonce_count(self, nonce: str, nonce_count: str) -> bool:
        with self._lock:
            seen = self._nonce_counts.get(nonce)
            if seen is None:
                seen = self._nonce_counts[nonce] = set()
                while len(self._nonce_counts) > MAX_TRACKED_NONCES:
                    self._nonce_counts.popitem(last=False)
            if nonce_count in seen:
                return False
            seen.add(nonce_count)
            return True

    # -- service accounts -----------------------------------------------------------------------

    def verify_basic(self, header_value: str | None) -> Credential | None:
        """Return the service account named by a Basic Authorization header, or None."""
        if not header_value or not header_value.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(header_value[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        client_id, _, client_secret = decoded.partition(":")
        with self._lock:
            credential = self._service_accounts.get(client_id)
        if credential is None or not hmac.compare_digest(credential.secret, client_secret):
            return None
        return credential

    def issue_token(self, credential: Credential) -> AccessToken:
        token = AccessToken(
            value=secrets.token_urlsafe(32),
            client_id=credential.id,
            expires_at=self.clock.now() + timedelta(seconds=credential.token_ttl_seconds),
        )
        with self._lock:
            self._tokens[token.value] = token
        return token

    def revoke_token(self, credential: Credential, value: str) -> bool:
        """Revoke a token issued to ``credential``; tokens of other clients are left alone."""
        with self._lock:
            token = self._tokens.get(value)
            if token is None or token.client_id != credential.id:
                return False
            token.revoked = True
            return True

    def verify_bearer(self, value: str) -> Principal:
        """Check a bearer token; raises Unauthorized for unknown, expired or revoked tokens."""
        with self._lock:
            token = self._tokens.get(value)
            credential = self._service_accounts.get(token.client_id) if token else None
        if token is None or credential is None:
            raise Unauthorized("The access token is invalid.")
        if token.revoked:
            raise Unauthorized("The access token has been revoked.")
        if token.expires_at <= self.clock.now():
            raise Unauthorized("The access token has expired.")
        return Principal(credential, "bearer")


def _digest_response(username: str, password: str, method: str, parameters: dict) -> str:
    ha1 = _md5(f"{username}:{DIGEST_REALM}:{password}")
    ha2 = _md5(f"{method}:{parameters['uri']}")
    return _md5(
        f"{ha1}:{parameters['nonce']}:{parameters['nc']}:{parameters['cnonce']}:"
        f"{parameters['qop']}:{ha2}"
    )


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _frozen(project_ids) -> frozenset[str] | None:
    return None if project_ids is None else frozenset(project_ids)
