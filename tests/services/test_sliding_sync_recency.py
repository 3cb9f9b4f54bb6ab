"""Sliding sync orders rooms by their newest event without a query per room per request."""

from sceau.services.events import EventSpec
from sceau.services.sliding_sync_rooms import SlidingRoomBuilder
from sceau.streams import ChangeTracker

ALICE = "@alice:test.local"


def _builder(services, tracker: ChangeTracker) -> SlidingRoomBuilder:
    return SlidingRoomBuilder(
        builder=services.sync.rooms_builder,
        events=services.stores.events,
        state=services.stores.state,
        formatter=services.formatter,
        room_changes=tracker,
    )


async def _info(services, builder: SlidingRoomBuilder, room_id: str):
    memberships = await services.stores.state.rooms_for_user(ALICE)
    membership = next(m for m in memberships if m.room_id == room_id)
    return await builder.info(membership, services.stream.current(), set())


async def test_a_room_quiet_since_start_up_is_read_once_then_follows_the_tracker(services):
    room = await services.rooms.create_room(ALICE, {"preset": "private_chat"})
    newest = services.stream.current()
    # As after a restart: the tracker starts now and knows nothing of the room.
    tracker = ChangeTracker(services.stream.current())
    builder = _builder(services, tracker)
    first = await _info(services, builder, room)
    assert first.bump_stamp == newest
    assert first.is_encrypted  # private rooms are encrypted by default
    # Served from memory now: a row removed behind its back does not change it.
    async with services.stores.db.transaction() as txn:
        await txn.execute("DELETE FROM events WHERE stream_pos = ?", newest)
    assert (await _info(services, builder, room)).bump_stamp == newest
    # A new event, as the event writer reports it, moves the room up.
    event_id = await services.events.send(room, EventSpec("m.room.message", {"body": "x"}, ALICE))
    position = (await services.stores.events.get_event(event_id)).stream_pos
    tracker.record(room, position)
    assert (await _info(services, builder, room)).bump_stamp == position
