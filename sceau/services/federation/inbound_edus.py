"""EDUs received in a transaction, handed to the services that own each stream.

Every EDU is checked alone: its user must belong to the sending server, and
what the owning service refuses (a user not in the room, an unknown event)
is logged and skipped. Nothing here raises to the transaction.
"""

import logging
from typing import Any

from sceau.errors import MatrixError
from sceau.services.e2ee.device_lists import DeviceListService
from sceau.services.e2ee.to_device import ToDeviceService
from sceau.services.federation.outbound import server_of
from sceau.services.presence import STATES, PresenceService
from sceau.services.receipts import ReceiptService
from sceau.services.typing import TypingService

logger = logging.getLogger(__name__)


class InboundEdus:
    def __init__(
        self,
        *,
        typing: TypingService,
        receipts: ReceiptService,
        presence: PresenceService,
        device_lists: DeviceListService,
        to_device: ToDeviceService,
    ) -> None:
        self._typing = typing
        self._receipts = receipts
        self._presence = presence
        self._device_lists = device_lists
        self._to_device = to_device
        self._handlers = {
            "m.typing": self._on_typing,
            "m.receipt": self._on_receipt,
            "m.presence": self._on_presence,
            "m.device_list_update": self._on_device_list,
            "m.signing_key_update": self._on_device_list,
            "m.direct_to_device": self._on_to_device,
        }

    async def handle(self, origin: str, edu: Any) -> None:
        if not isinstance(edu, dict) or not isinstance(edu.get("content"), dict):
            logger.info("malformed EDU from %s ignored", origin)
            return
        handler = self._handlers.get(edu.get("edu_type"))  # type: ignore[arg-type]
        if handler is None:
            logger.debug("EDU %r from %s not handled", edu.get("edu_type"), origin)
            return
        try:
            await handler(origin, edu["content"])
        except MatrixError as exc:
            logger.info("%s from %s refused: %s", edu.get("edu_type"), origin, exc)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            logger.info("malformed %s from %s: %s", edu.get("edu_type"), origin, exc)

    async def _on_typing(self, origin: str, content: Any) -> None:
        room_id, user_id = content.get("room_id"), content.get("user_id")
        if not _str(room_id, user_id) or server_of(user_id) != origin:
            return
        timeout = content.get("timeout")
        timeout_ms = timeout if isinstance(timeout, int) and timeout >= 0 else None
        await self._typing.set_typing(user_id, room_id, content.get("typing") is True, timeout_ms)

    async def _on_receipt(self, origin: str, content: Any) -> None:
        for room_id, by_type in content.items():
            if not isinstance(room_id, str) or not isinstance(by_type, dict):
                continue
            read = by_type.get("m.read")
            if not isinstance(read, dict):
                continue
            for user_id, receipt in read.items():
                if server_of(user_id) != origin or not isinstance(receipt, dict):
                    continue
                event_ids = receipt.get("event_ids")
                if not isinstance(event_ids, list) or not event_ids or not _str(*event_ids):
                    continue
                data: Any = receipt.get("data") if isinstance(receipt.get("data"), dict) else {}
                thread = data.get("thread_id")
                try:
                    await self._receipts.send_receipt(
                        user_id,
                        room_id,
                        "m.read",
                        event_ids[-1],
                        thread if isinstance(thread, str) else None,
                    )
                except MatrixError as exc:
                    logger.info("receipt of %s in %s refused: %s", user_id, room_id, exc)

    async def _on_presence(self, origin: str, content: Any) -> None:
        push = content.get("push")
        if not isinstance(push, list):
            return
        item: Any
        for item in push[:1000]:
            if not isinstance(item, dict):
                continue
            user_id: Any = item.get("user_id")
            state: Any = item.get("presence")
            if not _str(user_id, state) or server_of(user_id) != origin or state not in STATES:
                continue
            status = item.get("status_msg")
            await self._presence.apply_remote(
                user_id, state, status if isinstance(status, str) else None
            )

    async def _on_device_list(self, origin: str, content: Any) -> None:
        """A remote user's devices or cross-signing keys changed.

        Remote device lists are not cached here: every /keys/query for a
        remote user asks its server, so a missed update (a gap in
        ``prev_id``) cannot leave stale keys. What is left to do is telling
        local users who share a room to query again.
        """
        user_id = content.get("user_id")
        if not _str(user_id) or server_of(user_id) != origin:
            return
        await self._device_lists.mark_changed([user_id])

    async def _on_to_device(self, origin: str, content: Any) -> None:
        sender, event_type = content.get("sender"), content.get("type")
        message_id, messages = content.get("message_id"), content.get("messages")
        if not _str(sender, event_type, message_id) or server_of(sender) != origin:
            return
        if not isinstance(messages, dict):
            return
        # The message ID makes a retried EDU idempotent, as a client's txnId does.
        await self._to_device.send(sender, "", event_type, f"federation:{message_id}", messages)


def _str(*values: Any) -> bool:
    return all(isinstance(v, str) and v for v in values)
