"""Writes forwarded to a room's writer: what crosses the replication listener, and back.

The client (``ReplicationClient``) and the listener (``replication_app``)
talk through an in-process transport; the writer's side records what it
was handed, so each forwarded write is checked to arrive whole.
"""

import asyncio
from typing import Any

import httpx
import pytest

from sceau.cluster.replication import ReplicationClient, replication_app, room_writer
from sceau.config import parse_config
from sceau.errors import MatrixError
from sceau.protocol.room_versions import get_room_version
from sceau.services.event_graph import ReceivedEvent
from sceau.services.event_types import ClientTxn, EventSpec
from sceau.services.events import PduRefused
from sceau.services.federation.transactions import InboundTransactions
from sceau.services.remote_rooms import Backfilled
from sceau.services.state_history import DEEP_HISTORY, write_state_history
from sceau.storage.events import EventStore
from sceau.storage.federation import ReceivedTransactionStore
from tests.services.federation_support import (
    BOB,
    RemoteServer,
    extremities,
    room_state,
    room_with_bob,
)
from tests.test_config import _workers

ROOM = "!room:here.example"
V11 = get_room_version("11")
PDU = {"type": "m.room.message", "content": {"body": "hi", "n": 2**40}, "depth": 7}


class Writer:
    """The room writer's services, as far as the listener calls them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.refuse: PduRefused | None = None

    async def send(self, room_id: str, spec: EventSpec) -> str:
        pdu = {"type": spec.event_type}
        if spec.countersign is not None:
            pdu = await spec.countersign("$invite", pdu)
        self.calls.append(("send", (room_id, spec, pdu)))
        return "$sent"

    async def receive(self, room_id: str, received: ReceivedEvent) -> str:
        self.calls.append(("receive", (room_id, received)))
        if self.refuse is not None:
            raise self.refuse
        return received.event_id

    async def join_remote_room(self, *args: Any) -> None:
        self.calls.append(("join", args))

    async def store_membership(self, *args: Any) -> None:
        self.calls.append(("membership", args))

    async def write_backfill(self, *args: Any) -> None:
        self.calls.append(("backfill", args))


@pytest.fixture
def writer() -> Writer:
    return Writer()


@pytest.fixture
async def forwarder(writer: Writer, tmp_path):
    workers = parse_config(_workers(), str(tmp_path)).workers

    async def countersign(room_id: str, event_id: str, pdu: dict) -> dict:
        return {**pdu, "signatures": {"there.example": {"room": room_id, "event": event_id}}}

    app = replication_app(writer, "s3cret", remote_rooms=writer, countersign_invite=countersign)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    client = ReplicationClient("main", workers, http=http)
    assert not client.owns(ROOM) and room_writer(ROOM, workers.event_writers()) != "main"
    yield client
    await client.close()


async def test_a_received_event_reaches_the_writer_with_the_states_fetched_for_it(
    forwarder, writer
):
    state = {("m.room.member", "@a:there.example"): "$m", ("m.room.create", ""): "$c"}
    received = ReceivedEvent("$e", PDU, "there.example", (state, {}))
    assert await forwarder.receive(ROOM, received) == "$e"
    assert writer.calls == [("receive", (ROOM, received))]


async def test_a_received_event_the_writer_refuses_is_refused_here_with_its_outcome(
    forwarder, writer
):
    writer.refuse = PduRefused("soft_failed", "not allowed by the current state")
    with pytest.raises(PduRefused) as caught:
        await forwarder.receive(ROOM, ReceivedEvent("$e", PDU, "there.example"))
    assert (caught.value.outcome, caught.value.reason) == (
        "soft_failed",
        "not allowed by the current state",
    )


async def test_a_remote_invite_sent_through_another_process_is_countersigned_by_the_writer(
    forwarder, writer
):
    async def never(_event_id: str, _pdu: dict) -> dict:
        raise AssertionError("the forwarding process must not countersign")

    spec = EventSpec("m.room.member", {"membership": "invite"}, "@a:here.example", "@b:t", None)
    spec = EventSpec(**{**spec.__dict__, "countersign": never})
    assert await forwarder.send(ROOM, spec) == "$sent"
    ((_, (room_id, arrived, pdu)),) = writer.calls
    assert room_id == ROOM and arrived.state_key == "@b:t"
    assert pdu["signatures"] == {"there.example": {"room": ROOM, "event": "$invite"}}


async def test_a_forwarded_send_carries_its_whole_transaction_scope_to_the_writer(
    forwarder, writer
):
    txn = ClientTxn("PHONE", "T", "redact", "$target")
    spec = EventSpec("m.room.redaction", {}, "@a:here.example", redacts="$target", txn=txn)
    assert await forwarder.send(ROOM, spec) == "$sent"
    ((_, (room_id, arrived, _pdu)),) = writer.calls
    assert room_id == ROOM and arrived.txn == txn
    assert arrived.txn.key(arrived.sender, room_id) == (
        "@a:here.example",
        "PHONE",
        "T",
        ROOM,
        "redact",
        "$target",
    )


async def test_a_remote_rooms_join_membership_and_backfill_reach_the_writer_whole(
    forwarder, writer
):
    state = {"$c": {"type": "m.room.create", "state_key": ""}}
    chain = {"$a": {"type": "m.room.power_levels", "state_key": ""}}
    join = {"type": "m.room.member", "state_key": "@a:here.example"}
    await forwarder.join_remote_room(ROOM, V11, "there.example", state, chain, "$j", join)
    await forwarder.store_membership(ROOM, V11, "$i", join, "there.example", [{"type": "x"}])
    placed = [Backfilled("$b", PDU, {("m.room.create", ""): "$c"})]
    await forwarder.write_backfill(ROOM, placed)
    assert writer.calls == [
        ("join", (ROOM, V11, "there.example", state, chain, "$j", join)),
        ("membership", (ROOM, V11, "$i", join, "there.example", [{"type": "x"}])),
        ("backfill", (ROOM, placed)),
    ]


async def test_the_writers_matrix_error_is_raised_where_the_write_was_asked(forwarder, writer):
    async def unknown(_room_id: str, _received: ReceivedEvent) -> str:
        raise MatrixError(404, "M_NOT_FOUND", "Unknown room")

    writer.receive = unknown
    with pytest.raises(MatrixError) as caught:
        await forwarder.receive(ROOM, ReceivedEvent("$e", PDU, "there.example"))
    assert (caught.value.status, caught.value.errcode) == (404, "M_NOT_FOUND")


async def test_the_listener_refuses_a_request_without_the_shared_secret(writer):
    app = replication_app(writer, "s3cret", remote_rooms=writer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        answer = await http.post(
            "http://writer/_sceau/replication/v1/remote_room",
            json={"room_id": ROOM, "op": "backfill", "placed": []},
            headers={"Authorization": "Bearer guessed"},
        )
    assert answer.status_code == 403 and answer.json()["errcode"] == "M_FORBIDDEN"
    assert writer.calls == []


async def test_received_events_and_remote_room_writes_are_handed_over_when_not_owned(services):
    """EventService and RemoteRoomWriter forward to the owner; nothing is written here."""
    writer = Writer()

    class Elsewhere(Writer):
        def owns(self, room_id: str) -> bool:
            return False

    owners = Elsewhere()
    owners.calls = writer.calls
    services.events.owners = owners
    remote_rooms = services.federation_rooms.remote_rooms
    remote_rooms.owners = owners
    received = ReceivedEvent("$e", PDU, "there.example")
    assert await services.events.receive(ROOM, received) == "$e"
    join = {"type": "m.room.member", "state_key": "@a:here.example", "content": {}}
    await remote_rooms.join_remote_room(ROOM, V11, "there.example", {}, {}, "$j", join)
    await remote_rooms.store_membership(ROOM, V11, "$i", join, "there.example")
    await remote_rooms.write_backfill(ROOM, [])
    assert [name for name, _ in writer.calls] == ["receive", "join", "membership", "backfill"]
    assert await services.stores.rooms.get_room(ROOM) is None


async def test_a_transaction_whose_rooms_writer_is_unreachable_is_refused_then_retried(services):
    """503 and nothing recorded: the origin sends it again, and then it is placed."""
    remote = RemoteServer()
    room_id, version, bob_join, pipeline = await room_with_bob(services, remote)
    event_id, pdu = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"msgtype": "m.text", "body": "while the writer restarts"},
        state=await room_state(services, room_id),
        prev_events=[bob_join],
        depth=remote.built[bob_join]["depth"] + 1,
    )

    class Unreachable:
        def owns(self, _room_id: str) -> bool:
            return False

        async def receive(self, _room_id: str, _received: ReceivedEvent) -> str:
            raise MatrixError(503, "M_UNKNOWN", "The room's writer cannot be reached")

    transactions = InboundTransactions(
        clock=services.clock,
        store=ReceivedTransactionStore(services.stores.db),
        edus=services.federation.transactions._edus,
        receiver=lambda: pipeline,
    )
    services.events.owners = Unreachable()
    with pytest.raises(MatrixError) as caught:
        await transactions.receive(remote.name, "t1", {"pdus": [pdu], "edus": []})
    assert caught.value.status == 503
    services.events.owners = None  # the writer is back (here: this process writes)
    answer = await transactions.receive(remote.name, "t1", {"pdus": [pdu], "edus": []})
    assert answer == {"pdus": {event_id: {}}}
    assert list(await extremities(services, room_id)) == [event_id]


async def test_two_writers_of_history_at_once_pick_different_positions(db):
    """History positions count down from the lowest in use: on PostgreSQL the second
    writer (another process, another room) waits for the first one's commit."""
    if db.dialect != "postgresql":
        pytest.skip("one process writes SQLite: EventService.history_lock is enough")
    store = EventStore(db)

    def state_event(room_id: str) -> dict:
        return {
            "type": "m.room.topic",
            "state_key": "",
            "sender": "@a:there.example",
            "room_id": room_id,
            "origin_server_ts": 1,
            "depth": 1,
            "content": {"topic": room_id},
        }

    async def write(room_id: str, event_id: str) -> None:
        async with db.transaction() as txn:
            await write_state_history(txn, store, room_id, [(event_id, state_event(room_id))])

    async with db.transaction() as first:
        await write_state_history(first, store, "!one:x", [("$one", state_event("!one:x"))])
        second = asyncio.create_task(write("!two:x", "$two"))
        await asyncio.sleep(0.3)
        assert not second.done()  # held until the first commits
    await second
    positions = [e.stream_pos for e in (await store.get_events(["$one", "$two"])).values()]
    assert len(set(positions)) == 2 and all(p <= DEEP_HISTORY for p in positions)
