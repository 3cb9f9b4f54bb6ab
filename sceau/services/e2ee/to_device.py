"""To-device messages: /sendToDevice, delivery through /sync, acknowledgement.

A message is queued once per target device at the stream position of the
request. A device's sync returns its queue in order; the *next* sync, whose
``since`` token is at or past a message's position, proves the client got it,
and only then is the message deleted. A sync that could not return the whole
queue records how far it got, so the next sync deletes only that much.
"""

import base64
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from sceau.clock import Clock
from sceau.errors import bad_json, too_large
from sceau.notifier import Notifier
from sceau.protocol.types import JsonDict
from sceau.services.sync import SyncContext
from sceau.storage.accounts import AccountStore
from sceau.storage.database import Database
from sceau.storage.e2ee.to_device import ToDeviceStore
from sceau.streams import StreamIdGenerator

#: Largest content of one to-device message, in bytes (as for events).
MAX_MESSAGE_BYTES = 65_536
#: Messages returned by one sync; the rest follow on the next.
SYNC_BATCH = 100
#: Messages kept for one device; a device that never syncs loses the oldest.
MAX_INBOX = 10_000
#: How long a transaction ID is remembered for idempotency.
TXN_LIFETIME_MS = 24 * 3600 * 1000


KNOWN_EMPTY_SIZE = 100_000


