"""What local activity sends to other servers: events of shared rooms, and the EDUs.

Each producer is a hook of an existing service (the event writer's persist
hook, the typing, receipt, presence, device-list and to-device services), so
those services know nothing of federation. Only local users' activity goes
out; what arrived from another server is never echoed back.
"""

import logging
from collections.abc import Iterable
from typing import Any

from sceau.services.event_types import PersistedEvent
from sceau.services.federation.policy import FederationPolicy
from sceau.services.federation.sender import FederationSender
from sceau.storage.database import Transaction
from sceau.storage.federation_queue import joined_members
from sceau.storage.state import StateStore

logger = logging.getLogger(__name__)


def server_of(user_id: str) -> str:
    """The server part of a user ID (split at the first colon: ports stay)."""
    return user_id.split(":", 1)[1] if ":" in user_id else ""


class OutboundFanout:
    def __init__(
        self, *, policy: FederationPolicy, sender: FederationSender, state: StateStore
    ) -> None:
        self._policy = policy
        self._sender = sender
        self._state = state
        self._me = policy.server_name

    def _is_local(self, user_id: str) -> bool:
        return server_of(user_id) == self._me

    # ------------------------------------------------------------------ PDUs

    async def on_events(self, txn: Transaction, events: list[PersistedEvent]) -> None:
        """Persist hook: queue local users' events for every other server in the room.

        Runs inside the events' transaction, so an event is stored if and only
        if it is queued. A membership event also goes to its target's server
        (a remote member being kicked or banned learns it).
        """
        if not self._policy.enabled:
            return
        servers_of_room: dict[str, set[str]] = {}
        for event in events:
            sender = event.pdu.get("sender")
            if not isinstance(sender, str) or not self._is_local(sender):
                continue
            if event.room_id not in servers_of_room:
                members = await joined_members(txn, event.room_id)
                servers_of_room[event.room_id] = {server_of(m) for m in members}
            destinations = set(servers_of_room[event.room_id])
            state_key = event.pdu.get("state_key")
            if event.pdu.get("type") == "m.room.member" and isinstance(state_key, str):
                destinations.add(server_of(state_key))
            destinations.discard(self._me)
            if destinations:
                pdu = {k: v for k, v in event.pdu.items() if k != "unsigned"}
                await self._sender.queue_in(txn, "pdu", pdu, destinations)

    # ------------------------------------------------------------------ EDUs

    async def _room_servers(self, room_id: str) -> set[str]:
        return {server_of(m) for m in await self._state.members(room_id)} - {self._me}

    async def _sharing_servers(self, user_id: str) -> set[str]:
        return {server_of(u) for u in await self._state.users_sharing_rooms(user_id)} - {self._me}

    async def _send(self, servers: Iterable[str], edu_type: str, content: dict[str, Any]) -> None:
        for server in servers:
            if self._policy.is_allowed(server):
                await self._sender.send_edu(server, edu_type, content)

    async def typing(self, room_id: str, user_id: str, typing: bool, timeout_ms: int) -> None:
        if self._policy.enabled and self._is_local(user_id):
            content = {"room_id": room_id, "user_id": user_id, "typing": typing}
            if typing:
                content["timeout"] = timeout_ms
            await self._send(await self._room_servers(room_id), "m.typing", content)

    async def receipt(
        self, room_id: str, user_id: str, receipt_type: str, event_id: str, ts: int, thread: str
    ) -> None:
        if not (self._policy.enabled and self._is_local(user_id)):
            return
        data: dict[str, Any] = {"ts": ts}
        if thread:
            data["thread_id"] = thread
        content = {room_id: {receipt_type: {user_id: {"event_ids": [event_id], "data": data}}}}
        await self._send(await self._room_servers(room_id), "m.receipt", content)

    async def presence(self, user_id: str, content: dict[str, Any]) -> None:
        if self._policy.enabled and self._is_local(user_id):
            push = {"user_id": user_id, **content}
            await self._send(await self._sharing_servers(user_id), "m.presence", {"push": [push]})

    async def device_list_update(
        self,
        user_id: str,
        stream_id: int,
        devices: list[tuple[str, dict[str, Any] | None, str | None]],
        deleted: Iterable[str] = (),
    ) -> None:
        """``m.device_list_update`` for each device: its keys (or none yet), and each deleted one."""
        if not (self._policy.enabled and self._is_local(user_id)):
            return
        servers = await self._sharing_servers(user_id)
        if not servers:
            return
        for device_id, keys, display_name in devices:
            content: dict[str, Any] = {
                "user_id": user_id,
                "device_id": device_id,
                "stream_id": stream_id,
                "prev_id": [],
                "deleted": False,
            }
            if keys is not None:
                content["keys"] = keys
            if display_name is not None:
                content["device_display_name"] = display_name
            await self._send(servers, "m.device_list_update", content)
        for device_id in deleted:
            content = {
                "user_id": user_id,
                "device_id": device_id,
                "stream_id": stream_id,
                "prev_id": [],
                "deleted": True,
            }
            await self._send(servers, "m.device_list_update", content)

    async def signing_key_update(self, user_id: str, keys: dict[str, Any]) -> None:
        if self._policy.enabled and self._is_local(user_id):
            content = {"user_id": user_id, **keys}
            await self._send(await self._sharing_servers(user_id), "m.signing_key_update", content)

    async def to_device(
        self, sender: str, event_type: str, message_id: str, messages: dict[str, dict[str, Any]]
    ) -> None:
        """``m.direct_to_device`` per server, for the remote users among ``messages``."""
        by_server: dict[str, dict[str, Any]] = {}
        for user_id, devices in messages.items():
            server = server_of(user_id)
            if server and server != self._me:
                by_server.setdefault(server, {})[user_id] = devices
        for server, part in by_server.items():
            if not self._policy.is_allowed(server):
                logger.info("to-device for %s dropped: federation with it is not allowed", server)
                continue
            content = {
                "sender": sender,
                "type": event_type,
                "message_id": message_id,
                "messages": part,
            }
            await self._sender.send_edu(server, "m.direct_to_device", content)
