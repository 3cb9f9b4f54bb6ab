"""GET /notifications: the events that notified a user, read or not, newest first.

Rows come from the unread notifications and the history of read ones (see
:mod:`sceau.storage.notifications`); each carries the actions its push rule
gave when the event arrived. The page token is an opaque ``n<position>``:
the next page holds the notifications strictly older than it. Events are
served in the client format without ``room_id`` (the entry has it).
``profile_tag`` is never set: Sceau's push rules are all global, so no rule
has a profile tag.
"""

import re
from typing import Any

from sceau.errors import invalid_param
from sceau.services.formatting import EventFormatter
from sceau.storage.notifications import NotificationStore

_TOKEN = re.compile(r"n([0-9]{1,18})")


class NotificationService:
    def __init__(self, *, store: NotificationStore, formatter: EventFormatter) -> None:
        self._store = store
        self._formatter = formatter

    async def page(
        self,
        user_id: str,
        device_id: str | None,
        *,
        from_token: str | None,
        limit: int,
        only_highlight: bool,
    ) -> dict[str, Any]:
        before = _parse_token(from_token) if from_token else None
        found = await self._store.page(user_id, before, limit + 1, only_highlight)
        more = len(found) > limit
        found = found[:limit]
        formatted = await self._formatter.format([n.event for n in found], user_id, device_id)
        by_id = {event["event_id"]: event for event in formatted}
        notifications = []
        for notification in found:
            event = by_id.get(notification.event.event_id)
            if event is None:
                continue  # a room whose version is unknown: nothing to show
            event.pop("room_id", None)
            notifications.append(
                {
                    "actions": notification.actions,
                    "event": event,
                    "read": notification.read,
                    "room_id": notification.event.room_id,
                    "ts": notification.ts,
                }
            )
        response: dict[str, Any] = {"notifications": notifications}
        if more and found:
            response["next_token"] = f"n{found[-1].event.stream_pos}"
        return response

    async def user_deactivated(self, user_id: str) -> None:
        """Account hook: a deactivated account keeps no notification history."""
        await self._store.forget_user(user_id)


def _parse_token(token: str) -> int:
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise invalid_param("Invalid 'from' token")
    return int(match.group(1))