class ToDeviceService:
    def __init__(
        self,
        *,
        server_name: str,
        clock: Clock,
        db: Database,
        store: ToDeviceStore,
        accounts: AccountStore,
        stream: StreamIdGenerator,
        notifier: Notifier,
        max_inbox: int = MAX_INBOX,
    ) -> None:
        self._server_name = server_name
        self._clock = clock
        self._db = db
        self._store = store
        self._accounts = accounts
        self._stream = stream
        self._notifier = notifier
        self._max_inbox = max_inbox
        self._sends = 0
        # Devices known to have an empty inbox, so /sync can skip the look-up.
        # Sends bump the generation; a look-up that raced a send is not trusted.
        self._known_empty: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._generation = 0
        #: Told (user, device) of every inbox that got messages (other processes).
        self.on_sent: Callable[[str, str], None] | None = None
        #: Takes (sender, type, message ID, messages) for remote users (federation).
        self.remote_sink: Callable[[str, str, str, dict[str, Any]], Awaitable[None]] | None = None

    async def send(
        self,
        sender: str,
        sender_device: str,
        event_type: str,
        txn_id: str,
        messages: Any,
    ) -> None:
        """PUT /sendToDevice/{type}/{txnId}: queue, once per transaction ID."""
        targets = await self._expand(sender, event_type, messages)
        self._generation += 1
        claimed = False
        async with self._stream.next_position() as pos, self._db.transaction() as txn:
            now = self._clock.time_ms()
            if not await self._store.claim_txn(txn, sender, sender_device, event_type, txn_id, now):
                return
            claimed = True
            await self._store.add_messages(txn, pos, targets)
            for user_id, device_id in {(u, d) for u, d, _e in targets}:
                await self._store.trim_inbox(txn, user_id, device_id, self._max_inbox)
            self._sends += 1
            if self._sends % 1000 == 0:
                await self._store.forget_txns_before(txn, now - TXN_LIFETIME_MS)
        self._generation += 1
        for user_id, device_id, _event in targets:
            self._known_empty.pop((user_id, device_id), None)
            if self.on_sent is not None:
                self.on_sent(user_id, device_id)
        self._notifier.notify_users({user_id for user_id, _d, _e in targets})
        remote = {u: d for u, d in messages.items() if not u.endswith(":" + self._server_name)}
        if claimed and remote and self.remote_sink is not None and sender_device:
            # Only local senders (with a device) are forwarded; remote ones came from there.
            message_id = federation_message_id(sender, sender_device, event_type, txn_id)
            await self.remote_sink(sender, event_type, message_id, remote)

    async def _expand(
        self, sender: str, event_type: str, messages: Any
    ) -> list[tuple[str, str, JsonDict]]:
        """``(user, device, event)`` for each local target device; '*' means all devices."""
        if not isinstance(messages, dict):
            raise bad_json("'messages' must be an object")
        targets: list[tuple[str, str, JsonDict]] = []
        for user_id, by_device in messages.items():
            if not isinstance(by_device, dict):
                raise bad_json("'messages' must map users to {device: content}")
            per_device: dict[str, JsonDict] = {}
            for content in by_device.values():
                if not isinstance(content, dict):
                    raise bad_json("To-device message content must be an object")
                if len(orjson.dumps(content)) > MAX_MESSAGE_BYTES:
                    raise too_large(f"A to-device message may be at most {MAX_MESSAGE_BYTES} bytes")
            if not user_id.endswith(":" + self._server_name):
                continue  # Remote users: their server delivers (remote_sink).
            devices = {d.device_id for d in await self._accounts.get_devices(user_id)}
            wildcard = by_device.get("*")
            if isinstance(wildcard, dict):
                per_device = dict.fromkeys(devices, wildcard)
            for device_id, content in by_device.items():
                if device_id != "*" and device_id in devices:
                    per_device[device_id] = content
            event_base = {"type": event_type, "sender": sender}
            targets.extend(
                (user_id, device_id, {**event_base, "content": content})
                for device_id, content in sorted(per_device.items())
            )
        return targets

    def forget_known_empty(self, key: tuple[str, str] | None) -> None:
        """Another process put messages in this (user, device) inbox (None: in any)."""
        self._generation += 1
        if key is None:
            self._known_empty.clear()
        else:
            self._known_empty.pop(key, None)

    async def sync_section(self, ctx: SyncContext) -> bool:
        """/sync ``to_device``: acknowledge what the token proves, return what waits."""
        key = (ctx.user_id, ctx.device_id)
        if key in self._known_empty:
            return False
        generation = self._generation
        if not await self._store.has_messages(ctx.user_id, ctx.device_id):
            if generation == self._generation:
                self._known_empty[key] = None
                if len(self._known_empty) > KNOWN_EMPTY_SIZE:
                    self._known_empty.popitem(last=False)
            return False
        if ctx.since is not None:
            await self._store.acknowledge(ctx.user_id, ctx.device_id, ctx.since.stream)
        batch = await self._store.messages(
            ctx.user_id, ctx.device_id, ctx.upto.stream, SYNC_BATCH + 1
        )
        if not batch:
            return False
        if len(batch) > SYNC_BATCH:
            batch = batch[:SYNC_BATCH]
            await self._store.mark_partial(
                ctx.user_id, ctx.device_id, ctx.upto.stream, batch[-1][0]
            )
        else:
            await self._store.clear_mark(ctx.user_id, ctx.device_id, ctx.upto.stream)
        ctx.response["to_device"] = {"events": [event for _pos, event in batch]}
        return True

    async def fetch_for_device(
        self, user_id: str, device_id: str, after: int | None
    ) -> tuple[list[JsonDict], int | None]:
        """Page through a device's inbox without /sync (dehydrated devices).

        ``after`` is the previous page's ``next_batch``: those messages are
        deleted. Returns the events and the new ``next_batch``.
        """
        if after is not None:
            await self._store.acknowledge_upto(user_id, device_id, after)
        batch = await self._store.messages(user_id, device_id, self._stream.current(), SYNC_BATCH)
        if not batch:
            return [], after
        return [event for _pos, event in batch], batch[-1][0]


def federation_message_id(sender: str, device_id: str, event_type: str, txn_id: str) -> str:
    """The ``message_id`` of the EDU a local /sendToDevice request becomes.

    The receiving server drops a repeated ID (Synapse per origin server), so it
    must differ for every request the sending server carries out: it covers
    the sender, its device and the whole path (event type and txn ID).
    """
    scope = "\0".join((sender, device_id, event_type, txn_id)).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(scope).digest()[:18]).decode()
