"""Receipts, account data, presence and push-rule changes keep sync tokens valid across a restart."""

from sceau.clock import FakeClock
from sceau.homeserver import build_services
from sceau.protocol.filters import Filter
from sceau.protocol.signing import generate_signing_key
from sceau.services.events import EventSpec
from sceau.services.tokens import SyncToken
from tests.conftest import FAST_HASHER, make_config

ALICE = "@alice:test.local"
BOB = "@bob:test.local"


async def _start(db, tmp_path):
    return await build_services(
        make_config(tmp_path),
        clock=FakeClock(),
        db=db,
        signing_key=generate_signing_key(b"\x03" * 32, "test"),
        password_hasher=FAST_HASHER,
    )


async def test_stream_resumes_above_every_ephemeral_write(db, tmp_path):
    hs = await _start(db, tmp_path)
    room = await hs.rooms.create_room(ALICE, {"preset": "public_chat"})
    await hs.rooms.join(BOB, room)
    event_id = await hs.events.send(
        room, EventSpec("m.room.message", {"msgtype": "m.text", "body": "x"}, ALICE)
    )
    writes = [
        lambda: hs.receipts.send_receipt(BOB, room, "m.read", event_id, None),
        lambda: hs.account_data.put_global(BOB, BOB, "x.y", {"a": 1}),
        lambda: hs.presence.set_status(BOB, BOB, "unavailable", None),
        lambda: hs.push.put_rule(BOB, "content", "x", {"pattern": "x", "actions": []}, None, None),
    ]
    for write in writes:
        await write()
        reached = hs.stream.current()
        restarted = await _start(db, tmp_path)
        assert restarted.stream.current() == reached


async def test_incremental_sync_after_restart_sends_only_newer_changes(db, tmp_path):
    hs = await _start(db, tmp_path)
    await hs.account_data.put_global(BOB, BOB, "old.type", {"a": 1})
    token = hs.sync.current_token()
    restarted = await _start(db, tmp_path)
    await restarted.account_data.put_global(BOB, BOB, "new.type", {"b": 2})
    result = await restarted.sync.sync(
        BOB, "DEV", SyncToken(token.stream, token.typing), 0, False, Filter(), "offline"
    )
    types = {e["type"] for e in result["account_data"]["events"]}
    assert types == {"new.type"}
