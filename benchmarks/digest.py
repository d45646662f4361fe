"""HTTP Digest for dlt's rest_api, as a user of the framework would write it.

rest_api accepts only AuthConfigBase objects (or its own shorthand) and deep-copies them,
while requests' HTTPDigestAuth keeps its challenge in a threading.local that cannot be
copied. This wrapper copies the key and builds a fresh HTTPDigestAuth per copy. Each
thread of each copy handles its own first challenge, as HTTPDigestAuth does anywhere.
"""

from typing import Any

from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue
from dlt.sources.helpers.rest_client.auth import AuthConfigBase
from requests import PreparedRequest
from requests.auth import HTTPDigestAuth


@configspec
class DigestAuth(AuthConfigBase):
    username: str = None
    password: TSecretStrValue = None

    def __post_init__(self) -> None:
        self._digest = HTTPDigestAuth(self.username, self.password)

    def __deepcopy__(self, memo: dict[int, Any]) -> "DigestAuth":
        return DigestAuth(username=self.username, password=self.password)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        return self._digest(request)
