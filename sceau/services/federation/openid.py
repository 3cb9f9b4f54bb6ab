"""OpenID tokens: a user proves their identity to a third party, which asks this server.

The token is random, handed to the client once, stored only as its SHA-256
and valid for an hour; ``/federation/v1/openid/userinfo`` answers whom it names.
"""

import secrets

from sceau.clock import Clock
from sceau.errors import MatrixError, forbidden
from sceau.services.auth import hash_token
from sceau.storage.federation_openid import OpenIdTokenStore

LIFETIME_MS = 3_600_000


class OpenIdService:
    def __init__(self, *, server_name: str, clock: Clock, store: OpenIdTokenStore) -> None:
        self._server_name = server_name
        self._clock = clock
        self._store = store

    async def request_token(self, requester: str, user_id: str) -> dict[str, object]:
        """POST /_matrix/client/v3/user/{userId}/openid/request_token"""
        if requester != user_id:
            raise forbidden("You may only request OpenID tokens for yourself")
        token = secrets.token_urlsafe(32)
        now = self._clock.time_ms()
        await self._store.add(hash_token(token), user_id, now + LIFETIME_MS, now)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "matrix_server_name": self._server_name,
            "expires_in": LIFETIME_MS // 1000,
        }

    async def userinfo(self, token: str) -> dict[str, str]:
        """GET /_matrix/federation/v1/openid/userinfo"""
        user_id = await self._store.user_for(hash_token(token), self._clock.time_ms())
        if user_id is None:
            raise MatrixError(401, "M_UNKNOWN_TOKEN", "Unknown or expired OpenID token")
        return {"sub": user_id}
