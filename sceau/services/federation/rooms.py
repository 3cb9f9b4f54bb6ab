"""The room side of federation, as the HTTP layer and the composition root see it."""

from dataclasses import dataclass

from sceau.services.federation.pdu_pipeline import PduPipeline
from sceau.services.federation.room_serving import FederationRoomReader


@dataclass
class FederationRooms:
    #: Received PDUs into the room DAG (also the transport's PduReceiver).
    pipeline: PduPipeline
    #: Events, state and history served to other servers.
    reader: FederationRoomReader
