"""Email notifications: one summary of what an agent left unread, through the SMTP section.

An ``email`` pusher (its pushkey is the address) turns them on. Once a
notification has stayed unread for ``push.email_delay_ms``, the periodic job
mails one summary of everything unread since the last email: room names and
senders, and message text only from unencrypted rooms (an encrypted room's
content is never known to the server anyway). Each email carries a link that
unsubscribes the address.
"""

import hashlib
import hmac
import logging
from urllib.parse import urlencode

from sceau.clock import Clock
from sceau.config import Config
from sceau.services.mailer import Mailer, MailError
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.push_delivery import HttpPusher, PushDeliveryStore
from sceau.storage.state import StateStore
from sceau.streams import StreamIdGenerator

logger = logging.getLogger(__name__)

UNSUBSCRIBE_PATH = "_sceau/v1/email_notifications/unsubscribe"
MAX_LISTED = 20
MAX_EXCERPT = 140


class EmailNotifier:
    def __init__(
        self,
        *,
        config: Config,
        clock: Clock,
        store: PushDeliveryStore,
        events: EventStore,
        state: StateStore,
        stream: StreamIdGenerator,
        mailer: Mailer,
        link_secret: bytes,
    ) -> None:
        self._config = config
        self._clock = clock
        self._store = store
        self._events = events
        self._state = state
        self._stream = stream
        self._mailer = mailer
        self._secret = link_secret

    def unsubscribe_token(self, user_id: str, address: str) -> str:
        """A link token only this server can make, bound to the user and the address."""
        message = f"{user_id}\0{address}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    async def unsubscribe(self, user_id: str, address: str, token: str) -> bool:
        """Follow an unsubscribe link: the email pusher goes; False for a bad or used link."""
        if not hmac.compare_digest(token, self.unsubscribe_token(user_id, address)):
            return False
        for pusher in await self._store.email_pushers():
            if pusher.user_id == user_id and pusher.pushkey == address:
                return await self._store.remove_one(pusher)
        return False

    async def send_due(self) -> int:
        """The periodic job: mail each email pusher whose oldest unread notification is due."""
        if not self._mailer.configured:
            return 0
        sent = 0
        for pusher in await self._store.email_pushers():
            position = pusher.last_stream_pos
            if position is None:
                await self._store.set_position(pusher, self._stream.current())
                continue
            oldest = await self._store.oldest_unread_ts(pusher.user_id, position)
            due_at = self._clock.time_ms() - self._config.push.email_delay_ms
            if oldest is None or oldest > due_at:
                continue
            pending = await self._store.pending(pusher.user_id, position, MAX_LISTED)
            if not pending:
                continue
            try:
                await self._mail(pusher, [n.event_id for n in pending])
            except MailError as exc:
                logger.warning("notification email to %s failed: %s", pusher.user_id, exc)
                continue
            await self._store.set_position(pusher, pending[-1].stream_pos)
            sent += 1
        return sent

    async def _mail(self, pusher: HttpPusher, event_ids: list[str]) -> None:
        found = await self._events.get_events(event_ids)
        lines = []
        for event_id in event_ids:
            event = found.get(event_id)
            if event is not None:
                lines.append(await self._line(event))
        query = urlencode(
            {
                "user": pusher.user_id,
                "address": pusher.pushkey,
                "token": self.unsubscribe_token(pusher.user_id, pusher.pushkey),
            }
        )
        link = f"{self._config.base_url}{UNSUBSCRIBE_PATH}?{query}"
        text = (
            "Messages non lus / Unread messages:\n\n"
            + "\n".join(lines)
            + "\n\nPour ne plus recevoir ces courriels / To stop these emails:\n"
            + link
            + "\n"
        )
        subject = f"[{self._config.server_name}] {len(lines)} message(s) non lu(s) / unread"
        await self._mailer.send(pusher.pushkey, subject, text)

    async def _line(self, event: StoredEvent) -> str:
        room = await self._room_name(event.room_id)
        sender = await self._sender_name(event.room_id, event.sender)
        body = event.content.get("body")
        encrypted = event.type == "m.room.encrypted" or await self._is_encrypted(event.room_id)
        if encrypted or not isinstance(body, str):
            return f"- {room} : {sender}"
        excerpt = body if len(body) <= MAX_EXCERPT else body[: MAX_EXCERPT - 1] + "…"
        return f"- {room} : {sender} : {excerpt}"

    async def _state_content(
        self, room_id: str, event_type: str, key: str = ""
    ) -> dict[str, object]:
        event_id = await self._state.current_state_event_id(room_id, event_type, key)
        event = await self._events.get_event(event_id) if event_id else None
        return event.content if event is not None else {}

    async def _room_name(self, room_id: str) -> str:
        name = (await self._state_content(room_id, "m.room.name")).get("name")
        return name if isinstance(name, str) and name else "Discussion"

    async def _sender_name(self, room_id: str, user_id: str) -> str:
        name = (await self._state_content(room_id, "m.room.member", user_id)).get("displayname")
        return name if isinstance(name, str) and name else user_id

    async def _is_encrypted(self, room_id: str) -> bool:
        return bool(await self._state_content(room_id, "m.room.encryption"))
