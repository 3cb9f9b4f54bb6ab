"""Migration 099: transaction IDs keyed by device and request path, existing rows kept.

The tables are put back in their shape before 099 with the rows an older
Sceau wrote, then migrated: every row takes the room, endpoint and path
parameter its event implies, so retries started before the upgrade still
return their first event, and nothing else is blocked by them.
"""

from typing import Any

from sceau.storage.migrations import migrate

OLD_TABLES = """
DROP TABLE event_txns;
CREATE TABLE event_txns (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
);
DROP TABLE to_device_txns;
CREATE TABLE to_device_txns (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
);
DELETE FROM schema_version WHERE version = 99;
"""


async def _back_to_before_099(db: Any, user: Any, now: int) -> None:
    """Rewrite the transaction tables as an older Sceau left them."""
    rows = await db.fetchall(
        "SELECT user_id, device_id, txn_id, event_id, created_ts FROM event_txns"
    )
    await db.execute_script(OLD_TABLES)
    async with db.transaction() as txn:
        await txn.executemany(
            "INSERT INTO event_txns (user_id, device_id, txn_id, event_id, created_ts)"
            " VALUES (?, ?, ?, ?, ?)",
            [tuple(row) for row in rows] + [(user.user_id, user.device_id, "gone", "$gone", 1)],
        )
        await txn.execute(
            "INSERT INTO to_device_txns (user_id, device_id, txn_id, created_ts) VALUES (?, ?, ?, ?)",
            user.user_id,
            user.device_id,
            "D",
            now,
        )


async def test_migration_099_keys_existing_transactions_by_room_and_endpoint(
    services, user_factory
):
    db = services.stores.db
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    old = (await alice.ok("POST", "/createRoom", json={"room_version": "10"}))["room_id"]
    new = (await alice.ok("POST", "/createRoom", json={"room_version": "11"}))["room_id"]
    message = {"msgtype": "m.text", "body": "avant"}
    sent = await alice.ok("PUT", f"/rooms/{old}/send/m.room.message/T", json=message)
    targets = {}
    redactions = {}
    for room in (old, new):
        targets[room] = (
            await alice.ok("PUT", f"/rooms/{room}/send/m.room.message/t{room}", json=message)
        )["event_id"]
        redactions[room] = await alice.ok(
            "PUT", f"/rooms/{room}/redact/{targets[room]}/R{room}", json={}
        )
    await _back_to_before_099(db, alice, services.clock.time_ms())

    applied = await migrate(db)
    assert applied == [f"099_txn_scopes.{db.dialect}.sql"]

    rows = await db.fetchall(
        "SELECT txn_id, room_id, endpoint, path_param FROM event_txns WHERE user_id = ?",
        alice.user_id,
    )
    assert sorted(tuple(row) for row in rows) == sorted(
        [
            ("T", old, "send", "m.room.message"),
            *((f"t{room}", room, "send", "m.room.message") for room in (old, new)),
            *((f"R{room}", room, "redact", targets[room]) for room in (old, new)),
        ]
    )
    # Retries begun before the upgrade still get their first event...
    assert await alice.ok("PUT", f"/rooms/{old}/send/m.room.message/T", json=message) == sent
    for room in (old, new):
        again = await alice.ok("PUT", f"/rooms/{room}/redact/{targets[room]}/R{room}", json={})
        assert again == redactions[room]
    # ...and the same ID elsewhere is a new request.
    elsewhere = await alice.ok("PUT", f"/rooms/{new}/send/m.room.message/T", json=message)
    assert elsewhere != sent

    # A to-device transaction from before has no type: it holds for every type until it expires.
    for event_type in ("m.test", "m.other"):
        await alice.ok(
            "PUT",
            f"/sendToDevice/{event_type}/D",
            json={"messages": {bob.user_id: {bob.device_id: {}}}},
        )
    sync = await bob.ok("GET", "/sync")
    assert sync.get("to_device", {}).get("events", []) == []
