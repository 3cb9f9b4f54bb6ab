"""Identity-server accounts, as the spec has them: an OpenID token buys an access token.

A homeserver of the federation (or a client) calls ``account/register`` with
an OpenID token its user obtained; this server asks the token's homeserver
who it names (``/federation/v1/openid/userinfo``) and hands out a token for
the identity endpoints. Sceau's own servers skip this and sign their
``store-invite`` calls with their federation key; a homeserver that follows
the spec to the letter (Synapse passing its client's ``id_access_token``)
comes this way.
"""

import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from sceau.clock import Clock
from sceau.errors import MatrixError, missing_param
from sceau.protocol.auth_rules import server_name_of
from sceau.protocol.types import JsonDict
from sceau.services.auth import hash_token
from sceau.services.federation.client import FederationClient, FederationRequestError
from sceau.storage.identity_tokens import IdentityTokenStore

USERINFO_PATH = "/_matrix/federation/v1/openid/userinfo"

#: Who a local OpenID token names (OpenIdService.userinfo).
LocalUserinfo = Callable[[str], Awaitable[dict[str, str]]]


def unauthorized(error: str) -> MatrixError:
    return MatrixError(401, "M_UNAUTHORIZED", error)


class IdentityAccounts:
    def __init__(
        self,
        *,
        server_name: str,
        clock: Clock,
        store: IdentityTokenStore,
        local_userinfo: LocalUserinfo,
        client: FederationClient | None,
    ) -> None:
        self._me = server_name
        self._clock = clock
        self._store = store
        self._local_userinfo = local_userinfo
        self._client = client

    async def register(self, body: JsonDict) -> JsonDict:
        """POST /_matrix/identity/v2/account/register"""
        token, server = body.get("access_token"), body.get("matrix_server_name")
        if not isinstance(token, str) or not token:
            raise missing_param("access_token")
        if not isinstance(server, str) or not server:
            raise missing_param("matrix_server_name")
        user_id = await self._openid_subject(server, token)
        if server_name_of(user_id) != server:
            raise unauthorized(f"{server} vouched for a user of another server")
        issued = secrets.token_urlsafe(32)
        await self._store.add(hash_token(issued), user_id, self._clock.time_ms())
        return {"token": issued}

    async def _openid_subject(self, server: str, token: str) -> str:
        if server == self._me:
            try:
                return (await self._local_userinfo(token))["sub"]
            except MatrixError:
                raise unauthorized("The OpenID token is unknown or expired") from None
        if self._client is None:
            raise unauthorized("Federation with other servers is not enabled")
        path = USERINFO_PATH + "?" + urlencode({"access_token": token})
        try:
            answer = await self._client.get_unsigned(server, path)
        except FederationRequestError as exc:
            raise unauthorized(f"{server} did not vouch for the token: {exc.message}") from None
        subject = answer.get("sub") if isinstance(answer, dict) else None
        if not isinstance(subject, str):
            raise unauthorized(f"{server} gave no user for the token")
        return subject

    async def user_for(self, authorization: str | None) -> str:
        """The user behind ``Authorization: Bearer <identity token>``; 401 otherwise."""
        if not authorization or not authorization.startswith("Bearer "):
            raise unauthorized("An identity server access token is required")
        user_id = await self._store.user_for(hash_token(authorization.removeprefix("Bearer ")))
        if user_id is None:
            raise unauthorized("Unknown identity server access token")
        return user_id

    async def logout(self, authorization: str | None) -> None:
        """POST /_matrix/identity/v2/account/logout"""
        await self.user_for(authorization)
        assert authorization is not None
        await self._store.delete(hash_token(authorization.removeprefix("Bearer ")))
