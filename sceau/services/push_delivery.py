"""Push delivery: phones learn of new messages through their push gateway.

Each HTTP pusher has a worker that sends its user's new notifications (the
rows the push rules already produced) to the pusher's gateway, oldest first,
in the Push Gateway API's format, and records how far it got after each
accepted send: a restart resumes there, so nothing is lost or sent twice. A
gateway that fails is retried with exponential backoff; pushkeys it rejects
are removed. When the user reads (a receipt clears notifications), the badge
count is pushed again so the phone's icon follows. Only gateways the admin
listed in ``push.allowed_gateways`` are ever contacted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from sceau.config import PushConfig
from sceau.services.event_types import PersistedEvent
from sceau.storage.database import Transaction
from sceau.storage.events import EventStore
from sceau.storage.push_delivery import HttpPusher, PendingNotification, PushDeliveryStore
from sceau.storage.state import StateStore
from sceau.streams import StreamIdGenerator

if TYPE_CHECKING:  # imported with the first pusher: aiohttp is 10 MiB of a server's RSS
    import aiohttp

logger = logging.getLogger(__name__)

BATCH = 20
MIN_BACKOFF_S = 1.0
MAX_BACKOFF_S = 600.0
STOP_GRACE_S = 5.0
FLUSH_INTERVAL_S = 0.5
MAX_QUEUED = 1000
HIGH_PRIORITY_TYPES = frozenset({"m.room.message", "m.room.encrypted", "m.call.invite"})


@dataclass(frozen=True)
class ReadyNote:
    """A notification prepared once in the writing transaction, for every pusher of its user."""

    note: PendingNotification
    event_type: str
    sender: str
    content: dict[str, Any]
    unread: int
    missed_calls: int


def tweaks_of(actions_json: str | None) -> dict[str, Any]:
    """The ``set_tweak`` actions of a notification, as the gateway's ``tweaks``."""
    if actions_json is None:
        return {}
    tweaks: dict[str, Any] = {}
    for action in orjson.loads(actions_json):
        if isinstance(action, dict) and isinstance(action.get("set_tweak"), str):
            tweaks[action["set_tweak"]] = action.get("value", True)
    return tweaks


