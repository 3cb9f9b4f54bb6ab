"""Content reporting: users report events, rooms and users to the server's administrators.

Reports are stored for the administrators to review; nothing is sent
anywhere. What a reporter learns is kept to what the spec requires:

* an event report needs the reporter to be joined to the room *now*
  (spec v1.8), and an event that does not exist, lies in another room, was
  redacted or is hidden from the reporter by history visibility gets the
  same 404 as a room the reporter is not in;
* a room report does not need membership (v1.13): room IDs are random, so
  the spec's 404 for an unknown room tells nothing worth hiding;
* a user report does not need shared rooms (v1.14). User IDs are guessable
  names, so an unknown local user is answered 200 like a real one and the
  report is dropped, as Synapse does; reports on users of other servers are
  kept, since federated ministries' administrators may act on them.

Every report spends the reporter's ``report`` rate limit before any look-up,
found or not, so the answers cannot be used to probe quickly.
"""

import secrets
from collections.abc import Callable

from sceau.clock import Clock
from sceau.errors import bad_json, invalid_param, not_found
from sceau.protocol.identifiers import is_valid_user_id, parse_user_id
from sceau.services.ratelimit import RateLimiter
from sceau.services.room_state import RoomStateService
from sceau.storage.accounts import AccountStore
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.reports import Report, ReportStore
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore

#: Longer reasons are refused (Synapse's limit for user reports), so one
#: report cannot fill an administrator's screen or the table.
MAX_REASON_CHARS = 1000
#: The range the spec gave ``score`` before v1.18 removed it: -100 is most offensive.
SCORE_RANGE = range(-100, 1)

EVENT_NOT_FOUND = "Unable to report event: it does not exist or you aren't able to see it."


class ReportService:
    def __init__(
        self,
        *,
        server_name: str,
        clock: Clock,
        store: ReportStore,
        events: EventStore,
        state: StateStore,
        rooms: RoomStore,
        accounts: AccountStore,
        room_state: RoomStateService,
        ratelimiter: RateLimiter,
        random_id: Callable[[], str] | None = None,
    ) -> None:
        self._server_name = server_name
        self._clock = clock
        self._store = store
        self._events = events
        self._state = state
        self._rooms = rooms
        self._accounts = accounts
        self._room_state = room_state
        self._ratelimiter = ratelimiter
        self._random_id = random_id or (lambda: secrets.token_urlsafe(18))

    async def report_event(
        self, reporter: str, room_id: str, event_id: str, reason: str | None, score: int | None
    ) -> None:
        """POST /rooms/{roomId}/report/{eventId}: 404 for anything the reporter may not see."""
        _check_reason(reason)
        if score is not None and score not in SCORE_RANGE:
            raise invalid_param("'score' must be between -100 and 0")
        self._ratelimiter.check("report", reporter)
        event = await self._reportable_event(reporter, room_id, event_id)
        if event is None:
            raise not_found(EVENT_NOT_FOUND)
        await self._add("event", reporter, room_id, event_id, event.sender, reason, score)

    async def report_room(self, reporter: str, room_id: str, reason: str) -> None:
        """POST /rooms/{roomId}/report: any room the server knows, joined or not."""
        _check_reason(reason)
        self._ratelimiter.check("report", reporter)
        if await self._rooms.get_room(room_id) is None:
            raise not_found("The room was not found.")
        await self._add("room", reporter, room_id, None, None, reason, None)

    async def report_user(self, reporter: str, user_id: str, reason: str) -> None:
        """POST /users/{userId}/report: answered alike whether the user exists or not."""
        if not is_valid_user_id(user_id):
            raise invalid_param("Invalid user ID")
        _check_reason(reason)
        self._ratelimiter.check("report", reporter)
        _, server_name = parse_user_id(user_id)
        if server_name == self._server_name and not await self._accounts.user_exists(user_id):
            return  # hide that no such user exists here
        await self._add("user", reporter, None, None, user_id, reason, None)

    async def _reportable_event(
        self, reporter: str, room_id: str, event_id: str
    ) -> StoredEvent | None:
        if await self._state.membership(room_id, reporter) != "join":
            return None
        event = await self._events.get_event(event_id)
        if event is None or event.room_id != room_id or event.redacted_by is not None:
            return None
        if not await self._room_state.filter_visible(reporter, [event]):
            return None
        return event

    async def _add(
        self,
        kind: str,
        reporter: str,
        room_id: str | None,
        event_id: str | None,
        target_user_id: str | None,
        reason: str | None,
        score: int | None,
    ) -> None:
        await self._store.add(
            Report(
                report_id=self._random_id(),
                kind=kind,
                reporter_id=reporter,
                room_id=room_id,
                event_id=event_id,
                target_user_id=target_user_id,
                reason=reason,
                score=score,
                received_ts=self._clock.time_ms(),
            )
        )


def _check_reason(reason: str | None) -> None:
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise bad_json(f"'reason' must be at most {MAX_REASON_CHARS} characters")
