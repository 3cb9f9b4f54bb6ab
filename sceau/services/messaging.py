"""Sending messages, state and redactions on behalf of a client.

The checks a client request needs before an event is built live here:
rate limits, the rule that encryption once enabled stays on, and who may
redact what. Everything else is the authorization rules' job.
"""

from sceau.errors import bad_json, forbidden, not_found
from sceau.protocol.types import JsonDict
from sceau.services.event_types import ClientTxn, EventSpec
from sceau.services.events import EventService
from sceau.services.ratelimit import RateLimiter
from sceau.services.room_power import room_power
from sceau.storage.events import EventStore
from sceau.storage.state import StateStore


class MessagingService:
    def __init__(
        self,
        *,
        events: EventService,
        event_store: EventStore,
        state: StateStore,
        ratelimiter: RateLimiter,
    ) -> None:
        self._events = events
        self._event_store = event_store
        self._state = state
        self._ratelimiter = ratelimiter

    async def send_message(
        self,
        user_id: str,
        device_id: str,
        room_id: str,
        event_type: str,
        content: JsonDict,
        txn_id: str,
    ) -> str:
        """PUT /rooms/{roomId}/send/{eventType}/{txnId}: a retry returns the first event."""
        txn = ClientTxn(device_id, txn_id, "send", event_type)
        existing = await self._event_store.get_txn_event(txn.key(user_id, room_id))
        if existing is not None:
            return existing
        self._ratelimiter.check("message", user_id)
        if event_type == "m.room.redaction":
            target = content.get("redacts")
            if not isinstance(target, str):
                raise bad_json("Redactions need 'redacts'")
            return await self._redact(user_id, room_id, target, content.get("reason"), txn)
        return await self._events.send(room_id, EventSpec(event_type, content, user_id, txn=txn))

    async def put_state(
        self, user_id: str, room_id: str, event_type: str, state_key: str, content: JsonDict
    ) -> str:
        self._ratelimiter.check("message", user_id)
        await self._require_room(room_id)
        if event_type == "m.room.encryption":
            await self._check_encryption_change(room_id, content)
        if event_type == "m.room.canonical_alias":
            _check_alias_content(content)
        current_id = await self._state.current_state_event_id(room_id, event_type, state_key)
        if current_id is not None and event_type != "m.room.member":
            current = await self._event_store.get_event(current_id)
            if current is not None and current.content == content and current.sender == user_id:
                return current_id
        return await self._events.send(
            room_id, EventSpec(event_type, content, user_id, state_key=state_key)
        )

    async def redact(
        self, user_id: str, device_id: str, room_id: str, event_id: str, reason: object, txn_id: str
    ) -> str:
        """PUT /rooms/{roomId}/redact/{eventId}/{txnId}: a retry returns the first redaction."""
        txn = ClientTxn(device_id, txn_id, "redact", event_id)
        existing = await self._event_store.get_txn_event(txn.key(user_id, room_id))
        if existing is not None:
            return existing
        return await self._redact(user_id, room_id, event_id, reason, txn)

    async def _redact(
        self, user_id: str, room_id: str, event_id: str, reason: object, txn: ClientTxn
    ) -> str:
        if reason is not None and not isinstance(reason, str):
            raise bad_json("'reason' must be a string")
        target = await self._event_store.get_event(event_id)
        if target is None or target.room_id != room_id:
            raise not_found("Event not found")
        if target.type == "m.room.encryption":
            # Redaction would empty its content and silently turn encryption off.
            raise forbidden("The room's encryption settings cannot be redacted")
        if target.sender != user_id and not await self._may_redact_others(room_id, user_id):
            raise forbidden("You may only redact your own events")
        content: JsonDict = {"reason": reason} if reason else {}
        return await self._events.send(
            room_id,
            EventSpec("m.room.redaction", content, user_id, redacts=event_id, txn=txn),
        )

    async def _may_redact_others(self, room_id: str, user_id: str) -> bool:
        power = await room_power(self._state, self._event_store, room_id)
        return power.may(user_id, "redact")

    async def _require_room(self, room_id: str) -> None:
        await self._events.room_version(room_id)

    async def _check_encryption_change(self, room_id: str, content: JsonDict) -> None:
        """Once a room is encrypted it stays so, with the same algorithm."""
        current_id = await self._state.current_state_event_id(room_id, "m.room.encryption", "")
        if current_id is None:
            if not isinstance(content.get("algorithm"), str):
                raise bad_json("m.room.encryption needs an 'algorithm'")
            return
        current = await self._event_store.get_event(current_id)
        if current is not None and current.content.get("algorithm") != content.get("algorithm"):
            raise forbidden("Encryption cannot be turned off or changed once enabled")


def _check_alias_content(content: JsonDict) -> None:
    alias = content.get("alias")
    if alias is not None and not isinstance(alias, str):
        raise bad_json("'alias' must be a string")
    alt = content.get("alt_aliases", [])
    if not isinstance(alt, list) or not all(isinstance(a, str) for a in alt):
        raise bad_json("'alt_aliases' must be a list of strings")
