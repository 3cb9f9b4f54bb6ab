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
    assert first.latest == newest
    created = first.bump_stamp  # only m.room.create among createRoom's events bumps
    assert created < newest
    assert first.is_encrypted  # private rooms are encrypted by default
    # Served from memory now: a row removed behind its back does not change it.
    async with services.stores.db.transaction() as txn:
        await txn.execute("DELETE FROM events WHERE stream_pos = ?", newest)
    again = await _info(services, builder, room)
    assert (again.latest, again.bump_stamp) == (newest, created)
    # A new event, as the event writer reports it, moves the room up.
    event_id = await services.events.send(room, EventSpec("m.room.message", {"body": "x"}, ALICE))
    position = (await services.stores.events.get_event(event_id)).stream_pos
    tracker.record(room, position)
    moved = await _info(services, builder, room)
    assert (moved.latest, moved.bump_stamp) == (position, position)


async def test_only_the_bump_event_types_move_a_room_up(services):
    room = await services.rooms.create_room(ALICE, {"preset": "private_chat"})
    tracker = ChangeTracker(services.stream.current())
    builder = _builder(services, tracker)
    message = await services.events.send(room, EventSpec("m.room.message", {"body": "x"}, ALICE))
    message_pos = (await services.stores.events.get_event(message)).stream_pos
    tracker.record(room, message_pos)
    assert (await _info(services, builder, room)).bump_stamp == message_pos
    topic = await services.events.send(
        room, EventSpec("m.room.topic", {"topic": "t"}, ALICE, state_key="")
    )
    topic_pos = (await services.stores.events.get_event(topic)).stream_pos
    tracker.record(room, topic_pos)
    info = await _info(services, builder, room)
    assert info.bump_stamp == message_pos, "a topic change does not lift the room"
    assert info.latest == topic_pos, "but the room still has something new to send"
