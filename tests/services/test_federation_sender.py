"""The outbound queue: persistence across restarts, 50/100 limits, backoff, isolation."""

import asyncio

import pytest

from sceau.clock import FakeClock
from sceau.config import FederationConfig
from sceau.services.federation.client import FederationRequestError
from sceau.services.federation.policy import FederationPolicy
from sceau.services.federation.sender import FederationSender
from sceau.storage.federation_queue import OutboxStore

A, B, OFF = "a.example", "b.example:8448", "off.example"


class FakeClient:
    """Records transactions per destination; fails or hangs where told."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict]] = {}
        self.fail: dict[str, FederationRequestError] = {}
        self.hang: set[str] = set()
        self.paths: list[str] = []

    async def request(self, method, destination, path, *, query=None, body=None):
        assert method == "PUT" and path.startswith("/_matrix/federation/v1/send/")
        if destination in self.hang:
            await asyncio.Event().wait()
        if destination in self.fail:
            raise self.fail[destination]
        self.sent.setdefault(destination, []).append(body)
        self.paths.append(path)
        return {"pdus": {}}


def _sender(db, clock, client, **config) -> FederationSender:
    fed = FederationConfig(
        enabled=True, allow=[A, B], min_retry_interval_ms=1000, max_retry_interval_ms=8000, **config
    )
    return FederationSender(
        policy=FederationPolicy("here.example", fed),
        client=client,
        db=db,
        store=OutboxStore(db),
        clock=clock,
        config=fed,
    )


def _pdu(n: int) -> dict:
    return {"type": "m.room.message", "content": {"n": n}}


async def test_queued_items_survive_a_restart(db):
    clock, client = FakeClock(), FakeClient()
    first = _sender(db, clock, client)
    await first.send_pdu(_pdu(1), [A])
    await first.send_edu(A, "m.typing", {"room_id": "!r:here.example"})
    second = _sender(db, clock, client)  # a new process on the same database
    assert await second.attempt(A) == "sent"
    (txn,) = client.sent[A]
    assert txn["origin"] == "here.example"
    assert txn["pdus"] == [_pdu(1)]
    assert txn["edus"] == [{"edu_type": "m.typing", "content": {"room_id": "!r:here.example"}}]
    assert await second.attempt(A) == "empty"


async def test_transactions_hold_at_most_50_pdus_and_100_edus(db):
    clock, client = FakeClock(), FakeClient()
    sender = _sender(db, clock, client)
    for n in range(120):
        await sender.send_pdu(_pdu(n), [A])
    for n in range(230):
        await sender.send_edu(A, "m.presence", {"n": n})
    while await sender.attempt(A) == "sent":
        pass
    sizes = [(len(t["pdus"]), len(t["edus"])) for t in client.sent[A]]
    assert sizes == [(50, 100), (50, 100), (20, 30)]
    order = [p["content"]["n"] for t in client.sent[A] for p in t["pdus"]]
    assert order == list(range(120))
    assert len(set(client.paths)) == 3  # each transaction has its own ID


async def test_two_processes_queueing_at_once_never_collide_and_keep_each_ones_order(db):
    """Item IDs come from the database: two senders (two workers) share one numbering."""
    clock, client = FakeClock(), FakeClient()
    first, second = _sender(db, clock, client), _sender(db, clock, client)
    # Alternating, each sender's own counter would have handed out the same IDs.
    for n in range(0, 6, 2):
        await first.send_pdu(_pdu(n), [A])
        await second.send_pdu(_pdu(n + 1), [A, B])

    # Then both at once, each queueing its items one after the other.
    async def queue(sender: FederationSender, name: str) -> None:
        for n in range(20):
            await sender.send_edu(A, "m.presence", {"by": name, "n": n})

    await asyncio.gather(queue(first, "first"), queue(second, "second"))
    while await first.attempt(A) == "sent":
        pass
    assert [p["content"]["n"] for t in client.sent[A] for p in t["pdus"]] == list(range(6))
    edus = [e["content"] for t in client.sent[A] for e in t["edus"]]
    for writer in ("first", "second"):
        assert [e["n"] for e in edus if e["by"] == writer] == list(range(20))
    assert await second.attempt(B) == "sent"
    assert [p["content"]["n"] for p in client.sent[B][0]["pdus"]] == [1, 3, 5]


async def test_items_queued_inside_open_transactions_of_two_writers_both_commit(db):
    """Two transactions queueing concurrently (PostgreSQL: two connections) both land."""
    clock, client = FakeClock(), FakeClient()
    first, second = _sender(db, clock, client), _sender(db, clock, client)
    if db.dialect == "sqlite":  # one writer at a time: the transactions follow each other
        async with db.transaction() as txn:
            await first.queue_in(txn, "pdu", _pdu(1), [A])
        async with db.transaction() as txn:
            await second.queue_in(txn, "pdu", _pdu(2), [A])
    else:
        async with db.transaction() as one, db.transaction() as two:
            await first.queue_in(one, "pdu", _pdu(1), [A])
            await second.queue_in(two, "pdu", _pdu(2), [A])
    assert await first.attempt(A) == "sent"
    assert [p["content"]["n"] for p in client.sent[A][0]["pdus"]] == [1, 2]


async def test_failures_back_off_exponentially_up_to_the_maximum(db):
    clock, client = FakeClock(), FakeClient()
    client.fail[A] = FederationRequestError(A, "connection refused")
    sender = _sender(db, clock, client)
    await sender.send_pdu(_pdu(1), [A])
    store = OutboxStore(db)
    intervals = []
    for _ in range(6):
        assert await sender.attempt(A) == "failed"
        state = await store.state(A)
        intervals.append(state.retry_interval_ms)
        assert await sender.attempt(A) == "waiting"
        clock.advance(state.retry_interval_ms / 1000)
    assert intervals == [1000, 2000, 4000, 8000, 8000, 8000]
    del client.fail[A]
    assert await sender.attempt(A) == "sent"
    assert (await store.state(A)).failures == 0
    assert client.sent[A][0]["pdus"] == [_pdu(1)]


async def test_a_peer_down_for_two_minutes_gets_everything_within_one_maximum_interval(db):
    """The outage's length only adds retries: the queue holds, the wait stays capped."""
    clock, client = FakeClock(), FakeClient()
    client.fail[A] = FederationRequestError(A, "connection refused")
    sender = _sender(db, clock, client)
    store = OutboxStore(db)
    sent_n, back_at = 0, clock.time_ms() + 120_000
    while clock.time_ms() < back_at:  # one event every 5 s of a 2-minute outage
        await sender.send_pdu(_pdu(sent_n), [A])
        sent_n += 1
        if await sender.attempt(A) == "failed":
            assert (await store.state(A)).retry_interval_ms <= 8000
        clock.advance(5)
    del client.fail[A]
    clock.advance(8)  # at most max_retry_interval_ms after it is back
    while await sender.attempt(A) == "sent":
        pass
    delivered = [p["content"]["n"] for t in client.sent[A] for p in t["pdus"]]
    assert delivered == list(range(sent_n)) and sent_n == 24
    assert await sender.pending_count(A) == 0


