"""Client transaction IDs below HTTP: durable across a restart, scoped to the request.

A retry is recognised from the database, not from memory, so a server
restarted between a send and its retry still answers with the first event.
"""

from pathlib import Path

from sceau.clock import FakeClock
from sceau.homeserver import build_services
from sceau.protocol.signing import generate_signing_key
from tests.conftest import FAST_HASHER, make_config

ALICE = "@alice:test.local"
DEVICE = "PHONE"


async def _services_on(db, tmp_path: Path):
    return await build_services(
        make_config(tmp_path),
        clock=FakeClock(),
        db=db,
        signing_key=generate_signing_key(b"\x01" * 32, "test"),
        password_hasher=FAST_HASHER,
    )


async def _say(services, room_id: str, txn_id: str, body: str) -> str:
    content = {"msgtype": "m.text", "body": body}
    return await services.messaging.send_message(
        ALICE, DEVICE, room_id, "m.room.message", content, txn_id
    )


async def _message_bodies(services, room_id: str) -> list[str]:
    rows = await services.stores.db.fetchall(
        "SELECT pdu FROM events WHERE room_id = ? AND type = 'm.room.message'", room_id
    )
    return sorted(str(row[0]) for row in rows)


async def test_a_retry_after_a_restart_returns_the_first_event_of_that_room(db, tmp_path):
    first = await _services_on(db, tmp_path)
    room_a = await first.rooms.create_room(ALICE, {})
    room_b = await first.rooms.create_room(ALICE, {})
    sent_a = await _say(first, room_a, "T", "avant")
    sent_b = await _say(first, room_b, "T", "ailleurs")
    before = await _message_bodies(first, room_a)

    restarted = await _services_on(db, tmp_path)
    assert await _say(restarted, room_a, "T", "avant") == sent_a
    assert await _say(restarted, room_b, "T", "ailleurs") == sent_b
    assert await _message_bodies(restarted, room_a) == before


async def test_a_redaction_retried_after_a_restart_returns_the_first_redaction(db, tmp_path):
    first = await _services_on(db, tmp_path)
    room = await first.rooms.create_room(ALICE, {})
    target = await _say(first, room, "m", "à effacer")
    redaction = await first.messaging.redact(ALICE, DEVICE, room, target, None, "R")

    restarted = await _services_on(db, tmp_path)
    assert await restarted.messaging.redact(ALICE, DEVICE, room, target, None, "R") == redaction
    count = await restarted.stores.db.fetchval(
        "SELECT COUNT(*) FROM events WHERE room_id = ? AND type = 'm.room.redaction'", room
    )
    assert count == 1
