"""The Server-Server API transport: keys, signed requests, the queue, EDUs and queries.

:func:`build_transport` builds the parts every other federation service
uses; the composition root (``sceau/wiring_federation.py``) adds the rest.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sceau.clock import Clock
from sceau.config import Config
from sceau.protocol.signing import SigningKey
from sceau.services.federation.client import FederationClient, LazyHttpClient, make_ssl_context
from sceau.services.federation.discovery import (
    ServerResolver,
    SrvLookup,
    WellKnownFetch,
    dns_srv_lookup,
)
from sceau.services.federation.inbound import RequestAuthenticator
from sceau.services.federation.interfaces import PduReceiver, UnsupportedPduReceiver
from sceau.services.federation.keys import KeyRing
from sceau.services.federation.openid import OpenIdService
from sceau.services.federation.outbound import OutboundFanout
from sceau.services.federation.policy import FederationPolicy
from sceau.services.federation.queries import FederationQueries
from sceau.services.federation.remote import RemoteQueries
from sceau.services.federation.sender import FederationSender
from sceau.services.federation.transactions import InboundTransactions
from sceau.storage.database import Database
from sceau.storage.federation import ServerKeyStore

if TYPE_CHECKING:
    import httpx


@dataclass
class FederationServices:
    policy: FederationPolicy
    keys: KeyRing
    resolver: ServerResolver
    client: FederationClient
    authenticator: RequestAuthenticator
    http: "httpx.AsyncClient | LazyHttpClient"
    #: The room event graph's receive pipeline; replaced when it is wired in.
    pdu_receiver: PduReceiver = field(default_factory=UnsupportedPduReceiver)
    sender: FederationSender = field(init=False)
    outbound: OutboundFanout = field(init=False)
    transactions: InboundTransactions = field(init=False)
    queries: FederationQueries = field(init=False)
    remote: RemoteQueries = field(init=False)
    openid: OpenIdService = field(init=False)

    async def start(self) -> None:
        """Start sending what the queue holds (a serving process only)."""
        await self.sender.start()

    async def stop(self) -> None:
        await self.sender.stop()
        await self.http.aclose()


def build_transport(
    *,
    config: Config,
    clock: Clock,
    db: Database,
    signing_key: SigningKey,
    well_known: WellKnownFetch | None = None,
    srv_lookup: SrvLookup | None = None,
    http: "httpx.AsyncClient | None" = None,
) -> FederationServices:
    """Keys, discovery, the signing client and the inbound authenticator."""
    fed = config.federation
    ca_file = str(config.resolve_path(fed.ca_file)) if fed.ca_file else None

    def make_client() -> "httpx.AsyncClient":
        import httpx

        return httpx.AsyncClient(
            verify=make_ssl_context(ca_file),
            timeout=fed.request_timeout_s,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    client_http = http or LazyHttpClient(make_client)
    policy = FederationPolicy(config.server_name, fed)
    keys = KeyRing(
        server_name=config.server_name,
        signing_key=signing_key,
        clock=clock,
        store=ServerKeyStore(db),
        config=fed,
    )

    async def fetch_well_known(host: str) -> Any:
        response = await client_http.get(f"https://{host}/.well-known/matrix/server")
        response.raise_for_status()
        return response.json()

    resolver = ServerResolver(
        clock=clock,
        well_known=well_known or fetch_well_known,
        srv_lookup=srv_lookup or dns_srv_lookup,
    )
    client = FederationClient(
        policy=policy, signing_key=signing_key, resolver=resolver, http=client_http
    )
    keys.fetch = client.get_unsigned

    async def notary_query(notary: str, path: str, body: Any) -> Any:
        return await client.request("POST", notary, path, body=body)

    keys.query = notary_query
    return FederationServices(
        policy=policy,
        keys=keys,
        resolver=resolver,
        client=client,
        authenticator=RequestAuthenticator(policy=policy, keys=keys),
        http=client_http,
    )