async def test_a_peer_that_calls_us_is_retried_before_its_backoff_ends(db):
    clock, client = FakeClock(), FakeClient()
    client.fail[A] = FederationRequestError(A, "down")
    sender = _sender(db, clock, client)
    await sender.send_pdu(_pdu(1), [A])
    assert await sender.attempt(A) == "failed"
    del client.fail[A]
    assert await sender.attempt(A) == "waiting"
    assert await sender.attempt(A, force=True) == "sent"


async def test_a_definite_refusal_drops_the_transaction_instead_of_retrying(db):
    clock, client = FakeClock(), FakeClient()
    client.fail[A] = FederationRequestError(A, "400 M_BAD_JSON", status=400)
    sender = _sender(db, clock, client)
    await sender.send_pdu(_pdu(1), [A])
    assert await sender.attempt(A) == "sent"
    assert await sender.pending_count(A) == 0


@pytest.mark.parametrize("status", [None, 500, 502, 429])
async def test_errors_without_an_answer_or_server_errors_are_retried(db, status):
    clock, client = FakeClock(), FakeClient()
    client.fail[A] = FederationRequestError(A, "x", status=status)
    sender = _sender(db, clock, client)
    await sender.send_pdu(_pdu(1), [A])
    assert await sender.attempt(A) == "failed"
    assert await sender.pending_count(A) == 1


