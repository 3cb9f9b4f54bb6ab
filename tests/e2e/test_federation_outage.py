"""Servers stopped for two minutes catch up on everything they missed (issue 9), in CI.

Four real servers over TLS on loopback: Sceau X and Y, Synapse S (which stays
up) and Synapse T (which is stopped). Three rooms: X+Y, X+S, Y+T.

1. T is stopped; then X. Both stay down ``OUTAGE_S`` seconds (120 by default).
2. Meanwhile Y sends into its rooms with X and with T, and S into its room with
   X: three messages, an edit of the first, a redaction of the second, a read
   receipt and a to-device message, from each sender.
3. T and X are started again, and each must show everything it missed within
   a bounded wait: the timeline (in /sync and in /messages, in order, with
   nothing missing or repeated), the edit, the redaction, the receipt and the
   to-device message.

So a two-minute outage is shown between two Sceau servers (Y to X), from
Synapse to a stopped Sceau (S to X) and from Sceau to a stopped Synapse (Y to
T). S stays up because Synapse keeps read receipts in memory only: a Synapse
restarted before it delivered one has lost it (its documented design), so S
must hold its transaction to X across the outage. Synapse's default retries of
one transaction span about eight minutes (ten tries, up to 60 s apart); S
retries every 2 s (``max_long_retry_delay``, as in the other Synapse tests, so
that the test does not wait up to a minute once X is back), with enough tries
to span the outage plus a minute.

The servers are this module's own (starting both Synapses takes about 20 s),
and all the waiting happens once, in the ``outage`` fixture; each test then
checks one crossing. ``SCEAU_E2E_OUTAGE_S`` shortens (or lengthens) the outage.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio

from tests.conftest import free_port
from tests.e2e.federation_servers import (
    OUTAGE_S,
    Client,
    FederatedServer,
    FederationLab,
    ephemeral,
    register,
    send,
    send_while_away,
    sync_until,
    text,
    timeline,
    wait_for_federation_listener,
)
from tests.e2e.synapse_server import SynapseProcess, synapse_python
from tests.e2e.test_federation_synapse import register_on_synapse

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

#: Synapse's tries of one transaction, 2 s apart at most: the outage plus a minute.
HOLDING_RETRIES = int((OUTAGE_S + 60) / 1.6) + 1
#: How long a restarted server may take to show what it missed.
CATCH_UP_S = 60.0
#: Sync filter: a timeline long enough that nothing missed comes back ``limited``.
SYNC_FILTER = quote(json.dumps({"room": {"timeline": {"limit": 50}}}))


@dataclass
class Servers:
    lab: FederationLab
    synapse_up: SynapseProcess
    synapse_down: SynapseProcess

    @property
    def x(self) -> FederatedServer:
        return self.lab.servers[0]

    @property
    def y(self) -> FederatedServer:
        return self.lab.servers[1]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """X allows Y and S; Y allows X and T; S lists X, T lists Y. All four boot at once."""
    synapse_python()  # skip (or install in CI) before making anything
    folder = tmp_path_factory.mktemp("outage")
    lab = FederationLab(folder / "sceau")
    holding = {"max_long_retries": HOLDING_RETRIES}
    synapse_up = SynapseProcess(folder / "s", free_port(), lab.ca, [], federation=holding)
    synapse_down = SynapseProcess(folder / "t", free_port(), lab.ca, [])
    x = lab.declare(federation={"allow": [synapse_up.name]})
    y = lab.declare(federation={"allow": [synapse_down.name]})
    synapse_up.set_whitelist([x.name])
    synapse_down.set_whitelist([y.name])
    try:
        synapse_up.launch()
        synapse_down.launch()
        lab.start_all()
        synapse_up.wait_until_ready()
        synapse_down.wait_until_ready()
        yield Servers(lab, synapse_up, synapse_down)
    finally:
        lab.stop_all()
        synapse_up.stop()
        synapse_down.stop()


@dataclass
class Missed:
    """What one sender sent into one room while the receiver was down."""

    room_id: str
    sender: str
    #: The receiver's last message before the outage, which the receipt marks read.
    read: str
    #: Every message and redaction of the room the receiver must show, in order.
    timeline: list[str]
    #: Of them, those sent during the outage (what /sync must bring).
    during: list[str]
    edit: str
    redacted: str
    #: The contents of the to-device messages, in the order they were sent.
    to_device: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Outage:
    servers: Servers
    #: Per crossing: the receiving client (its ``since`` from before the outage) and
    #: what it missed.
    y_to_x: tuple[Client, Missed]
    s_to_x: tuple[Client, Missed]
    y_to_t: tuple[Client, Missed]
    #: How long X and T were down, in seconds.
    x_down_s: float = 0.0
    t_down_s: float = 0.0


async def filtered_sync(client: Client) -> dict[str, Any]:
    """One /sync (long-polling 1 s) with a timeline long enough never to be ``limited``."""
    query = f"?timeout=1000&filter={SYNC_FILTER}" + (
        f"&since={client.since}" if client.since else ""
    )
    body = await client.ok("GET", "/sync" + query)
    client.since = body["next_batch"]
    return dict(body)


def shows(room_id: str, event_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: any(e["event_id"] == event_id for e in timeline(body, room_id))


async def shared_room(owner: Client, owner_server: str, guest: Client) -> tuple[str, str]:
    """A room ``owner`` makes and ``guest`` joins; both see the guest's first message.

    Returns the room and the guest's message, which the owner later marks read.
    """
    body = {"preset": "public_chat"}
    room_id = (await owner.ok("POST", "/createRoom", json=body))["room_id"]
    await guest.ok("POST", f"/join/{quote(room_id)}?server_name={owner_server}", json={})
    hello = await send(guest, room_id, text("hello before the outage"), "hello")
    await sync_until(owner, shows(room_id, hello), "the guest's message")
    await sync_until(guest, shows(room_id, hello), "the guest's own message")
    return room_id, hello


async def send_while_down(sender: Client, receiver: Client, room_id: str, read: str) -> Missed:
    """``send_while_away``'s messages, edit and redaction, a receipt, two to-device messages.

    Transaction IDs name the receiver: Bob sends the same things to two rooms.
    """
    tag = receiver.user_id[1:].split(":")[0]
    during = await send_while_away(sender, room_id, "while down", tag)
    missed = Missed(room_id, sender.user_id, read, [read, *during], during, during[3], during[1])
    await sender.ok("POST", f"/rooms/{quote(room_id)}/receipt/m.read/{read}", json={})
    for n in range(2):
        missed.to_device.append({"sent while down": room_id, "n": n})
        messages = {receiver.user_id: {receiver.device_id: missed.to_device[-1]}}
        path = f"/sendToDevice/m.test.outage/{tag}{n}"
        await sender.ok("PUT", path, json={"messages": messages})
    return missed


async def sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.monotonic()))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def outage(servers: Servers) -> AsyncIterator[Outage]:
    """The rooms, then T and X down for ``OUTAGE_S`` while Y and S send, then both restarted.

    T's restart is launched, not awaited: it boots while X is checked.
    """
    x, y, s, t = servers.x, servers.y, servers.synapse_up, servers.synapse_down
    bob = await register(y, "bob")
    tess = await register_on_synapse(t, "tess")
    room_yt, tess_hello = await shared_room(bob, y.name, tess)
    t.stop()
    t_stopped = time.monotonic()

    alice, amy = await register(x, "alice"), await register(x, "amy")
    sam = await register_on_synapse(s, "sam")
    (room_xy, alice_hello), (room_xs, amy_hello) = await asyncio.gather(
        shared_room(bob, y.name, alice), shared_room(sam, s.name, amy)
    )
    assert x.process is not None
    x.process.stop()
    x_stopped = time.monotonic()
    # Should anything fail from here, the servers fixture stops whatever still runs.
    y_to_t = await send_while_down(bob, tess, room_yt, tess_hello)
    y_to_x = await send_while_down(bob, alice, room_xy, alice_hello)
    s_to_x = await send_while_down(sam, amy, room_xs, amy_hello)
    await sleep_until(t_stopped + OUTAGE_S)
    t.launch()
    t_down_s = time.monotonic() - t_stopped
    await sleep_until(x_stopped + OUTAGE_S)
    x.process.start()
    x_down_s = time.monotonic() - x_stopped
    wait_for_federation_listener(x, servers.lab.ca_path)
    yield Outage(servers, (alice, y_to_x), (amy, s_to_x), (tess, y_to_t), x_down_s, t_down_s)
    for client in (alice, amy, bob, tess, sam):
        await client.http.aclose()


@dataclass
class CaughtUp:
    """What a receiver's /sync brought after its restart, across responses."""

    timeline: list[str] = field(default_factory=list)
    read_by: dict[str, set[str]] = field(default_factory=dict)
    to_device: list[dict[str, Any]] = field(default_factory=list)

    def add(self, body: dict[str, Any], room_id: str) -> None:
        for event in timeline(body, room_id):
            if event["type"] in ("m.room.message", "m.room.redaction"):
                self.timeline.append(event["event_id"])
        for event in ephemeral(body, room_id):
            if event["type"] == "m.receipt":
                for event_id, receipt in event["content"].items():
                    readers = receipt.get("m.read", {})
                    self.read_by.setdefault(event_id, set()).update(readers)
        self.to_device += body.get("to_device", {}).get("events", [])

    def to_device_from(self, sender: str) -> list[dict[str, Any]]:
        return [e for e in self.to_device if e["sender"] == sender]

    def has_all(self, missed: Missed) -> bool:
        return (
            set(missed.during) <= set(self.timeline)
            and missed.sender in self.read_by.get(missed.read, set())
            and len(self.to_device_from(missed.sender)) >= len(missed.to_device)
        )


