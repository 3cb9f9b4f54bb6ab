"""Bundled aggregations are read in a fixed number of queries per batch of events."""

import itertools
from typing import Any

from sceau.homeserver import Services

_txn = itertools.count()


async def _send(user: Any, room: str, content: dict[str, Any]) -> str:
    sent = await user.ok("PUT", f"/rooms/{room}/send/m.room.message/b{next(_txn)}", json=content)
    return str(sent["event_id"])


class QueryCounter:
    """Counts every statement run through the database's read methods."""

    def __init__(self, db: Any) -> None:
        self.count = 0
        for name in ("fetchall", "fetchone", "fetchval"):
            original = getattr(db, name)
            setattr(db, name, self._wrap(original))

    def _wrap(self, original: Any) -> Any:
        async def counted(*args: Any) -> Any:
            self.count += 1
            return await original(*args)

        return counted


async def _queries_to_format(services: Services, event_ids: list[str], viewer: str) -> int:
    events = await services.stores.events.get_events(event_ids)
    ordered = [events[eid] for eid in event_ids]
    await services.formatter.version_of(ordered[0].room_id)  # warm the version cache
    counter = QueryCounter(services.stores.db)
    formatted = await services.formatter.format(ordered, viewer)
    assert all("m.relations" in event["unsigned"] for event in formatted)
    return counter.count


async def test_formatting_more_events_costs_no_more_queries(services, user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    roots = []
    for i in range(12):
        root = await _send(alice, room, {"msgtype": "m.text", "body": f"root {i}"})
        await _send(
            alice,
            room,
            {
                "msgtype": "m.text",
                "body": "* edited",
                "m.new_content": {"msgtype": "m.text", "body": "edited"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": root},
            },
        )
        reply = await _send(
            alice,
            room,
            {
                "msgtype": "m.text",
                "body": "reply",
                "m.relates_to": {"rel_type": "m.thread", "event_id": root},
            },
        )
        await _send(
            alice,
            room,
            {"body": "ref", "m.relates_to": {"rel_type": "m.reference", "event_id": root}},
        )
        assert reply
        roots.append(root)

    few = await _queries_to_format(services, roots[:2], alice.user_id)
    many = await _queries_to_format(services, roots, alice.user_id)
    assert many == few
    assert many <= 10


async def test_new_events_nothing_relates_to_cost_no_relation_query(services, user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    plain = [await _send(alice, room, {"msgtype": "m.text", "body": str(i)}) for i in range(5)]
    events = await services.stores.events.get_events(plain)
    ordered = [events[eid] for eid in plain]
    await services.formatter.version_of(room)
    counter = QueryCounter(services.stores.db)
    await services.formatter.format(ordered, alice.user_id, bundle_relations=False)
    without = counter.count
    await services.formatter.format(ordered, alice.user_id)
    # The event service saw every relation made since start-up: none point here.
    assert counter.count - without == without
