"""Rooms this server learns about from other servers: a remote join, a remote invite.

A room joined through another server arrives whole: the state before the
join and its auth chain (from ``send_join``), then the join itself. The join
becomes the room's first timeline event and single forward extremity; the
state events are written below every local position (negative stream
positions, as Synapse does for history), so they serve state look-ups and
back-pagination without ever waking a /sync as news. Events of the auth
chain that are not state are kept apart as outliers.

An invite from another server, for a room not held here, is one event with
the stripped state the inviting server sent, so the invitee's /sync can
show it before joining.
"""

from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from sceau.clock import Clock
from sceau.errors import MatrixError
from sceau.notifier import Notifier
from sceau.protocol.auth_rules import server_name_of
from sceau.protocol.events import auth_event_types
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.types import JsonDict, StateKey
from sceau.services.event_types import BuiltEvent, CurrentUpdate, EventSpec, RoomDraft, StateDelta
from sceau.services.events import EventService
from sceau.services.state_history import DEEP_HISTORY, write_state_history
from sceau.storage.database import Database, Transaction
from sceau.storage.events import EventStore, NewEvent
from sceau.storage.positions import lock_history_positions
from sceau.storage.received_pdus import ACCEPTED, OUTLIER, PduOutcome, ReceivedPduStore
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore
from sceau.streams import StreamIdGenerator


@dataclass(frozen=True)
class Backfilled:
    """A backfilled event that passed its checks, with the room state just before it."""

    event_id: str
    pdu: JsonDict
    state_before: dict[StateKey, str]


class RemoteRoomOwners(Protocol):
    """Which process writes each room, and how the others hand it what they learnt.

    A remote room's join, memberships and history change what its writer
    holds in memory (its head, its newest events), so they are written there.
    """

    def owns(self, room_id: str) -> bool: ...

    async def join_remote_room(
        self,
        room_id: str,
        version: RoomVersion,
        origin: str,
        state: dict[str, JsonDict],
        auth_chain: dict[str, JsonDict],
        join_id: str,
        join: JsonDict,
    ) -> None: ...

    async def store_membership(
        self,
        room_id: str,
        version: RoomVersion,
        event_id: str,
        pdu: JsonDict,
        origin: str,
        stripped_state: list[Any] | None = None,
    ) -> None: ...

    async def write_backfill(self, room_id: str, placed: list[Backfilled]) -> None: ...


