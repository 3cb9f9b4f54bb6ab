"""The federation queue across processes: items queued anywhere wake the queue's process.

Two processes share one database and talk over the fake Redis of
``test_cluster_bus``; only the first runs the queue (``FederationSender.start``),
as ``main`` or the ``federation_sender`` instance does.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import SimpleNamespace

from sceau.clock import FakeClock
from sceau.config import Config, parse_config
from sceau.homeserver import Services
from sceau.services.federation.client import FederationRequestError
from sceau.services.federation.sender import FederationSender
from sceau.storage.federation_queue import OutboxStore
from sceau.wiring_cluster import share_federation_queue
from tests.services.test_federation_sender import A, B, FakeClient, _pdu, _sender
from tests.test_cluster_bus import BEAT_S, FakeRedis, Process, started, until
from tests.test_config import _workers


def _delivered(client: FakeClient, destination: str) -> list[int]:
    return [p["content"]["n"] for t in client.sent.get(destination, []) for p in t["pdus"]]


async def _first_contact_over(process: Process) -> None:
    """The first message heard from another process counts as a hole: let it pass."""
    await until(lambda: process.bus.holes >= 1, "the other process is heard")
    await asyncio.sleep(BEAT_S * 3)


@dataclass
class Queues:
    """Two processes of one deployment: ``running`` runs the queue, ``elsewhere`` only queues."""

    main: Process
    running: FederationSender
    elsewhere: FederationSender


@asynccontextmanager
async def two_processes(
    db, server: FakeRedis, clock: FakeClock, client: FakeClient, other: str = "sync1"
) -> AsyncIterator[Queues]:
    """``main`` runs the queue; the process named ``other`` shares it; both stop at the end."""
    main, second = await started(server, "main", other)
    running, elsewhere = _sender(db, clock, client), _sender(db, clock, client)
    share_federation_queue(running, main.bus)
    share_federation_queue(elsewhere, second.bus)
    await running.start()
    try:
        yield Queues(main, running, elsewhere)
    finally:
        await running.stop()
        for process in (main, second):
            await process.bus.stop()


async def test_an_item_queued_by_a_process_without_the_queue_is_sent_at_once(db):
    server, clock, client = FakeRedis(), FakeClock(), FakeClient()
    async with two_processes(db, server, clock, client) as q:
        await _first_contact_over(q.main)
        await q.elsewhere.send_pdu(_pdu(1), [A])
        await q.elsewhere.send_edu(A, "m.presence", {"n": 2})
        await until(lambda: _delivered(client, A) == [1], "the queue's process sends the PDU")
        assert q.elsewhere.queued == 0  # counted by the queue's process only
        await until(lambda: sum(len(t["edus"]) for t in client.sent[A]) == 1, "and the EDU")


async def test_the_queue_gauge_counts_items_queued_by_other_processes(db):
    server, clock, client = FakeRedis(), FakeClock(), FakeClient()
    for destination in (A, B):  # everything stays queued
        client.fail[destination] = FederationRequestError(destination, "connection refused")
    async with two_processes(db, server, clock, client) as q:
        await _first_contact_over(q.main)
        await q.elsewhere.send_pdu(_pdu(1), [A, B])
        await q.elsewhere.send_edu(A, "m.presence", {"n": 2})
        await until(lambda: q.running.queued == 3, "three items counted by the queue's process")
        assert q.elsewhere.queued == 0


async def test_the_queue_looks_for_waiting_items_after_losing_messages(db):
    server, clock, client = FakeRedis(), FakeClock(), FakeClient()
    async with two_processes(db, server, clock, client) as q:
        await _first_contact_over(q.main)
        # The queue's subscription breaks while another process queues.
        server.accepting = False
        server.drop(q.main.subscription())
        await q.elsewhere.send_pdu(_pdu(1), [A])
        await asyncio.sleep(BEAT_S * 3)
        assert A not in client.sent
        server.accepting = True
        await until(lambda: _delivered(client, A) == [1], "the hole makes the queue look")
        assert q.main.bus.holes >= 1


async def test_a_destination_calling_another_process_ends_its_backoff_on_the_queues(db):
    server, clock, client = FakeRedis(), FakeClock(), FakeClient()
    client.fail[A] = FederationRequestError(A, "connection refused")
    async with two_processes(db, server, clock, client, other="main_listener") as q:
        await q.running.send_pdu(_pdu(1), [A])
        store = OutboxStore(db)
        for _ in range(500):
            state = await store.state(A)
            if state is not None and state.failures == 1:
                break
            await asyncio.sleep(0.01)
        assert (await store.state(A)).failures == 1
        del client.fail[A]
        # The backoff (1 s on a fake clock that never moves) would hold it forever.
        q.elsewhere.peer_is_up(A)
        await until(lambda: _delivered(client, A) == [1], "retried once the peer called")


def test_only_the_named_federation_sender_runs_the_queue(tmp_path):
    raw = _workers()
    raw["workers"]["instances"]["fed"] = {
        "roles": ["federation_sender"],
        "port": 8040,
        "replication_port": 9040,
    }
    named = parse_config(raw, str(tmp_path))

    def runs(config: Config, name: str | None) -> bool:
        cluster = None if name is None else SimpleNamespace(name=name)
        return Services.runs_federation_queue.fget(SimpleNamespace(config=config, cluster=cluster))

    assert [n for n in named.workers.instances if runs(named, n)] == ["fed"]
    by_default = parse_config(_workers(), str(tmp_path))
    assert [n for n in by_default.workers.instances if runs(by_default, n)] == ["main"]
    assert runs(by_default, None)  # one process alone
