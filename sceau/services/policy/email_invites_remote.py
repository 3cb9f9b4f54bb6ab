"""The two calls an invitation by email makes to another server of the federation.

When an address belongs to another server (the external partners' server
above all), that server is the address's identity server: the inviter's
server asks it to hold the invitation (``store-invite``), and once the
invitee has registered there, it asks the room's server to turn the
invitation into a membership (``exchange_third_party_invite``). Both go over
the federation's signed, allowlisted HTTPS, so each side knows which server
it talks to.
"""

from dataclasses import dataclass
from typing import Any

from sceau.errors import MatrixError
from sceau.protocol.types import JsonDict
from sceau.services.federation.client import FederationClient, FederationRequestError, encode_path
from sceau.services.federation.policy import FederationPolicy

STORE_INVITE_PATH = "/_matrix/identity/v2/store-invite"
EXCHANGE_PATH = "/_matrix/federation/v1/exchange_third_party_invite/{}"


class AddressBound(Exception):
    """The address already has an account there: invite that account instead."""

    def __init__(self, user_id: str) -> None:
        super().__init__(user_id)
        self.user_id = user_id


@dataclass(frozen=True)
class StoredInvite:
    """What the address's server answers ``store-invite``: the token and its keys."""

    token: str
    display_name: str
    public_keys: list[JsonDict]


class Unreachable(MatrixError):
    """The other server did not answer, or failed: worth trying again later."""


def _relayed(server: str, exc: FederationRequestError) -> MatrixError:
    """Another server's refusal, passed on to the client with its code; 502 if it did not answer."""
    if exc.status is not None and exc.status < 500 and exc.errcode:
        body = exc.body if isinstance(exc.body, dict) else {}
        extra = {k: v for k, v in body.items() if k in ("policy", "server_name")}
        error = body.get("error") if isinstance(body.get("error"), str) else exc.message
        return MatrixError(exc.status, exc.errcode, f"{server}: {error}", **extra)
    return Unreachable(502, "M_UNKNOWN", f"{server} could not be reached: {exc.message}")


def _stored_invite(server: str, answer: Any) -> StoredInvite:
    """Check the shape of a ``store-invite`` answer before it goes into a room."""
    if isinstance(answer, dict):
        token, name, keys = (
            answer.get("token"),
            answer.get("display_name"),
            answer.get("public_keys"),
        )
        if (
            isinstance(token, str)
            and token
            and isinstance(name, str)
            and isinstance(keys, list)
            and keys
            and all(isinstance(k, dict) and isinstance(k.get("public_key"), str) for k in keys)
        ):
            return StoredInvite(token, name, keys)
    raise MatrixError(502, "M_UNKNOWN", f"{server} gave a malformed store-invite answer")


class EmailInviteFederation:
    """``store-invite`` on the address's server, ``exchange_third_party_invite`` on the room's."""

    def __init__(self, client: FederationClient, policy: FederationPolicy) -> None:
        self._client = client
        self._policy = policy

    def allows(self, server: str) -> bool:
        """Whether ``server`` is on this server's federation allowlist."""
        return self._policy.is_allowed(server)

    async def store_invite(self, server: str, body: JsonDict) -> StoredInvite:
        """Ask ``server`` to hold an invitation for an address it owns (it mails the invitee)."""
        try:
            answer = await self._client.request("POST", server, STORE_INVITE_PATH, body=body)
        except FederationRequestError as exc:
            bound = exc.body.get("mxid") if isinstance(exc.body, dict) else None
            if exc.errcode == "M_THREEPID_IN_USE" and isinstance(bound, str):
                raise AddressBound(bound) from None
            raise _relayed(server, exc) from None
        return _stored_invite(server, answer)

    async def exchange(self, server: str, room_id: str, event: JsonDict) -> None:
        """Ask the inviter's server to send the invitation's membership into its room."""
        path = encode_path(EXCHANGE_PATH, room_id)
        try:
            await self._client.request("PUT", server, path, body=event)
        except FederationRequestError as exc:
            raise _relayed(server, exc) from None
