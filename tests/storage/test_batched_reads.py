"""Batched reads behind an initial /sync: one query for many rooms, same answers
as the per-room reads (on SQLite they loop; on PostgreSQL they are one statement)."""

import orjson

from sceau.storage.events import EventStore, NewEvent
from sceau.storage.state import StateStore


def _event(pos: int, room: str, event_type: str = "m.room.message") -> NewEvent:
    pdu = {
        "type": event_type,
        "sender": "@a:t",
        "room_id": room,
        "origin_server_ts": pos,
        "depth": pos,
        "content": {"body": str(pos)},
    }
    return NewEvent(pos, f"$e{pos}", room, pdu, orjson.dumps(pdu).decode(), 1, None, None, None)


async def _rooms_of_events(db) -> EventStore:
    store = EventStore(db)
    rows = [_event(pos, "!a:t") for pos in range(1, 8)]
    rows += [
        _event(pos, "!b:t", "m.reaction" if pos % 2 else "m.room.message") for pos in (8, 9, 10)
    ]
    async with db.transaction() as txn:
        await store.insert_events(txn, rows)
    return store


async def test_newest_in_rooms_gives_each_room_its_own_newest_events(db):
    store = await _rooms_of_events(db)
    found = await store.newest_in_rooms(["!a:t", "!b:t", "!empty:t"], before=7, limit=3)
    assert [e.stream_pos for e in found["!a:t"]] == [6, 5, 4]
    assert found["!b:t"] == []
    assert found["!empty:t"] == []
    everything = await store.newest_in_rooms(["!a:t", "!b:t"], before=100, limit=2)
    assert [e.stream_pos for e in everything["!b:t"]] == [10, 9]
    for room in ("!a:t", "!b:t"):
        assert everything[room] == await store.room_events(
            room, before=100, limit=2, newest_first=True
        )


async def test_newest_in_rooms_keeps_only_the_asked_types(db):
    store = await _rooms_of_events(db)
    found = await store.newest_in_rooms(["!b:t"], before=100, limit=5, types=["m.reaction"])
    assert [e.stream_pos for e in found["!b:t"]] == [9]


async def test_get_events_finds_any_number_of_ids_and_skips_unknown_ones(db):
    store = await _rooms_of_events(db)
    for count in (1, 3, 10):
        ids = [f"$e{pos}" for pos in range(1, count + 1)]
        found = await store.get_events([*ids, "$unknown"])
        assert sorted(found) == sorted(ids)


async def test_many_state_groups_read_together_equal_each_read_alone(db):
    store = StateStore(db)
    async with db.transaction() as txn:
        await store.create_group(txn, 1, "!r:t", None, {("m.room.create", ""): "$c"})
        await store.create_group(txn, 2, "!r:t", 1, {("m.room.member", "@a:t"): "$j"})
        await store.create_group(txn, 3, "!s:t", None, {("m.room.create", ""): "$d"})
    fresh = StateStore(db)  # nothing cached
    many = await fresh.get_state_ids_many([2, 3, 2])
    assert many == {2: await store.get_state_ids(2), 3: await store.get_state_ids(3)}
    assert many[2] == {("m.room.create", ""): "$c", ("m.room.member", "@a:t"): "$j"}
    # Now cached: the same answer without a query.
    assert await fresh.get_state_ids_many([3]) == {3: many[3]}


async def test_members_in_rooms_lists_joined_and_invited_only(db):
    store = StateStore(db)
    async with db.transaction() as txn:
        await store.set_current_state(txn, "!r:t", "m.room.member", "@a:t", "$1", "join", 1)
        await store.set_current_state(txn, "!r:t", "m.room.member", "@b:t", "$2", "invite", 2)
        await store.set_current_state(txn, "!r:t", "m.room.member", "@c:t", "$3", "leave", 3)
        await store.set_current_state(txn, "!s:t", "m.room.member", "@a:t", "$4", "join", 4)
        await store.set_current_state(txn, "!s:t", "m.room.name", "", "$5", None, 5)
    found = await store.members_in_rooms(["!r:t", "!s:t", "!none:t"])
    assert sorted(found["!r:t"]) == [("@a:t", "join"), ("@b:t", "invite")]
    assert found["!s:t"] == [("@a:t", "join")]
    assert found["!none:t"] == []
    names = await store.current_state_ids_in_rooms(["!r:t", "!s:t"], ["m.room.name"])
    assert names == {"!s:t": {("m.room.name", ""): "$5"}}
