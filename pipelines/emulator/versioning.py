"""Accept-header version negotiation for the v2 API.

Every endpoint the emulator serves exists only in version 2023-01-01, so a v2 request must
accept ``application/vnd.atlas.2023-01-01+json``. Otherwise Atlas returns 406 INVALID_VERSION_DATE
("Invalid accept header or version date."). The emulator returns that response in each of
these cases, choosing the strict reading where Atlas's behaviour is not documented:

- no Accept header, ``*/*`` or plain ``application/json``;
- a well-formed version that exists elsewhere in the API but not for the endpoint
  (e.g. 2024-08-05) or does not exist at all (e.g. 2099-01-01);
- a malformed version (``2023-1-1``, ``preview``, a missing ``+json`` suffix).

Media-type parameters (``;charset=utf-8``, ``;q=0.9``) are ignored and any one acceptable
entry in a comma-separated list is enough. The deprecated v1.0 path takes plain JSON and is
not checked.
"""

import re

from .errors import InvalidVersionDate

SUPPORTED_VERSION = "2023-01-01"
V2_CONTENT_TYPE = f"application/vnd.atlas.{SUPPORTED_VERSION}+json;charset=utf-8"
V1_CONTENT_TYPE = "application/json"

_VERSIONED_MEDIA_TYPE = re.compile(r"^application/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+json$")


def require_supported_version(accept: str | None) -> str:
    """Return the accepted version or raise InvalidVersionDate (406)."""
    for entry in (accept or "").split(","):
        media_type = entry.split(";", 1)[0].strip().lower()
        match = _VERSIONED_MEDIA_TYPE.match(media_type)
        if match and match.group(1) == SUPPORTED_VERSION:
            return SUPPORTED_VERSION
    raise InvalidVersionDate()
