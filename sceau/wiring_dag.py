"""The room event graph plugged into federation: the receive pipeline and the room endpoints.

Called from :func:`sceau.homeserver.build_services` after the federation
transport exists (``add_federation``): the pipeline checks signatures with
the transport's key ring and fills gaps through its signed client.
"""

from typing import TYPE_CHECKING

from sceau.services.federation.keys import KeyUnavailable
from sceau.services.federation.missing_events import MissingEventsFetcher
from sceau.services.federation.pdu_pipeline import PduPipeline
from sceau.services.federation.room_serving import FederationRoomReader
from sceau.services.federation.rooms import FederationRooms
from sceau.storage.received_pdus import ReceivedPduStore

if TYPE_CHECKING:
    from sceau.homeserver import Services


def add_event_graph_federation(services: "Services") -> None:
    """Build the pipeline and the room services; hand the pipeline to the transport."""
    stores = services.stores
    federation = services.federation
    keys = federation.keys

    async def verify_key(server: str, key_id: str) -> bytes | None:
        try:
            return await keys.verify_key(server, key_id)
        except KeyUnavailable:
            return None

    pipeline = PduPipeline(
        events=services.events,
        event_store=stores.events,
        rooms=stores.rooms,
        received=ReceivedPduStore(stores.db),
        verify_keys=verify_key,
        missing=MissingEventsFetcher(client=federation.client, rooms=stores.rooms),
    )
    federation.pdu_receiver = pipeline
    reader = FederationRoomReader(
        server_name=services.config.server_name,
        events=stores.events,
        state=stores.state,
        rooms=stores.rooms,
        graph=services.events.graph,
    )
    services.federation_rooms = FederationRooms(pipeline=pipeline, reader=reader)
