"""State events held for the room's state only: far below the timeline, never news.

Some events are part of a room's state without ever having been placed on
its timeline here: the state a remote join brings, and events fetched to
fill a gap or soft-failed that state resolution keeps. Clients read state
through the events table, so such events are written there at positions
counting down from ``DEEP_HISTORY``: state look-ups and ``/context`` find
them, back-pagination reaches them only after every backfilled event, and
no ``/sync`` ever sees them as new. Writers hold ``EventService.history_lock``
while they pick these positions, and on PostgreSQL an advisory lock in the
writing transaction (other processes write history of other rooms).

Such an event is an outlier here: the state before it is another server's.
Its row names ``NO_STATE_GROUP``, a group never written (state groups are
numbered like positions above ``DEEP_HISTORY``), so reading the state there
gives nothing rather than the state of whichever event brought it.
"""

from collections.abc import Iterable

import orjson

from sceau.protocol.types import JsonDict
from sceau.storage.database import Transaction
from sceau.storage.events import EventStore, NewEvent
from sceau.storage.positions import lock_history_positions

#: Where state-only events are written (below any backfilled event).
DEEP_HISTORY = -(2**60)
#: The state group of state history: none (no group is ever written there).
NO_STATE_GROUP = DEEP_HISTORY


async def write_state_history(
    txn: Transaction,
    event_store: EventStore,
    room_id: str,
    events: Iterable[tuple[str, JsonDict]],
) -> None:
    """Write ``events`` (oldest first) below every position in use, skipping held ones."""
    wanted = list(events)
    known = await event_store.get_events(eid for eid, _ in wanted)
    wanted = [(eid, pdu) for eid, pdu in wanted if eid not in known]
    if not wanted:
        return
    await lock_history_positions(txn)
    lowest = await txn.fetchval(
        "SELECT MIN(stream_pos) FROM events WHERE stream_pos <= ?", DEEP_HISTORY
    )
    top = min(int(lowest if lowest is not None else DEEP_HISTORY + 1), DEEP_HISTORY + 1) - 1
    rows = [
        NewEvent(
            stream_pos=top - offset,
            event_id=eid,
            room_id=room_id,
            pdu=pdu,
            pdu_json=orjson.dumps(pdu).decode(),
            state_group=NO_STATE_GROUP,
            replaces_state=None,
            rel_type=None,
            relates_to=None,
        )
        for offset, (eid, pdu) in enumerate(reversed(wanted))
    ]
    await event_store.insert_events(txn, rows)