async def test_nothing_is_queued_for_a_server_off_the_allowlist(db):
    clock, client = FakeClock(), FakeClient()
    sender = _sender(db, clock, client)
    await sender.send_pdu(_pdu(1), [OFF, "here.example"])
    await sender.send_edu(OFF, "m.typing", {})
    assert await OutboxStore(db).destinations() == []


async def test_federation_disabled_queues_nothing(db):
    clock, client = FakeClock(), FakeClient()
    fed = FederationConfig(enabled=False, allow=[A])
    sender = FederationSender(
        policy=FederationPolicy("here.example", fed),
        client=client,
        db=db,
        store=OutboxStore(db),
        clock=clock,
        config=fed,
    )
    await sender.send_pdu(_pdu(1), [A])
    assert await OutboxStore(db).destinations() == []


async def test_a_hanging_destination_never_stalls_another(db):
    clock, client = FakeClock(), FakeClient()
    client.hang.add(A)
    sender = _sender(db, clock, client)
    await sender.start()
    try:
        await sender.send_pdu(_pdu(1), [A, B])
        await sender.send_pdu(_pdu(2), [A, B])
        for _ in range(500):
            if sum(len(t["pdus"]) for t in client.sent.get(B, [])) == 2:
                break
            await asyncio.sleep(0.01)
        assert [p["content"]["n"] for t in client.sent[B] for p in t["pdus"]] == [1, 2]
        assert A not in client.sent
        assert await sender.pending_count(A) == 2
    finally:
        await sender.stop()


async def test_workers_started_after_a_restart_send_what_was_queued(db):
    clock, client = FakeClock(), FakeClient()
    await _sender(db, clock, client).send_pdu(_pdu(7), [B])
    restarted = _sender(db, clock, client)
    await restarted.start()
    try:
        for _ in range(500):
            if client.sent.get(B):
                break
            await asyncio.sleep(0.01)
        assert client.sent[B][0]["pdus"] == [_pdu(7)]
    finally:
        await restarted.stop()


async def test_the_queued_count_follows_what_waits(db):
    clock, client = FakeClock(), FakeClient()
    client.fail[A] = FederationRequestError(A, "down")
    sender = _sender(db, clock, client)
    await sender.send_pdu(_pdu(1), [A, B])
    await sender.send_edu(A, "m.typing", {})
    restarted = _sender(db, clock, client)
    await restarted.start()
    try:
        assert restarted.queued == 3  # read from the database at start
        for _ in range(500):
            if client.sent.get(B) and restarted.queued < 3:
                break
            await asyncio.sleep(0.01)
        assert restarted.queued == 2  # B's item went; A's two wait for A
        assert await restarted.pending_count(A) == 2
    finally:
        await restarted.stop()


async def test_a_worker_survives_an_unexpected_error_and_sends_later(db):
    clock, client = FakeClock(), FakeClient()
    failures = [RuntimeError("bug")]
    real_request = client.request

    async def flaky(method, destination, path, *, query=None, body=None):
        if failures:
            raise failures.pop()
        return await real_request(method, destination, path, query=query, body=body)

    client.request = flaky
    fed = FederationConfig(
        enabled=True, allow=[A], min_retry_interval_ms=20, max_retry_interval_ms=40
    )
    sender = FederationSender(
        policy=FederationPolicy("here.example", fed),
        client=client,
        db=db,
        store=OutboxStore(db),
        clock=clock,
        config=fed,
    )
    await sender.start()
    try:
        await sender.send_pdu(_pdu(1), [A])
        for _ in range(500):
            if client.sent.get(A):
                break
            await asyncio.sleep(0.01)
        assert client.sent[A][0]["pdus"] == [_pdu(1)]
        assert failures == []
    finally:
        await sender.stop()
