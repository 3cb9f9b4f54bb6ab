"""Checking who sent a federation request: the X-Matrix header against the sender's key.

The allowlist is checked before any key is looked up, so a server off the
list never makes this server fetch anything.
"""

import logging
from collections.abc import Callable

from sceau.errors import MatrixError
from sceau.protocol.federation import parse_x_matrix, verify_request
from sceau.protocol.signing import SignatureError
from sceau.services.federation.keys import KeyRing, KeyUnavailable
from sceau.services.federation.policy import FederationPolicy

logger = logging.getLogger(__name__)


def unauthorized(error: str) -> MatrixError:
    return MatrixError(401, "M_UNAUTHORIZED", error)


class RequestAuthenticator:
    def __init__(self, *, policy: FederationPolicy, keys: KeyRing) -> None:
        self._policy = policy
        self._keys = keys
        #: Called with each authenticated origin (the sender catches it up at once).
        self.on_authenticated: list[Callable[[str], None]] = []

    def require_enabled(self) -> None:
        if not self._policy.enabled:
            raise MatrixError(403, "M_FORBIDDEN", "Federation is disabled on this server")

    async def authenticate(
        self, method: str, uri: str, headers: list[str], content: object | None
    ) -> str:
        """The origin of a correctly signed request, or the spec's 401/403.

        ``headers`` are the request's Authorization values; the first X-Matrix
        one that parses is used.
        """
        self.require_enabled()
        auth = None
        for header in headers:
            try:
                auth = parse_x_matrix(header)
                break
            except ValueError:
                continue
        if auth is None:
            raise unauthorized("Missing or malformed X-Matrix Authorization header")
        if auth.destination is not None and auth.destination != self._policy.server_name:
            raise unauthorized(
                f"Request is for {auth.destination}, this server is {self._policy.server_name}"
            )
        if auth.origin == self._policy.server_name or not self._policy.is_allowed(auth.origin):
            raise MatrixError(403, "M_FORBIDDEN", f"Federation denied with {auth.origin}.")
        try:
            public = await self._keys.verify_key(auth.origin, auth.key_id)
        except KeyUnavailable as exc:
            raise unauthorized(f"No usable key {auth.key_id} for {auth.origin}: {exc}") from None
        try:
            verify_request(auth, method, uri, self._policy.server_name, content, public)
        except SignatureError:
            raise unauthorized(f"Invalid signature for {auth.origin}") from None
        for callback in self.on_authenticated:
            callback(auth.origin)
        return auth.origin