async def catch_up(receiver: Client, missed: Missed) -> CaughtUp:
    """Sync until everything ``missed`` holds has come, for at most ``CATCH_UP_S``."""
    seen = CaughtUp()
    deadline = time.monotonic() + CATCH_UP_S
    while not seen.has_all(missed) and time.monotonic() < deadline:
        seen.add(await filtered_sync(receiver), missed.room_id)
    return seen


async def room_history(client: Client, room_id: str) -> list[dict[str, Any]]:
    """The room's messages and redactions from /messages, oldest first."""
    path = f"/rooms/{quote(room_id)}/messages?dir=b&limit=100"
    chunk = (await client.ok("GET", path))["chunk"]
    wanted = ("m.room.message", "m.room.redaction")
    return [e for e in reversed(chunk) if e["type"] in wanted]


async def assert_caught_up(receiver: Client, missed: Missed) -> None:
    seen = await catch_up(receiver, missed)
    assert seen.timeline == missed.during, "in /sync: missing, repeated or out of order"
    assert missed.sender in seen.read_by.get(missed.read, set()), "the receipt"
    to_device = seen.to_device_from(missed.sender)
    assert [e["content"] for e in to_device] == missed.to_device, "to-device, in order"
    assert {e["type"] for e in to_device} == {"m.test.outage"}

    history = await room_history(receiver, missed.room_id)
    assert [e["event_id"] for e in history] == missed.timeline, "in /messages"
    by_id = {e["event_id"]: e for e in history}
    assert by_id[missed.redacted]["content"] == {}
    edit = by_id[missed.edit]["content"]
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": missed.during[0]}
    assert edit["m.new_content"] == text("while down 0, edited")


async def test_a_sceau_server_down_two_minutes_catches_up_on_what_a_sceau_peer_sent(outage):
    receiver, missed = outage.y_to_x
    assert outage.x_down_s >= OUTAGE_S
    await assert_caught_up(receiver, missed)


async def test_a_sceau_server_down_two_minutes_catches_up_on_what_synapse_sent(outage):
    """Synapse's messages, edit, redaction, receipt and to-device messages reach X."""
    receiver, missed = outage.s_to_x
    await assert_caught_up(receiver, missed)


async def test_synapse_down_two_minutes_catches_up_on_what_sceau_sent(outage):
    """T was restarted at the end of the outage; it boots while X's tests run."""
    receiver, missed = outage.y_to_t
    assert outage.t_down_s >= OUTAGE_S
    outage.servers.synapse_down.wait_until_ready()
    await assert_caught_up(receiver, missed)
