"""The unread counter's event cache keeps only what counting reads, and stays bounded.

It holds member, power-level and create events of busy rooms (up to
``PDU_CACHE_SIZE``): kept whole, each cost about 3.4 KB of hashes, signatures
and DAG references that counting never reads.
"""

from typing import Any

from sceau.services.unread import UnreadCounter

MEMBER = {
    "auth_events": ["$create", "$power", "$join_rules"],
    "content": {"displayname": "Alice", "membership": "join"},
    "depth": 12,
    "hashes": {"sha256": "h" * 43},
    "origin_server_ts": 1_765_000_000_000,
    "prev_events": ["$previous"],
    "room_id": "!room:test",
    "sender": "@alice:test",
    "signatures": {"test": {"ed25519:a": "s" * 86}},
    "state_key": "@alice:test",
    "type": "m.room.member",
    "unsigned": {"age_ts": 1},
}


class CountingStore:
    """Stands in for PushStore.event_pdus and counts the reads that reach it."""

    def __init__(self) -> None:
        self.read: list[str] = []

    async def event_pdus(self, txn: Any, event_ids: list[str]) -> dict[str, Any]:
        self.read.extend(event_ids)
        return {event_id: dict(MEMBER) for event_id in event_ids}


def _counter(store: CountingStore) -> UnreadCounter:
    return UnreadCounter(server_name="test", store=store, rules=None)  # type: ignore[arg-type]


async def test_cached_event_keeps_type_sender_state_key_and_content_only() -> None:
    store = CountingStore()
    counter = _counter(store)
    first = await counter._load(None, ["$alice"])  # type: ignore[arg-type]
    again = await counter._load(None, ["$alice"])  # type: ignore[arg-type]
    assert store.read == ["$alice"]
    expected = {key: MEMBER[key] for key in ("type", "sender", "state_key", "content")}
    assert first == again == {"$alice": expected}


async def test_cache_drops_the_oldest_events_beyond_its_size() -> None:
    store = CountingStore()
    counter = _counter(store)
    counter.PDU_CACHE_SIZE = 2
    await counter._load(None, ["$a", "$b", "$c"])  # type: ignore[arg-type]
    await counter._load(None, ["$b", "$c"])  # type: ignore[arg-type]
    await counter._load(None, ["$a"])  # type: ignore[arg-type]
    assert store.read == ["$a", "$b", "$c", "$a"]
