"""A remote server in a test: its signing key, the PDUs it builds, its answers.

``RemoteServer`` builds PDUs the way another homeserver would (its own
signature, the room version's format) so that the receive pipeline can be
driven without a network; ``FakePeer`` answers the federation requests the
pipeline makes (get_missing_events, state_ids, event, event_auth) from the
events the remote server built.
"""

from typing import Any

from sceau.protocol.events import auth_event_types, build_pdu
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.signing import generate_signing_key
from sceau.services.federation.pdu_pipeline import PduPipeline
from sceau.storage.received_pdus import ReceivedPduStore

CREATOR = "@creator:test.local"


class RemoteServer:
    def __init__(
        self, name: str = "remote.test", seed: bytes = b"\x07" * 32, key_version: str = "r1"
    ) -> None:
        self.name = name
        self.key = generate_signing_key(seed, key_version)
        self.built: dict[str, dict] = {}
        self.ts = 1_700_000_000_000

    async def lookup(
        self, server: str, key_id: str, valid_at_ms: int | None = None
    ) -> bytes | None:
        if server == self.name and key_id == self.key.key_id:
            return self.key.verify_key_bytes
        return None

    def event(
        self,
        version: RoomVersion,
        room_id: str,
        sender: str,
        event_type: str,
        content: dict,
        *,
        state: dict,
        prev_events: list[str],
        depth: int,
        state_key: str | None = None,
    ) -> tuple[str, dict]:
        """A signed PDU whose auth events are picked from ``state`` (type, key) -> id."""
        keys = auth_event_types(event_type, state_key, sender, content, version)
        self.ts += 1
        event_id, pdu = build_pdu(
            room_version=version,
            room_id=room_id,
            sender=sender,
            event_type=event_type,
            content=content,
            state_key=state_key,
            prev_events=prev_events,
            auth_events=[state[k] for k in keys if k in state],
            depth=depth,
            origin_server_ts=self.ts,
            redacts=None,
            origin=self.name,
            signing_key=self.key,
        )
        self.built[event_id] = pdu
        return event_id, pdu


class FakePeer:
    """Answers the pipeline's requests from what the remote server built."""

    def __init__(self, remote: RemoteServer) -> None:
        self.remote = remote
        self.calls: list[tuple[str, str]] = []
        self.missing_answer: list[str] | None = None
        self.state_answer: dict[str, tuple[list[str], list[str]]] = {}
        self.auth_answer: list[str] = []
        self.backfill_answer: list[str] = []

    async def request(
        self, method: str, destination: str, path: str, *, query: Any = None, body: Any = None
    ) -> Any:
        self.calls.append((method, path.split("/")[4]))
        kind = path.split("/")[4]
        if kind == "get_missing_events":
            ids = self.missing_answer or []
            return {"events": [self.remote.built[i] for i in ids]}
        if kind == "state_ids":
            pdu_ids, auth_ids = self.state_answer[query["event_id"]]
            return {"pdu_ids": pdu_ids, "auth_chain_ids": auth_ids}
        if kind == "event":
            from urllib.parse import unquote

            event_id = unquote(path.split("/")[5])
            if event_id not in self.remote.built:
                raise LookupError(event_id)
            return {"origin": self.remote.name, "pdus": [self.remote.built[event_id]]}
        if kind == "backfill":
            return {
                "origin": self.remote.name,
                "pdus": [self.remote.built[i] for i in self.backfill_answer],
            }
        if kind == "event_auth":
            return {"auth_chain": [self.remote.built[i] for i in self.auth_answer]}
        raise LookupError(path)


def make_pipeline(services: Any, remote: RemoteServer, peer: FakePeer | None = None) -> PduPipeline:
    from sceau.services.federation.missing_events import MissingEventsFetcher

    stores = services.stores
    return PduPipeline(
        events=services.events,
        event_store=stores.events,
        rooms=stores.rooms,
        received=ReceivedPduStore(stores.db),
        verify_keys=remote.lookup,
        missing=None if peer is None else MissingEventsFetcher(client=peer, rooms=stores.rooms),
    )


def make_backfiller(services: Any, pipeline: PduPipeline, peer: FakePeer) -> Any:
    """A Backfiller asking ``peer``, writing into ``services``' database."""
    from sceau.services.federation.backfill import Backfiller
    from sceau.services.federation.missing_events import MissingEventsFetcher

    stores = services.stores
    return Backfiller(
        server_name=services.config.server_name,
        db=stores.db,
        client=peer,
        pipeline=pipeline,
        remote_rooms=services.federation_rooms.remote_rooms,
        state=stores.state,
        events=services.events,
        event_store=stores.events,
        missing=MissingEventsFetcher(client=peer, rooms=stores.rooms),
    )


async def room_state(services: Any, room_id: str) -> dict:
    return dict(await services.stores.state.current_state_ids(room_id))


async def extremities(services: Any, room_id: str) -> dict[str, int]:
    return await services.stores.rooms.forward_extremities(room_id)
