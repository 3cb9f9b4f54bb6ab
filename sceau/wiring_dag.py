"""The room event graph plugged into federation: the receive pipeline and the room endpoints.

Called from :func:`sceau.homeserver.build_services` after the federation
transport exists (``add_federation``): the pipeline checks signatures with
the transport's key ring and fills gaps through its signed client.
"""

from typing import TYPE_CHECKING, Any

from sceau.protocol.auth_rules import server_name_of
from sceau.services.federation.backfill import Backfiller
from sceau.services.federation.keys import KeyUnavailable
from sceau.services.federation.membership_handshake import MembershipHandshake
from sceau.services.federation.missing_events import MissingEventsFetcher
from sceau.services.federation.pdu_pipeline import PduPipeline
from sceau.services.federation.remote_membership import RemoteMembership
from sceau.services.federation.room_serving import FederationRoomReader
from sceau.services.federation.rooms import FederationRooms
from sceau.services.remote_rooms import RemoteRoomWriter
from sceau.storage.received_pdus import ReceivedPduStore

if TYPE_CHECKING:
    from sceau.homeserver import Services


def add_event_graph_federation(services: "Services") -> None:
    """Build the pipeline and the room services; hand the pipeline to the transport."""
    stores = services.stores
    federation = services.federation
    keys = federation.keys

    async def verify_key(server: str, key_id: str, valid_at_ms: int | None = None) -> bytes | None:
        try:
            return await keys.verify_key(server, key_id, valid_at_ms)
        except KeyUnavailable:
            return None

    missing = MissingEventsFetcher(client=federation.client, rooms=stores.rooms)
    pipeline = PduPipeline(
        events=services.events,
        event_store=stores.events,
        rooms=stores.rooms,
        received=ReceivedPduStore(stores.db),
        verify_keys=verify_key,
        missing=missing,
    )
    federation.pdu_receiver = pipeline
    reader = FederationRoomReader(
        server_name=services.config.server_name,
        events=stores.events,
        state=stores.state,
        rooms=stores.rooms,
        graph=services.events.graph,
    )
    received = ReceivedPduStore(stores.db)
    remote_rooms = RemoteRoomWriter(
        clock=services.clock,
        db=stores.db,
        events=services.events,
        event_store=stores.events,
        state=stores.state,
        rooms=stores.rooms,
        received=received,
        stream=services.stream,
        notifier=services.notifier,
    )
    handshake = MembershipHandshake(
        server_name=services.config.server_name,
        signing_key=services.signing_key,
        events=services.events,
        graph=services.events.graph,
        state=stores.state,
        event_store=stores.events,
        accounts=stores.accounts,
        reader=reader,
        pipeline=pipeline,
        remote_rooms=remote_rooms,
        verify_keys=verify_key,
    )
    me = services.config.server_name

    async def forward(room_id: str, pdu: dict[str, Any], exclude: set[str]) -> None:
        """A membership accepted here goes on to the room's other servers."""
        servers = {server_name_of(m) for m in await stores.state.members(room_id)}
        targets = servers - exclude - {me}
        if targets:
            await federation.sender.send_pdu(pdu, targets)

    handshake.forward = forward
    handshake.local_checks = services.events.local_checks
    if services.config.federation.enabled:
        services.timeline.backfill = Backfiller(
            server_name=me,
            db=stores.db,
            client=federation.client,
            pipeline=pipeline,
            remote_rooms=remote_rooms,
            state=stores.state,
            events=services.events,
            event_store=stores.events,
            missing=missing,
        ).backfill
        services.rooms.remote = RemoteMembership(
            server_name=me,
            signing_key=services.signing_key,
            clock=services.clock,
            client=federation.client,
            remote_rooms=remote_rooms,
            state=stores.state,
            verify_keys=verify_key,
        )
    services.federation_rooms = FederationRooms(
        pipeline=pipeline, reader=reader, handshake=handshake, remote_rooms=remote_rooms
    )