class RemoteRoomWriter:
    def __init__(
        self,
        *,
        clock: Clock,
        db: Database,
        events: EventService,
        event_store: EventStore,
        state: StateStore,
        rooms: RoomStore,
        received: ReceivedPduStore,
        stream: StreamIdGenerator,
        notifier: Notifier,
    ) -> None:
        self._clock = clock
        self._db = db
        self._events = events
        self._event_store = event_store
        self._state = state
        self._rooms = rooms
        self._received = received
        self._stream = stream
        self._notifier = notifier
        #: History positions count down from the lowest one; one writer at a time.
        self._history_lock = events.history_lock
        #: Several processes: who writes which room (None: this process writes all).
        self.owners: RemoteRoomOwners | None = None

    def _elsewhere(self, room_id: str) -> RemoteRoomOwners | None:
        """The room's writer when it is another process, else None."""
        owners = self.owners
        return owners if owners is not None and not owners.owns(room_id) else None

    # ---------------------------------------------------------------- templates

    async def template(
        self, room_id: str, sender: str, event_type: str, state_key: str | None, content: JsonDict
    ) -> tuple[RoomVersion, JsonDict]:
        """An unsigned event as this server would place it now (make_join and kin)."""
        draft = await self._events.peek_draft(room_id)
        keys = auth_event_types(event_type, state_key, sender, content, draft.version)
        prevs = draft.prev_events()
        pdu: JsonDict = {
            "type": event_type,
            "room_id": room_id,
            "sender": sender,
            "content": content,
            "depth": max((draft.extremities[p] for p in prevs), default=0) + 1,
            "prev_events": prevs,
            "auth_events": [draft.state[k] for k in keys if k in draft.state],
            "origin": self._events.server_name,
            "origin_server_ts": self._clock.time_ms(),
        }
        if state_key is not None:
            pdu["state_key"] = state_key
        return draft.version, pdu

    # -------------------------------------------------------------------- joins

    async def join_remote_room(
        self,
        room_id: str,
        version: RoomVersion,
        origin: str,
        state: dict[str, JsonDict],
        auth_chain: dict[str, JsonDict],
        join_id: str,
        join: JsonDict,
    ) -> None:
        """Write a room joined through ``origin``: its state, its auth chain, then the join."""
        if (writer := self._elsewhere(room_id)) is not None:
            await writer.join_remote_room(
                room_id, version, origin, state, auth_chain, join_id, join
            )
            return
        by_key: dict[StateKey, str] = {
            (str(p["type"]), str(p["state_key"])): eid for eid, p in state.items()
        }
        create = next((p for p in state.values() if p.get("type") == "m.room.create"), None)
        if create is None:
            raise MatrixError(
                502, "M_UNKNOWN", f"{origin} sent a room state without its create event"
            )
        async with self._events.room_lock(room_id):
            room = await self._rooms.get_room(room_id)
            draft = RoomDraft(
                room_id=room_id,
                version=version,
                extremities={},
                state_group=None if room is None else room.head_state_group,
                state={},
            )
            if room is not None and room.head_state_group is not None:
                return  # joined meanwhile (another local user): the join goes the usual way
            key = ("m.room.member", str(join["state_key"]))
            after = {**by_key, key: join_id}
            fresh = {**state, join_id: join}
            changes: dict[StateKey, tuple[str, str | None] | None] = {
                k: (eid, _membership(fresh[eid])) for k, eid in after.items()
            }
            depth = join.get("depth")
            draft.advance(join_id, [], depth if isinstance(depth, int) else 1, after)
            draft.state = after
            built = BuiltEvent(
                join_id,
                join,
                EventSpec(
                    "m.room.member",
                    dict(join.get("content") or {}),
                    str(join["sender"]),
                    str(join["state_key"]),
                ),
                by_key,
                by_key.get(key),
                new_state_before=StateDelta(dict(by_key), full=True),
                current=CurrentUpdate(changes, "after"),
            )
            history = sorted(state.items(), key=lambda item: int(item[1].get("depth", 0)))
            outliers = [
                PduOutcome(eid, room_id, origin, OUTLIER, None, pdu)
                for eid, pdu in auth_chain.items()
                if eid not in state
            ]
            outliers.append(PduOutcome(join_id, room_id, origin, ACCEPTED, None, None))

            async def write_history(txn: Transaction, _room_id: str) -> None:
                await write_state_history(txn, self._event_store, room_id, history)
                await self._received.record(txn, outliers, self._clock.time_ms())

            new_room = None if room is not None else (str(create.get("sender")), False)
            async with self._history_lock:
                await self._events.writer.persist(
                    draft, [built], new_room, extra_write=write_history
                )
            self._events.remember_draft(room_id, draft)

    async def write_backfill(self, room_id: str, placed: list[Backfilled]) -> None:
        """Backfilled events (oldest first), below every timeline position, above the join's state.

        An event held as state history until now moves to its place here.

        Each is stored with the state group of the state before it: the
        group of the event before it when that state is the same (a state
        event has a group of its own, at its position), else a new one.
        """
        if (writer := self._elsewhere(room_id)) is not None:
            await writer.write_backfill(room_id, placed)
            return
        async with self._history_lock, self._db.transaction() as txn:
            known = await self._event_store.get_events(p.event_id for p in placed)
            history = [eid for eid, e in known.items() if e.stream_pos <= DEEP_HISTORY]
            placed = [p for p in placed if p.event_id not in known or p.event_id in history]
            if not placed:
                return
            if history:  # held for the state only until now: moved to its place
                await self._event_store.delete_state_history(txn, history, DEEP_HISTORY)
            top = await self._history_top(txn)
            count = len(placed)
            next_group = top - count  # state groups of their own go below the events
            recent: list[tuple[dict[StateKey, str], int]] = []
            rows = []
            for index, item in enumerate(placed):
                position = top - (count - 1 - index)
                group = next(
                    (g for state, g in reversed(recent) if state == item.state_before), None
                )
                if group is None:
                    group, next_group = next_group, next_group - 1
                    await self._state.create_group(txn, group, room_id, None, item.state_before)
                    recent.append((item.state_before, group))
                state_key = item.pdu.get("state_key")
                replaces = None
                if isinstance(state_key, str):
                    key = (str(item.pdu["type"]), state_key)
                    replaces = item.state_before.get(key)
                    await self._state.create_group(
                        txn, position, room_id, group, {key: item.event_id}
                    )
                    recent.append(({**item.state_before, key: item.event_id}, position))
                del recent[:-8]
                rows.append(
                    NewEvent(
                        stream_pos=position,
                        event_id=item.event_id,
                        room_id=room_id,
                        pdu=item.pdu,
                        pdu_json=orjson.dumps(item.pdu).decode(),
                        state_group=group,
                        replaces_state=replaces,
                        rel_type=None,
                        relates_to=None,
                    )
                )
            await self._event_store.insert_events(txn, rows)

    async def _history_top(self, txn: Transaction) -> int:
        """The next free backfill position: below every backfilled event and its state groups."""
        await lock_history_positions(txn)
        lowest_event = await txn.fetchval(
            "SELECT MIN(stream_pos) FROM events WHERE stream_pos < 0 AND stream_pos > ?",
            DEEP_HISTORY,
        )
        lowest_group = await txn.fetchval(
            "SELECT MIN(group_id) FROM state_groups WHERE group_id < 0 AND group_id > ?",
            DEEP_HISTORY,
        )
        lowest = min(int(v) for v in (lowest_event, lowest_group, 0) if v is not None)
        return lowest - 1

    # ------------------------------------------------------------------ invites

    async def load(self, event_ids: list[str]) -> dict[str, JsonDict]:
        return await self._events.graph.load_pdus(event_ids)

    async def store_invite(
        self,
        room_id: str,
        version: RoomVersion,
        event_id: str,
        pdu: JsonDict,
        stripped_state: list[Any],
        origin: str,
    ) -> None:
        """An invite into a room not held here: the event, the stripped state, the membership."""
        await self.store_membership(room_id, version, event_id, pdu, origin, stripped_state)

    async def store_membership(
        self,
        room_id: str,
        version: RoomVersion,
        event_id: str,
        pdu: JsonDict,
        origin: str,
        stripped_state: list[Any] | None = None,
    ) -> None:
        """A membership in a room not held here (an invite, its rejection), shown to the user."""
        if (writer := self._elsewhere(room_id)) is not None:
            await writer.store_membership(room_id, version, event_id, pdu, origin, stripped_state)
            return
        invitee = str(pdu["state_key"])
        membership = _membership(pdu) or "leave"
        stripped_state = stripped_state or []
        creator = next(
            (
                str(e.get("sender"))
                for e in stripped_state
                if isinstance(e, dict) and e.get("type") == "m.room.create"
            ),
            str(pdu["sender"]),
        )
        async with self._events.room_lock(room_id):
            room = await self._rooms.get_room(room_id)
            if room is not None and room.head_state_group is not None:
                raise MatrixError(400, "M_UNKNOWN", "This server is already in the room")
            async with (
                self._stream.next_positions(1) as positions,
                self._db.transaction() as txn,
            ):
                (position,) = positions
                if room is None:
                    await self._rooms.insert_room(
                        txn, room_id, version.identifier, creator, self._clock.time_ms(), False
                    )
                key = ("m.room.member", invitee)
                await self._state.create_group(txn, position, room_id, None, {key: event_id})
                await self._event_store.insert_events(
                    txn,
                    [
                        NewEvent(
                            stream_pos=position,
                            event_id=event_id,
                            room_id=room_id,
                            pdu=pdu,
                            pdu_json=orjson.dumps(pdu).decode(),
                            state_group=position,
                            replaces_state=None,
                            rel_type=None,
                            relates_to=None,
                        )
                    ],
                )
                await self._state.set_current_state(
                    txn, room_id, "m.room.member", invitee, event_id, membership, position
                )
                if membership == "invite":
                    await txn.execute(
                        "INSERT INTO remote_invite_state (event_id, room_id, stripped_state)"
                        " VALUES (?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                        event_id,
                        room_id,
                        orjson.dumps([e for e in stripped_state if isinstance(e, dict)]).decode(),
                    )
                await self._received.record(
                    txn,
                    [PduOutcome(event_id, room_id, origin, ACCEPTED, None, None)],
                    self._clock.time_ms(),
                )
        self._events.member_changes.record(invitee, position)
        self._events.member_changes.record(room_id, position)
        self._events.room_changes.record(room_id, position)
        self._notifier.notify_room(room_id)
        self._notifier.notify_users({invitee})

    async def invite_event(self, room_id: str, user_id: str) -> tuple[str, JsonDict] | None:
        """The pending invite of ``user_id`` into a room not held here, if any."""
        event_id = await self._state.current_state_event_id(room_id, "m.room.member", user_id)
        if event_id is None:
            return None
        stored = await self._event_store.get_event(event_id)
        if stored is None or stored.content.get("membership") != "invite":
            return None
        return event_id, stored.pdu

    def inviting_server(self, pdu: JsonDict) -> str:
        return server_name_of(str(pdu.get("sender", "")))


def _membership(pdu: JsonDict) -> str | None:
    if pdu.get("type") != "m.room.member":
        return None
    content = pdu.get("content")
    value = content.get("membership") if isinstance(content, dict) else None
    return value if isinstance(value, str) else None
