"""Authentication for the Atlas Administration API: HTTP Digest API keys and service accounts."""

import hashlib
import os
import threading
import time
from typing import Any
from urllib.parse import urlparse

from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue
from dlt.sources.helpers.rest_client.auth import AuthConfigBase, OAuth2ClientCredentials
from requests import PreparedRequest, Response
from requests.auth import HTTPBasicAuth
from requests.utils import parse_dict_header

from pipelines.settings import TOKEN_PATH


class DigestChallenge:
    """The server's current Digest challenge and the nonce count, shared by all threads.

    requests' HTTPDigestAuth keeps this state per thread, which costs one 401 round trip per
    worker thread; sharing it costs one per nonce.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fields: dict[str, str] | None = None
        self.nonce_count = 0

    def update(self, header: str) -> None:
        fields = parse_dict_header(header.split(" ", 1)[1])
        with self.lock:
            # Several threads can be challenged at once; a nonce already known keeps its count,
            # because a nonce count sent twice is rejected as a replay.
            if self.fields is None or fields.get("nonce") != self.fields.get("nonce"):
                self.nonce_count = 0
            self.fields = fields

    def next_count(self) -> tuple[dict[str, str], int] | None:
        with self.lock:
            if self.fields is None:
                return None
            self.nonce_count += 1
            return self.fields, self.nonce_count


@configspec
class AtlasDigestAuth(AuthConfigBase):
    """HTTP Digest with an Atlas API key: the public key is the user name, the private key the
    password. Subclasses dlt's AuthConfigBase so it works wherever dlt expects an auth object."""

    public_key: str = None
    private_key: TSecretStrValue = None

    def __post_init__(self) -> None:
        self._challenge = DigestChallenge()

    def __deepcopy__(self, memo: dict[int, Any]) -> "AtlasDigestAuth":
        # dlt deep-copies auth objects; the lock inside the challenge cannot be copied.
        return AtlasDigestAuth(public_key=self.public_key, private_key=self.private_key)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        self._sign(request)
        request.register_hook("response", self._handle_401)
        # A retried request must carry a new nonce count: Atlas rejects a repeated one.
        request.sign_again = self._sign  # type: ignore[attr-defined]
        return request

    def _sign(self, request: PreparedRequest) -> bool:
        state = self._challenge.next_count()
        if state is None:
            request.headers.pop("Authorization", None)
            return False
        fields, count = state
        request.headers["Authorization"] = self._authorization(request, fields, count)
        return True

    def _authorization(self, request: PreparedRequest, fields: dict[str, str], count: int) -> str:
        parsed = urlparse(request.url)
        uri = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        realm, nonce = fields.get("realm", ""), fields.get("nonce", "")
        cnonce = os.urandom(8).hex()
        nc = f"{count:08x}"

        ha1 = _md5(f"{self.public_key}:{realm}:{self.private_key}")
        ha2 = _md5(f"{request.method}:{uri}")
        qop = "auth" if "auth" in fields.get("qop", "").split(",") else None
        if qop:
            digest = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
        else:
            digest = _md5(f"{ha1}:{nonce}:{ha2}")

        parts = [
            f'username="{self.public_key}"',
            f'realm="{realm}"',
            f'nonce="{nonce}"',
            f'uri="{uri}"',
            f'response="{digest}"',
            "algorithm=MD5",
        ]
        if "opaque" in fields:
            parts.append(f'opaque="{fields["opaque"]}"')
        if qop:
            parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        return "Digest " + ", ".join(parts)

    def _handle_401(self, response: Response, **kwargs: Any) -> Response:
        """Re-send once, signed anew, after a Digest challenge (first request or stale nonce)."""
        header = response.headers.get("WWW-Authenticate", "")
        if response.status_code != 401 or not header.lower().startswith("digest "):
            return response
        if getattr(response.request, "_atlas_digest_retried", False):
            return response  # The fresh challenge failed too, so the key itself is wrong.

        self._challenge.update(header)
        response.content  # noqa: B018 (reads the body so the connection can be reused)
        response.close()

        retry = response.request.copy()
        retry._atlas_digest_retried = True  # type: ignore[attr-defined]
        self._sign(retry)
        new_response = response.connection.send(retry, **kwargs)
        new_response.history.append(response)
        new_response.request = retry
        return new_response


class AtlasServiceAccountAuth(OAuth2ClientCredentials):
    """OAuth2 client credentials for an Atlas service account.

    Extends dlt's OAuth2ClientCredentials because Atlas expects the client id and secret as
    HTTP Basic on the token endpoint. The subclass also shares one token among all worker
    threads, renews it shortly before it expires and fetches it again once after a 401.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self._token_lock = threading.Lock()
        self._expires_at = 0.0
        self._token_generation = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> "AtlasServiceAccountAuth":
        return AtlasServiceAccountAuth(
            access_token_url=self.access_token_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            session=self.session,
        )

    def build_access_token_request(self) -> dict[str, Any]:
        return {
            "headers": {
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            "data": {"grant_type": "client_credentials"},
            "auth": HTTPBasicAuth(self.client_id, self.client_secret),
        }

    def is_token_expired(self) -> bool:
        return self.access_token is None or time.monotonic() >= self._expires_at

    def obtain_token(self) -> None:
        started = time.monotonic()
        response = self.session.post(self.access_token_url, **self.build_access_token_request())
        if response.status_code != 200:
            raise TokenRequestFailed(response.status_code)
        payload = response.json()
        self.parse_native_representation(self.parse_access_token(payload))
        lifetime = self.parse_expiration_in_seconds(payload)
        # Renew a minute early, or after 90 % of a short lifetime, so no request carries a
        # token that expires in flight.
        self._expires_at = started + lifetime - min(60.0, lifetime * 0.1)
        self._token_generation += 1

    def _current_token(self, refresh_generation: int | None = None) -> tuple[str, int]:
        with self._token_lock:
            stale = refresh_generation is not None and refresh_generation == self._token_generation
            if stale or self.is_token_expired():
                self.obtain_token()
            return str(self.access_token), self._token_generation

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        token, generation = self._current_token()
        request.headers["Authorization"] = f"Bearer {token}"
        request._atlas_token_generation = generation  # type: ignore[attr-defined]
        request.register_hook("response", self._handle_401)
        return request

    def _handle_401(self, response: Response, **kwargs: Any) -> Response:
        """Fetch a new token once when Atlas rejects the current one (expired or revoked)."""
        request = response.request
        if response.status_code != 401 or getattr(request, "_atlas_token_retried", False):
            return response
        used = getattr(request, "_atlas_token_generation", None)
        token, generation = self._current_token(refresh_generation=used)

        response.content  # noqa: B018 (reads the body so the connection can be reused)
        response.close()
        retry = request.copy()
        retry._atlas_token_retried = True  # type: ignore[attr-defined]
        retry._atlas_token_generation = generation  # type: ignore[attr-defined]
        retry.headers["Authorization"] = f"Bearer {token}"
        new_response = response.connection.send(retry, **kwargs)
        new_response.history.append(response)
        new_response.request = retry
        return new_response


class TokenRequestFailed(Exception):
    """The token endpoint rejected the service account's client id or secret."""

    def __init__(self, status_code: int) -> None:
        super().__init__(
            f"the service-account token request to {TOKEN_PATH} failed with HTTP {status_code}; "
            "check credentials.client_id and credentials.client_secret"
        )
        self.status_code = status_code


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()
