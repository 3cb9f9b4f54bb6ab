"""The room side of federation, as the HTTP layer and the composition root see it."""

from dataclasses import dataclass

from sceau.services.federation.membership_handshake import MembershipHandshake
from sceau.services.federation.pdu_pipeline import PduPipeline
from sceau.services.federation.room_serving import FederationRoomReader
from sceau.services.remote_rooms import RemoteRoomWriter


@dataclass
class FederationRooms:
    #: Received PDUs into the room DAG (also the transport's PduReceiver).
    pipeline: PduPipeline
    #: Events, state and history served to other servers.
    reader: FederationRoomReader
    #: make_/send_ join, leave, knock and invites, as the resident server.
    handshake: MembershipHandshake
    #: Rooms learnt from other servers (remote joins and invites).
    remote_rooms: RemoteRoomWriter