class PushDelivery:
    def __init__(
        self,
        *,
        config: PushConfig,
        store: PushDeliveryStore,
        events: EventStore,
        state: StateStore,
        stream: StreamIdGenerator,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        self._config = config
        self._store = store
        self._events = events
        self._state = state
        self._stream = stream
        self._http = http
        self._workers: dict[tuple[str, str, str], asyncio.Task[None]] = {}
        self._wakers: dict[tuple[str, str, str], asyncio.Event] = {}
        self._badges: set[tuple[str, str, str]] = set()
        self._users: set[str] = set()
        self._running = False
        #: Positions reached but not yet stored: written together, FLUSH_INTERVAL_S apart.
        self._unsaved: dict[tuple[str, str, str], tuple[HttpPusher, int]] = {}
        #: Notes handed over by the writing transaction, per pusher; a worker reads the
        #: database instead only to catch up (at start, or after its queue overflowed).
        self._queues: dict[tuple[str, str, str], deque[ReadyNote]] = {}
        self._catching_up: set[tuple[str, str, str]] = set()
        self._flusher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start a worker for every stored HTTP pusher (``sceau serve`` only)."""
        self._running = True
        for pusher in await self._store.http_pushers():
            self._spawn(pusher)
        self._flusher = asyncio.create_task(self._flush_periodically(), name="pusher positions")

    async def stop(self) -> None:
        """Let each worker finish the send in hand (no duplicate after a restart), then end."""
        self._running = False
        for waker in self._wakers.values():
            waker.set()
        tasks = list(self._workers.values())
        _done, late = await asyncio.wait(tasks, timeout=STOP_GRACE_S) if tasks else ((), ())
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._wakers.clear()
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        await self._flush()
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            try:
                await self._flush()
            except Exception:
                logger.exception("storing pushers' positions failed; tried again later")

    async def _flush(self) -> None:
        """Store every position reached since the last flush, in one transaction."""
        if not self._unsaved:
            return
        batch, self._unsaved = list(self._unsaved.values()), {}
        await self._store.set_positions(batch)

    def _spawn(self, pusher: HttpPusher) -> None:
        if pusher.key in self._workers:
            return
        self._users.add(pusher.user_id)
        self._queues[pusher.key] = deque()
        self._catching_up.add(pusher.key)
        self._wakers[pusher.key] = asyncio.Event()
        self._workers[pusher.key] = asyncio.create_task(self._run(pusher), name="pusher")

    # ---------------------------------------------------------------- hooks

    async def pushers_changed(self, user_id: str) -> None:
        """After /pushers/set: start workers for new pushers, stop those of removed ones."""
        if not self._running:
            return
        current = {p.key: p for p in await self._store.http_pushers(user_id)}
        for key in [k for k in self._workers if k[0] == user_id and k not in current]:
            self._workers.pop(key).cancel()
            self._wakers.pop(key, None)
        for pusher in current.values():
            self._spawn(pusher)

    async def on_events(self, txn: Transaction, events: list[PersistedEvent]) -> None:
        """Persist hook: read the batch's notifications for users with pushers once, in the
        writing transaction, and hand them to those pushers' workers after the commit."""
        if not self._users:
            return
        users: set[str] = set()
        for room_id in {event.room_id for event in events}:
            users.update(m for m in await self._state.members(room_id, "join") if m in self._users)
        if not users:
            return
        positions = [event.stream_pos for event in events]
        found = await self._store.batch_notifications(txn, positions, sorted(users))
        if not found:
            return
        totals = await self._store.unread_totals(txn, sorted({user for user, _ in found}))
        by_pos = {event.stream_pos: event for event in events}
        later: dict[str, int] = {}
        later_calls: dict[str, int] = {}
        ready: list[tuple[str, ReadyNote]] = []
        for user, note in reversed(found):
            pdu = by_pos[note.stream_pos].pdu
            total, calls = totals.get(user, (0, 0))
            unread = total - later.get(user, 0)
            missed = calls - later_calls.get(user, 0)
            later[user] = later.get(user, 0) + 1
            if pdu.get("type") == "m.call.invite":
                later_calls[user] = later_calls.get(user, 0) + 1
            content = pdu.get("content")
            ready.append(
                (
                    user,
                    ReadyNote(
                        note,
                        str(pdu.get("type", "")),
                        str(pdu.get("sender", "")),
                        content if isinstance(content, dict) else {},
                        unread,
                        missed,
                    ),
                )
            )
        ready.reverse()
        txn.after_commit(lambda: self._hand_over(ready))

    def _hand_over(self, ready: list[tuple[str, ReadyNote]]) -> None:
        for key, queue in self._queues.items():
            notes = [note for user, note in ready if user == key[0]]
            if not notes:
                continue
            if len(queue) + len(notes) > MAX_QUEUED:
                queue.clear()
                self._catching_up.add(key)
            else:
                queue.extend(notes)
            waker = self._wakers.get(key)
            if waker is not None:
                waker.set()

    async def on_receipt(self, _room: str, user_id: str, *_rest: Any) -> None:
        """Receipt hook: the user read something; push the new badge count."""
        for key in self._workers:
            if key[0] == user_id:
                self._badges.add(key)
        self.wake([user_id])

    def wake(self, user_ids: list[str]) -> None:
        targets = set(user_ids)
        for key, event in self._wakers.items():
            if key[0] in targets:
                event.set()

    # --------------------------------------------------------------- worker

    async def _run(self, pusher: HttpPusher) -> None:
        position = pusher.last_stream_pos
        if position is None:
            position = self._stream.current()
            await self._store.set_position(pusher, position)
        waker = self._wakers[pusher.key]
        queue = self._queues[pusher.key]
        while self._running:
            waker.clear()
            if pusher.key in self._catching_up:
                pending = await self._store.pending(pusher.user_id, position, BATCH)
                if not pending:
                    self._catching_up.discard(pusher.key)
                    continue
                sent = await self._deliver_batch(pusher, pending, position)
            elif queue:
                notes = [queue.popleft() for _ in range(len(queue))]
                sent = await self._deliver_ready(pusher, notes, position)
            elif pusher.key in self._badges:
                self._badges.discard(pusher.key)
                if not await self._send_until_done(pusher, await self._badge(pusher)):
                    return
                continue
            else:
                await waker.wait()
                continue
            if sent is None:
                return
            position = sent

    async def _deliver_ready(
        self, pusher: HttpPusher, notes: list[ReadyNote], position: int
    ) -> int | None:
        """Send notes prepared by the writing transaction (skipping any caught up already)."""
        sent = position
        try:
            for ready in notes:
                if ready.note.stream_pos <= sent:
                    continue
                if not self._running:
                    break
                if not await self._send_until_done(pusher, self._ready_payload(pusher, ready)):
                    return None
                sent = ready.note.stream_pos
        finally:
            if sent != position and pusher.key in self._workers:
                self._unsaved[pusher.key] = (pusher, sent)
        return sent

    async def _deliver_batch(
        self, pusher: HttpPusher, pending: list[PendingNotification], position: int
    ) -> int | None:
        """Send a batch in order; the position reached is stored by the next flush (every
        FLUSH_INTERVAL_S, and at stop), so a crash repeats at most that much. None when the
        pusher is gone."""
        missed = await self._store.missed_calls(pusher.user_id)
        sent = position
        try:
            for note in pending:
                if not self._running:
                    break
                payload = await self._payload(pusher, note, missed)
                if not await self._send_until_done(pusher, payload):
                    return None
                sent = note.stream_pos
        finally:
            if sent != position and pusher.key in self._workers:
                self._unsaved[pusher.key] = (pusher, sent)
        return sent

    async def _send_until_done(self, pusher: HttpPusher, payload: dict[str, Any]) -> bool:
        """POST until the gateway accepts; False when the pusher is gone (rejected, unapproved)."""
        url = pusher.data.get("url")
        if url not in self._config.allowed_gateways:
            logger.warning(
                "pusher %s/%s: gateway no longer approved", pusher.user_id, pusher.app_id
            )
            await self._store.remove(pusher)
            return False
        backoff = MIN_BACKOFF_S
        while True:
            rejected = await self._post(str(url), payload)
            if rejected is not None:
                break
            if not self._running:
                return False
            await self._pause(pusher, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        if pusher.pushkey in rejected:
            logger.info("pusher %s/%s: pushkey rejected, removed", pusher.user_id, pusher.app_id)
            await self._store.remove(pusher)
            self._wakers.pop(pusher.key, None)
            self._workers.pop(pusher.key, None)
            return False
        return True

    async def _pause(self, pusher: HttpPusher, seconds: float) -> None:
        """Back off, but wake early for a stop (or a test's nudge)."""
        waker = self._wakers.get(pusher.key)
        if waker is None:
            await asyncio.sleep(seconds)
            return
        waker.clear()
        try:
            await asyncio.wait_for(waker.wait(), seconds)
        except TimeoutError:
            pass

    async def _post(self, url: str, payload: dict[str, Any]) -> list[str] | None:
        """The rejected pushkeys, or None when the gateway did not accept the request."""
        import aiohttp

        if self._http is None:
            # aiohttp: many small POSTs to one gateway cost several times less CPU than httpx.
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=30),
                connector=aiohttp.TCPConnector(limit=200),
            )
        try:
            async with self._http.post(
                url,
                data=orjson.dumps(payload),
                headers={"Content-Type": "application/json"},
                allow_redirects=False,
            ) as response:
                if response.status != 200:
                    logger.info("push gateway %s answered %s", url, response.status)
                    return None
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.info("push gateway %s unreachable: %s", url, exc)
            return None
        try:
            rejected = orjson.loads(body).get("rejected", [])
        except (orjson.JSONDecodeError, AttributeError):
            return []
        return (
            [key for key in rejected if isinstance(key, str)] if isinstance(rejected, list) else []
        )

    # -------------------------------------------------------------- payload

    def _device(self, pusher: HttpPusher, tweaks: dict[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in pusher.data.items() if k != "url"}
        return {
            "app_id": pusher.app_id,
            "pushkey": pusher.pushkey,
            "pushkey_ts": pusher.created_ts // 1000,
            "data": data,
            "tweaks": tweaks,
        }

    async def _counts(
        self, user_id: str, upto: int | None = None, missed: int | None = None
    ) -> dict[str, int]:
        """The badge as of a notification (always sent, so a read clears it), and missed calls
        when there are some."""
        counts = {"unread": await self._store.unread_total(user_id, upto)}
        if missed is None:
            missed = await self._store.missed_calls(user_id)
        if missed:
            counts["missed_calls"] = missed
        return counts

    async def _payload(
        self, pusher: HttpPusher, note: PendingNotification, missed: int
    ) -> dict[str, Any]:
        event = await self._events.get_event(note.event_id)
        event_type = event.type if event is not None else ""
        notification: dict[str, Any] = {
            "event_id": note.event_id,
            "room_id": note.room_id,
            "counts": await self._counts(pusher.user_id, note.stream_pos, missed),
            "devices": [self._device(pusher, tweaks_of(note.actions_json))],
            "prio": "high" if note.highlight or event_type in HIGH_PRIORITY_TYPES else "low",
        }
        if pusher.data.get("format") != "event_id_only" and event is not None:
            notification["type"] = event_type
            notification["sender"] = event.sender
            if self._config.include_content and event_type != "m.room.encrypted":
                notification["content"] = event.content
        return {"notification": notification}

    def _ready_payload(self, pusher: HttpPusher, ready: ReadyNote) -> dict[str, Any]:
        note = ready.note
        notification: dict[str, Any] = {
            "event_id": note.event_id,
            "room_id": note.room_id,
            "counts": {"unread": ready.unread}
            | ({"missed_calls": ready.missed_calls} if ready.missed_calls else {}),
            "devices": [self._device(pusher, tweaks_of(note.actions_json))],
            "prio": "high" if note.highlight or ready.event_type in HIGH_PRIORITY_TYPES else "low",
        }
        if pusher.data.get("format") != "event_id_only":
            notification["type"] = ready.event_type
            notification["sender"] = ready.sender
            if self._config.include_content and ready.event_type != "m.room.encrypted":
                notification["content"] = ready.content
        return {"notification": notification}

    async def _badge(self, pusher: HttpPusher) -> dict[str, Any]:
        """A counts-only notification, after the user read on some device."""
        return {
            "notification": {
                "counts": await self._counts(pusher.user_id),
                "devices": [self._device(pusher, {})],
                "prio": "low",
            }
        }
