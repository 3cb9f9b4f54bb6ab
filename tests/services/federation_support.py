"""A remote server in a test: its signing key, the PDUs it builds, its answers.

``RemoteServer`` builds PDUs the way another homeserver would (its own
signature, the room version's format) so that the receive pipeline can be
driven without a network; ``FakePeer`` answers the federation requests the
pipeline makes (get_missing_events, state_ids, event, event_auth) from the
events the remote server built. The room set-ups the receive-pipeline tests
share (a room here joined by Bob, a rename held as state history) are here
too, so each test file keeps only its own story.
"""

from dataclasses import dataclass
from typing import Any

from sceau.protocol.events import auth_event_types, build_pdu
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.signing import generate_signing_key
from sceau.services.event_types import EventSpec
from sceau.services.federation.pdu_pipeline import PduPipeline
from sceau.storage.received_pdus import ReceivedPduStore

CREATOR = "@creator:test.local"
#: Users of the remote server.
BOB = "@bob:remote.test"
CAROL = "@carol:remote.test"


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

    def message(
        self,
        version: RoomVersion,
        room_id: str,
        sender: str,
        body: str,
        *,
        state: dict,
        prev_events: list[str],
        depth: int,
    ) -> tuple[str, dict]:
        """A signed ``m.room.message`` saying ``body``."""
        return self.event(
            version,
            room_id,
            sender,
            "m.room.message",
            {"body": body},
            state=state,
            prev_events=prev_events,
            depth=depth,
        )

    def member(
        self,
        version: RoomVersion,
        room_id: str,
        user: str,
        content: dict,
        *,
        state: dict,
        prev_events: list[str],
        depth: int,
    ) -> tuple[str, dict]:
        """A signed ``m.room.member`` of ``user`` by ``user`` (a join, a new name)."""
        return self.event(
            version,
            room_id,
            user,
            "m.room.member",
            content,
            state_key=user,
            state=state,
            prev_events=prev_events,
            depth=depth,
        )

    def forged_power_levels(
        self,
        version: RoomVersion,
        room_id: str,
        *,
        state: dict,
        prev_events: list[str],
        depth: int,
        based_on: dict | None = None,
    ) -> tuple[str, dict]:
        """Bob, at power 0, gives himself 100: well signed, not allowed by its auth events."""
        base = based_on or {}
        return self.event(
            version,
            room_id,
            BOB,
            "m.room.power_levels",
            {**base, "users": {**base.get("users", {}), BOB: 100}},
            state_key="",
            state=state,
            prev_events=prev_events,
            depth=depth,
        )


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


async def outcomes(services: Any, *event_ids: str) -> list[str | None]:
    """The recorded outcome of each event (None if none)."""
    found = await ReceivedPduStore(services.stores.db).outcomes(event_ids)
    return [found.get(e) for e in event_ids]


def next_depth(ext: dict[str, int]) -> int:
    """The depth of an event citing the extremities ``ext``."""
    return max(ext.values()) + 1


async def remote_join(
    services: Any, remote: RemoteServer, room_id: str, user: str = BOB
) -> tuple[RoomVersion, str, dict]:
    """``user``'s join built by ``remote`` on the room as it is here: (version, id, pdu)."""
    version = await services.events.room_version(room_id)
    ext = await extremities(services, room_id)
    join_id, join = remote.member(
        version,
        room_id,
        user,
        {"membership": "join"},
        state=await room_state(services, room_id),
        prev_events=list(ext),
        depth=next_depth(ext),
    )
    return version, join_id, join


async def room_with_bob(
    services: Any,
    remote: RemoteServer,
    peer: FakePeer | None = None,
    room_version: str | None = None,
) -> tuple[str, RoomVersion, str, PduPipeline]:
    """A public room made here, joined by Bob of the remote server.

    Returns (room ID, version, Bob's join ID, the pipeline that received it).
    """
    body = {"preset": "public_chat"}
    if room_version is not None:
        body["room_version"] = room_version
    room_id = await services.rooms.create_room(CREATOR, body)
    version, join_id, join = await remote_join(services, remote, room_id)
    pipeline = make_pipeline(services, remote, peer)
    assert await pipeline.receive_pdus(remote.name, [join]) == {join_id: None}
    return room_id, version, join_id, pipeline


async def ban(services: Any, room_id: str, user: str) -> str:
    """The creator bans ``user`` here; returns the ban's ID."""
    spec = EventSpec("m.room.member", {"membership": "ban"}, CREATOR, state_key=user)
    return str(await services.events.send(room_id, spec))


async def depth_of(services: Any, event_id: str) -> int:
    stored = await services.stores.events.get_event(event_id)
    assert stored is not None
    return int(stored.pdu["depth"])


@dataclass
class HeldRename:
    """Bob's rename, held here as state history only, behind an event citing it."""

    remote: RemoteServer
    peer: FakePeer
    pipeline: PduPipeline
    room_id: str
    version: RoomVersion
    #: The room's state before the rename.
    state: dict
    rename_id: str
    rename: dict
    last_id: str


async def rename_held_as_state_history(services, remote: RemoteServer) -> HeldRename:
    """Bob's rename reaches the room's state through a gap (``state_ids``, ``event_auth``)."""
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    depth = next_depth(await extremities(services, room_id))
    rename_id, rename = remote.member(
        version,
        room_id,
        BOB,
        {"membership": "join", "displayname": "Bob B."},
        state=state,
        prev_events=[join_id],
        depth=depth,
    )
    last_id, last = remote.message(
        version,
        room_id,
        BOB,
        "after the gap",
        state={**state, ("m.room.member", BOB): rename_id},
        prev_events=[rename_id],
        depth=depth + 1,
    )
    peer.missing_answer = []
    peer.auth_answer = [rename_id]
    peer.state_answer[rename_id] = (list(state.values()), [])
    assert await pipeline.receive_pdus(remote.name, [last]) == {last_id: None}
    held = await services.stores.events.get_event(rename_id)
    assert held is not None and held.stream_pos < 0  # state history, not the timeline
    return HeldRename(remote, peer, pipeline, room_id, version, state, rename_id, rename, last_id)
