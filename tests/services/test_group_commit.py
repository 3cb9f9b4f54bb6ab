"""Concurrent sends to one room are written together, and each still succeeds or fails alone."""

import asyncio

import orjson
import pytest

from sceau.errors import MatrixError
from sceau.services.event_types import ClientTxn
from sceau.services.events import EventSpec

CREATOR = "@creator:test.local"


def _message(body: str, sender: str = CREATOR, txn: str | None = None) -> EventSpec:
    return EventSpec(
        "m.room.message",
        {"msgtype": "m.text", "body": body},
        sender,
        txn=ClientTxn("DEV", txn, "send", "m.room.message") if txn else None,
    )


def _count_transactions(services) -> list[int]:
    """Wrap the database so the test can see how many transactions a burst took."""
    db = services.stores.db
    opened = [0]
    original = db.transaction

    def counting():
        opened[0] += 1
        return original()

    db.transaction = counting
    return opened


async def _chain(services, room_id: str) -> list[dict]:
    rows = await services.stores.db.fetchall(
        "SELECT pdu FROM events WHERE room_id = ? ORDER BY stream_pos", room_id
    )
    return [orjson.loads(row[0]) for row in rows]


async def test_a_burst_of_sends_commits_in_fewer_transactions_and_keeps_one_chain(services):
    room_id = await services.rooms.create_room(CREATOR, {"preset": "public_chat"})
    opened = _count_transactions(services)
    ids = await asyncio.gather(
        *(services.events.send(room_id, _message(str(i))) for i in range(40))
    )
    assert len(set(ids)) == 40
    assert opened[0] < 40
    pdus = await _chain(services, room_id)
    bodies = [p["content"].get("body") for p in pdus if p["type"] == "m.room.message"]
    assert bodies == [str(i) for i in range(40)]  # arrival order is kept
    depths = [p["depth"] for p in pdus]
    assert depths == sorted(depths) and len(set(depths)) == len(depths)


async def test_an_event_refused_by_the_auth_rules_fails_alone_in_its_batch(services):
    room_id = await services.rooms.create_room(CREATOR, {"preset": "public_chat"})
    outsider = "@outsider:test.local"
    results = await asyncio.gather(
        services.events.send(room_id, _message("avant")),
        services.events.send(room_id, _message("intrus", sender=outsider)),
        services.events.send(room_id, _message("après")),
        return_exceptions=True,
    )
    assert isinstance(results[1], MatrixError) and results[1].errcode == "M_FORBIDDEN"
    assert all(isinstance(r, str) for r in (results[0], results[2]))


async def test_an_event_that_fails_while_being_written_fails_alone_in_its_batch(services):
    room_id = await services.rooms.create_room(CREATOR, {"preset": "public_chat"})

    async def refuse(txn, events):
        # Stands for any write-time refusal (a constraint, an unstorable value).
        if any(event.pdu["content"].get("body") == "refusé" for event in events):
            raise MatrixError(400, "M_INVALID_PARAM", "refused while writing")

    services.events.persist_hooks.append(refuse)
    results = await asyncio.gather(
        services.events.send(room_id, _message("un")),
        services.events.send(room_id, _message("refusé")),
        services.events.send(room_id, _message("trois")),
        return_exceptions=True,
    )
    assert isinstance(results[1], MatrixError) and results[1].errcode == "M_INVALID_PARAM"
    assert all(isinstance(r, str) for r in (results[0], results[2]))
    bodies = [p["content"].get("body") for p in await _chain(services, room_id)]
    assert "un" in bodies and "trois" in bodies and "refusé" not in bodies
    # The room's chain is intact after the retry: a later send still works.
    assert await services.events.send(room_id, _message("quatre"))


async def test_the_same_transaction_id_twice_in_one_batch_makes_one_event(services):
    room_id = await services.rooms.create_room(CREATOR, {"preset": "public_chat"})
    first, second = await asyncio.gather(
        services.events.send(room_id, _message("une fois", txn="t1")),
        services.events.send(room_id, _message("une fois", txn="t1")),
    )
    assert first == second
    bodies = [p["content"].get("body") for p in await _chain(services, room_id)]
    assert bodies.count("une fois") == 1


async def test_a_cancelled_sender_does_not_cancel_the_others(services):
    room_id = await services.rooms.create_room(CREATOR, {"preset": "public_chat"})
    first = asyncio.create_task(services.events.send(room_id, _message("abandonné")))
    others = [
        asyncio.create_task(services.events.send(room_id, _message(str(i)))) for i in range(3)
    ]
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert all(isinstance(event_id, str) for event_id in await asyncio.gather(*others))
