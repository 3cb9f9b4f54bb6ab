"""State groups: deltas over a previous group, snapshots, and current state."""

from sceau.storage.state import SNAPSHOT_EVERY, StateStore


async def test_a_group_is_its_chain_of_deltas(db):
    store = StateStore(db)
    async with db.transaction() as txn:
        await store.create_group(txn, 1, "!r:t", None, {("m.room.create", ""): "$c"})
        await store.create_group(txn, 2, "!r:t", 1, {("m.room.member", "@a:t"): "$j"})
        await store.create_group(txn, 3, "!r:t", 2, {("m.room.member", "@a:t"): "$l"})
    assert await store.get_state_ids(2) == {
        ("m.room.create", ""): "$c",
        ("m.room.member", "@a:t"): "$j",
    }
    assert await store.get_state_ids(3) == {
        ("m.room.create", ""): "$c",
        ("m.room.member", "@a:t"): "$l",
    }
    assert await store.count_group_rows("!r:t") == 3


async def test_long_chains_restart_with_a_full_snapshot(db):
    store = StateStore(db)
    async with db.transaction() as txn:
        await store.create_group(txn, 1, "!r:t", None, {("m.room.create", ""): "$c"})
        for group in range(2, SNAPSHOT_EVERY + 3):
            await store.create_group(
                txn, group, "!r:t", group - 1, {("m.room.topic", ""): f"${group}"}
            )
    longest = await db.fetchval("SELECT MAX(chain_length) FROM state_groups")
    assert longest < SNAPSHOT_EVERY
    state = await store.get_state_ids(SNAPSHOT_EVERY + 2)
    assert state == {("m.room.create", ""): "$c", ("m.room.topic", ""): f"${SNAPSHOT_EVERY + 2}"}


async def test_current_state_tracks_membership_for_room_lookups(db):
    store = StateStore(db)
    async with db.transaction() as txn:
        await store.set_current_state(txn, "!r:t", "m.room.member", "@a:t", "$1", "join", 1)
        await store.set_current_state(txn, "!r:t", "m.room.member", "@b:t", "$2", "invite", 2)
        await store.set_current_state(txn, "!r:t", "m.room.member", "@a:t", "$3", "leave", 3)
    assert await store.membership("!r:t", "@a:t") == "leave"
    assert await store.members("!r:t", "invite") == ["@b:t"]
    rooms = await store.rooms_for_user("@b:t")
    assert [(m.room_id, m.membership, m.stream_pos) for m in rooms] == [("!r:t", "invite", 2)]
