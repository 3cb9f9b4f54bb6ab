"""State history is stored deduplicated: messages add no state rows."""

import asyncio

from sceau.services.events import EventSpec


async def test_3000_messages_in_100_member_room_do_not_multiply_state_rows(services):
    creator = "@creator:test.local"
    room_id = await services.rooms.create_room(creator, {"preset": "public_chat"})
    for i in range(99):
        await services.events.send(
            room_id,
            EventSpec(
                "m.room.member",
                {"membership": "join"},
                f"@m{i}:test.local",
                state_key=f"@m{i}:test.local",
            ),
        )
    rows_before = await services.stores.state.count_group_rows(room_id)
    assert len(await services.stores.state.members(room_id)) == 100
    # Sent 200 at a time, as busy clients would: group commit writes them in batches.
    for first in range(0, 3_000, 200):
        await asyncio.gather(
            *(
                services.events.send(
                    room_id,
                    EventSpec(
                        "m.room.message",
                        {"msgtype": "m.text", "body": str(i)},
                        f"@m{i % 99}:test.local",
                    ),
                )
                for i in range(first, first + 200)
            )
        )
    rows_after = await services.stores.state.count_group_rows(room_id)
    assert rows_after == rows_before
    # ~110 state events: the rows stay bounded by the state events, not the messages.
    assert rows_after < 400
    total_events = await services.stores.db.fetchval(
        "SELECT COUNT(*) FROM events WHERE room_id = ?", room_id
    )
    assert total_events > 3_000


async def test_state_at_an_old_event_is_what_it_was_then(services):
    creator = "@creator:test.local"
    room_id = await services.rooms.create_room(creator, {"preset": "public_chat", "name": "Avant"})
    first = await services.events.send(room_id, EventSpec("m.room.message", {"body": "1"}, creator))
    await services.events.send(
        room_id, EventSpec("m.room.name", {"name": "Après"}, creator, state_key="")
    )
    event = await services.stores.events.get_event(first)
    state = await services.stores.state.get_state_ids(event.state_group)
    name_event = await services.stores.events.get_event(state[("m.room.name", "")])
    assert name_event.content["name"] == "Avant"
    current = await services.stores.state.current_state_ids(room_id, ["m.room.name"])
    now = await services.stores.events.get_event(current[("m.room.name", "")])
    assert now.content["name"] == "Après"


async def test_long_state_chains_are_snapshotted(services):
    from sceau.storage.state import SNAPSHOT_EVERY

    creator = "@creator:test.local"
    room_id = await services.rooms.create_room(creator, {})
    for i in range(SNAPSHOT_EVERY + 20):
        await services.events.send(
            room_id, EventSpec("m.room.topic", {"topic": str(i)}, creator, state_key="")
        )
    longest = await services.stores.db.fetchval(
        "SELECT MAX(chain_length) FROM state_groups WHERE room_id = ?", room_id
    )
    assert longest < SNAPSHOT_EVERY
    room = await services.stores.rooms.get_room(room_id)
    state = await services.stores.state.get_state_ids(room.head_state_group)
    topic = await services.stores.events.get_event(state[("m.room.topic", "")])
    assert topic.content["topic"] == str(SNAPSHOT_EVERY + 19)
