"""Service-account OAuth 2.0 endpoints: POST /api/oauth/token and POST /api/oauth/revoke.

Both take HTTP Basic client credentials and a form body. Errors use the RFC 6749 shape
(``{"error": "invalid_client", "error_description": ...}``) because Atlas documents no other.
Tokens are opaque random strings; Atlas issues JWTs, which clients must not parse anyway.
"""

from dataclasses import dataclass
from urllib.parse import parse_qs

from .auth import Authenticator, Credential

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class OAuthReply:
    status: int
    payload: dict
    headers: tuple[tuple[str, str], ...] = ()
    credential: Credential | None = None


def _error(status: int, code: str, description: str, credential=None) -> OAuthReply:
    headers: tuple[tuple[str, str], ...] = ()
    if status == 401:
        headers = (("WWW-Authenticate", 'Basic realm="oauth"'),)
    return OAuthReply(
        status, {"error": code, "error_description": description}, headers, credential
    )


def _form(content_type: str | None, body: bytes) -> dict[str, list[str]] | None:
    if (content_type or "").split(";", 1)[0].strip().lower() != FORM_CONTENT_TYPE:
        return None
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None


def issue_token(
    authenticator: Authenticator, authorization: str | None, content_type: str | None, body: bytes
) -> OAuthReply:
    credential = authenticator.verify_basic(authorization)
    if credential is None:
        return _error(401, "invalid_client", "Client authentication failed.")
    form = _form(content_type, body)
    if form is None:
        return _error(400, "invalid_request", f"The body must be {FORM_CONTENT_TYPE}.", credential)
    grant_types = form.get("grant_type", [])
    if len(grant_types) != 1:
        return _error(400, "invalid_request", "The form must contain one grant_type.", credential)
    if grant_types != ["client_credentials"]:
        return _error(
            400, "unsupported_grant_type", "grant_type must be client_credentials.", credential
        )
    token = authenticator.issue_token(credential)
    payload = {
        "access_token": token.value,
        "expires_in": credential.token_ttl_seconds,
        "token_type": "Bearer",
    }
    headers = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
    return OAuthReply(200, payload, headers, credential)


def revoke_token(
    authenticator: Authenticator, authorization: str | None, content_type: str | None, body: bytes
) -> OAuthReply:
    """Revoke a token of the authenticated client. As RFC 7009 requires, an unknown token still
    gets 200, so a client cannot probe for valid tokens."""
    credential = authenticator.verify_basic(authorization)
    if credential is None:
        return _error(401, "invalid_client", "Client authentication failed.")
    form = _form(content_type, body)
    tokens = (form or {}).get("token", [])
    if form is None or len(tokens) != 1 or not tokens[0]:
        return _error(400, "invalid_request", "The form must contain one token.", credential)
    authenticator.revoke_token(credential, tokens[0])
    return OAuthReply(200, {}, (), credential)
