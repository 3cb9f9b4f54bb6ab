"""Device-list tracking: tell each user whose devices they must re-query, and whom to forget.

A change (new login, logout, key upload, cross-signing upload) is one row at a
shared stream position. A sync reports, in ``device_lists.changed``, users it
shares a room with (and itself) that changed since its token, plus users it
newly shares a room with; ``device_lists.left`` lists users it no longer shares
any room with. Membership comes from current room state, so every transition
(join, invite accepted, leave, kick, ban) is covered without extra bookkeeping.
"""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from sceau.notifier import Notifier
from sceau.services.sync import SyncContext
from sceau.storage.database import Database
from sceau.storage.e2ee.device_lists import DeviceListStore
from sceau.storage.state import StateStore
from sceau.streams import ChangeTracker, StreamIdGenerator


@dataclass
class DeviceListChanges:
    changed: set[str] = field(default_factory=set)
    left: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, list[str]]:
        return {"changed": sorted(self.changed), "left": sorted(self.left)}


class DeviceListService:
    def __init__(
        self,
        *,
        db: Database,
        store: DeviceListStore,
        state: StateStore,
        stream: StreamIdGenerator,
        notifier: Notifier,
        member_changes: ChangeTracker | None = None,
    ) -> None:
        self._db = db
        #: Users whose device lists changed, by position (fed by mark_changed).
        self.list_changes = ChangeTracker(stream.current())
        #: Rooms and users whose membership changed (fed by the event service).
        self._member_changes = member_changes
        self._store = store
        self._state = state
        self._stream = stream
        self._notifier = notifier
        #: Called with (users, stream position) after their device lists changed (federation).
        self.changed_hooks: list[Callable[[list[str], int], Awaitable[None]]] = []

    async def mark_changed(self, user_ids: Iterable[str]) -> None:
        """Record that these users' device lists changed, and wake whoever tracks them."""
        users = sorted(set(user_ids))
        if not users:
            return
        async with self._stream.next_position() as pos, self._db.transaction() as txn:
            for user_id in users:
                await self._store.record_change(txn, user_id, pos)
        for user_id in users:
            self.list_changes.record(user_id, pos)
        await self.notify_trackers(users)
        for hook in self.changed_hooks:
            await hook(users, pos)

    async def notify_trackers(self, user_ids: Iterable[str]) -> None:
        """Wake the long-polls of everyone sharing a room with these users."""
        audience: set[str] = set()
        for user_id in user_ids:
            audience.add(user_id)
            audience |= await self._state.users_sharing_rooms(user_id)
        self._notifier.notify_users(audience)

    async def changes(
        self,
        user_id: str,
        joined_room_ids: list[str],
        since: int,
        upto: int,
        past_range: bool = False,
    ) -> DeviceListChanges:
        """What ``user_id`` must re-query or forget for the range ``(since, upto]``.

        ``past_range``: the range may end before now (``/keys/changes``), so
        users who have since stopped sharing a room still count.
        """
        result = DeviceListChanges()
        sharing: set[str] | None = None

        async def shared() -> set[str]:
            nonlocal sharing
            if sharing is None:
                sharing = await self._store.joined_members(joined_room_ids) | {user_id}
            return sharing

        changed: set[str] = set()
        if past_range or self.list_changes.any_changed_since(since):
            changed = await self._store.changed_users(since, upto)
        if changed:
            allowed = await shared()
            if past_range:
                allowed = allowed | await self._parted_since(user_id, since)
            result.changed |= changed & allowed
        # Users we newly share a room with: their devices are news to us.
        moved_rooms = joined_room_ids
        if not past_range and self._member_changes is not None:
            moved_rooms = [
                r for r in joined_room_ids if self._member_changes.changed_since(r, since)
            ]
            if not moved_rooms and not self._member_changes.changed_since(user_id, since):
                return result
        joined_rooms = set(joined_room_ids)
        own = await self._store.own_membership_changes(user_id, since, upto)
        newly_joined = [r for r, m in own if m == "join" and r in joined_rooms]
        left_rooms = [r for r, m in own if m in ("leave", "ban")]
        met = await self._store.joined_members(newly_joined) if newly_joined else set()
        joined, gone = (
            await self._store.members_changed_since(moved_rooms, since, upto)
            if moved_rooms
            else (set(), set())
        )
        met |= joined
        met.discard(user_id)
        result.changed |= met
        if left_rooms:
            gone |= await self._store.joined_members(left_rooms)
        gone.discard(user_id)
        if gone:
            result.left = gone - await shared()
        result.changed -= result.left
        return result

    async def _parted_since(self, user_id: str, since: int) -> set[str]:
        """Users who stopped sharing a room with ``user_id`` after ``since``.

        A range that ends in the past (``/keys/changes``) must still report
        changes of users we shared a room with *then*.
        """
        rooms = [m.room_id for m in await self._state.rooms_for_user(user_id, ("join",))]
        _joined, gone = await self._store.members_changed_since(rooms, since, None)
        own = await self._store.own_membership_changes(user_id, since, None)
        left_rooms = [r for r, m in own if m in ("leave", "ban")]
        if left_rooms:
            gone |= await self._store.joined_members(left_rooms)
            _joined, more = await self._store.members_changed_since(left_rooms, since, None)
            gone |= more
        return gone

    async def sync_section(self, ctx: SyncContext) -> bool:
        """/sync ``device_lists`` (incremental syncs only, as the spec says)."""
        if ctx.since is None:
            return False
        changes = await self.changes(
            ctx.user_id, ctx.joined_room_ids, ctx.since.stream, ctx.upto.stream
        )
        if not changes.changed and not changes.left:
            return False
        ctx.response["device_lists"] = changes.to_json()
        return True
