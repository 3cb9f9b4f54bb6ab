"""Room upgrades: POST /rooms/{roomId}/upgrade.

The new room is created first, whole, in one transaction (with the local
aliases moved to it), so a failure leaves the old room untouched. Only then
is the old room closed: a tombstone pointing at the replacement, its
canonical alias cleared, and its power levels raised so that ordinary members
can no longer talk or invite there.
"""

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from sceau.errors import (
    MatrixError,
    bad_json,
    forbidden,
    invalid_param,
    missing_param,
    not_found,
    unsupported_room_version,
)
from sceau.protocol.identifiers import is_valid_user_id
from sceau.protocol.power_levels import (
    action_power_level,
    as_int,
    event_power_level,
    room_creators,
    user_power_level,
)
from sceau.protocol.room_versions import RoomVersion, get_room_version
from sceau.protocol.types import JsonDict
from sceau.services.events import EventService, EventSpec
from sceau.services.room_power import RoomPower, room_power
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.room_directory import RoomSummaryStore
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore

#: State carried over to the replacement room as it is.
COPIED_STATE = (
    "m.room.join_rules",
    "m.room.name",
    "m.room.topic",
    "m.room.avatar",
    "m.room.history_visibility",
    "m.room.guest_access",
    "m.room.encryption",
    "m.room.server_acl",
)
TOMBSTONE_BODY = "This room has been replaced"
MembershipHook = Callable[[str, str, str], Awaitable[None]]


class RoomUpgradeService:
    def __init__(
        self,
        *,
        server_name: str,
        events: EventService,
        event_store: EventStore,
        state: StateStore,
        rooms: RoomStore,
        summaries: RoomSummaryStore,
        membership_hooks: list[MembershipHook],
        random_id: Callable[[], str],
    ) -> None:
        self._server_name = server_name
        self._events = events
        self._event_store = event_store
        self._state = state
        self._rooms = rooms
        self._summaries = summaries
        self._membership_hooks = membership_hooks
        self._random_id = random_id

    async def upgrade(
        self, user_id: str, room_id: str, new_version: object, additional_creators: object
    ) -> str:
        """Replace ``room_id`` by a new room of ``new_version``; returns the new room's ID."""
        if new_version is None:
            raise missing_param("new_version")
        if not isinstance(new_version, str):
            raise bad_json("'new_version' must be a string")
        version = get_room_version(new_version)
        if version is None:
            raise unsupported_room_version(new_version)
        extra = (
            _additional_creators(additional_creators, user_id)
            if version.privileged_creators
            else []
        )
        old_room = await self._rooms.get_room(room_id)
        if old_room is None:
            raise not_found("Unknown room")
        if await self._state.membership(room_id, user_id) != "join":
            raise forbidden("You are not joined to this room")
        power = await room_power(self._state, self._event_store, room_id)
        if not power.may_send_state(user_id, "m.room.tombstone"):
            raise forbidden("You do not have permission to upgrade this room")

        current = await self._state.current_state_ids(room_id)
        stored = await self._event_store.get_events(current.values())
        state = {key: stored[eid] for key, eid in current.items() if eid in stored}
        specs = self._new_room_specs(
            user_id, room_id, old_room.head_event_id, version, extra, state, power
        )
        new_room_id = None if version.room_id_from_create_event else self._new_room_id()
        aliases = await self._rooms.aliases_for_room(room_id)

        async def move_aliases(txn: Any, new_id: str) -> None:
            if aliases:
                await self._summaries.move_aliases(txn, room_id, new_id)

        new_room_id = await self._events.create_room(
            version,
            new_room_id,
            user_id,
            specs,
            published=old_room.published,
            extra_write=move_aliases,
        )
        for hook in self._membership_hooks:
            await hook(user_id, new_room_id, "join")
        await self._close_old_room(user_id, room_id, new_room_id, state, old_room.published)
        return new_room_id

    def _new_room_id(self) -> str:
        return f"!{self._random_id()}:{self._server_name}"

    def _new_room_specs(
        self,
        user_id: str,
        old_room_id: str,
        old_head: str | None,
        version: RoomVersion,
        extra_creators: list[str],
        state: dict[tuple[str, str], StoredEvent],
        old_power: RoomPower,
    ) -> list[EventSpec]:
        old_create = state[("m.room.create", "")]
        predecessor: JsonDict = {"room_id": old_room_id}
        if not version.room_id_from_create_event and old_head is not None:
            # v12 rooms cannot name an event of the old room that follows them.
            predecessor["event_id"] = old_head
        create: JsonDict = {"room_version": version.identifier, "predecessor": predecessor}
        for key in ("type", "m.federate"):
            if key in old_create.content:
                create[key] = old_create.content[key]
        if version.creator_in_create_content:
            create["creator"] = user_id
        if extra_creators:
            create["additional_creators"] = extra_creators
        new_creators = {user_id, *extra_creators} if version.privileged_creators else set()

        member: JsonDict = {"membership": "join"}
        old_member = state.get(("m.room.member", user_id))
        if old_member is not None:
            for key in ("displayname", "avatar_url"):
                if isinstance(old_member.content.get(key), str):
                    member[key] = old_member.content[key]

        old_pl = state.get(("m.room.power_levels", ""))
        power_levels = _carry_power_levels(
            old_pl.content if old_pl else None,
            room_creators(old_create.pdu, old_power.version)
            if old_power.version.privileged_creators
            else set(),
            user_id,
            user_power_level(
                user_id, old_pl.content if old_pl else None, old_create.pdu, old_power.version
            ),
            new_creators,
        )
        copied: list[EventSpec] = []
        for event_type in COPIED_STATE:
            old = state.get((event_type, ""))
            if old is not None and old.content:
                copied.append(EventSpec(event_type, old.content, user_id, state_key=""))
        alias = state.get(("m.room.canonical_alias", ""))
        if alias is not None and alias.content:
            copied.append(EventSpec("m.room.canonical_alias", alias.content, user_id, state_key=""))
        for (event_type, target), event in state.items():
            if (
                event_type == "m.room.member"
                and event.content.get("membership") == "ban"
                and target not in new_creators
            ):
                copied.append(
                    EventSpec("m.room.member", {"membership": "ban"}, user_id, state_key=target)
                )

        specs = [
            EventSpec("m.room.create", create, user_id, state_key=""),
            EventSpec("m.room.member", member, user_id, state_key=user_id),
        ]
        needed = _needed_level(copied, power_levels)
        own = None if user_id in new_creators else as_int(power_levels["users"].get(user_id))
        own_level = own if own is not None else as_int(power_levels.get("users_default")) or 0
        if user_id not in new_creators and own_level < needed:
            # Send the copied state with enough power, then the real levels.
            boosted = copy.deepcopy(power_levels)
            boosted["users"][user_id] = needed
            specs.append(EventSpec("m.room.power_levels", boosted, user_id, state_key=""))
            specs += copied
            specs.append(EventSpec("m.room.power_levels", power_levels, user_id, state_key=""))
        else:
            specs.append(EventSpec("m.room.power_levels", power_levels, user_id, state_key=""))
            specs += copied
        return specs

    async def _close_old_room(
        self,
        user_id: str,
        room_id: str,
        new_room_id: str,
        state: dict[tuple[str, str], StoredEvent],
        was_published: bool,
    ) -> None:
        await self._events.send(
            room_id,
            EventSpec(
                "m.room.tombstone",
                {"body": TOMBSTONE_BODY, "replacement_room": new_room_id},
                user_id,
                state_key="",
            ),
        )
        if was_published:
            await self._rooms.set_published(room_id, False)
        alias = state.get(("m.room.canonical_alias", ""))
        if alias is not None and alias.content:
            await self._try_send(
                room_id, EventSpec("m.room.canonical_alias", {}, user_id, state_key="")
            )
        old_pl = state.get(("m.room.power_levels", ""))
        if old_pl is not None:
            restricted = _restricted_power_levels(old_pl.content)
            if restricted is not None:
                await self._try_send(
                    room_id, EventSpec("m.room.power_levels", restricted, user_id, state_key="")
                )

    async def _try_send(self, room_id: str, spec: EventSpec) -> None:
        """Best effort: the upgrader may lack the power for these finishing touches."""
        try:
            await self._events.send(room_id, spec)
        except MatrixError as exc:
            if exc.errcode != "M_FORBIDDEN":
                raise


def _additional_creators(raw: object, user_id: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(u, str) for u in raw):
        raise bad_json("'additional_creators' must be a list of user IDs")
    for user in raw:
        if not is_valid_user_id(user):
            raise invalid_param(f"Invalid user ID in 'additional_creators': {user!r}")
    return [u for u in dict.fromkeys(raw) if u != user_id]


def _top_level(content: JsonDict) -> int:
    """The highest level this power levels content mentions (at least 100)."""
    levels = [100]
    for key in ("users", "events"):
        mapping = content.get(key)
        if isinstance(mapping, dict):
            levels += [v for v in map(as_int, mapping.values()) if v is not None]
    for key in (
        "users_default",
        "events_default",
        "state_default",
        "ban",
        "kick",
        "redact",
        "invite",
    ):
        value = as_int(content.get(key))
        if value is not None:
            levels.append(value)
    return max(levels)


def _carry_power_levels(
    old: JsonDict | None,
    old_creators: set[str],
    user_id: str,
    user_level: float,
    new_creators: set[str],
) -> JsonDict:
    """The old room's levels, adjusted to who holds creator power in each version.

    Old privileged creators who are not creators of the new room keep the top
    level; the new room's creators (v12+) must not be listed in ``users``.
    """
    content: JsonDict = copy.deepcopy(old) if old else {}
    users = content.get("users")
    users = dict(users) if isinstance(users, dict) else {}
    top = _top_level(content)
    for creator in old_creators:
        if creator not in new_creators:
            users[creator] = max(as_int(users.get(creator)) or 0, top)
    if user_id not in new_creators:
        # The upgrader could send the tombstone; keep that power in the new room.
        current = as_int(users.get(user_id))
        wanted = top if user_level == float("inf") else int(user_level)
        users[user_id] = max(current or 0, wanted)
    for creator in new_creators:
        users.pop(creator, None)
    content["users"] = users
    return content


def _needed_level(specs: list[EventSpec], power_levels: JsonDict) -> int:
    needed = 0
    for spec in specs:
        if spec.event_type == "m.room.member":
            # Membership events answer to the ban level alone.
            needed = max(needed, action_power_level("ban", power_levels))
            continue
        needed = max(needed, event_power_level(spec.event_type, True, power_levels))
    return needed


def _restricted_power_levels(content: JsonDict) -> JsonDict | None:
    """Old room levels with talking and inviting raised above ordinary members."""
    users_default = as_int(content.get("users_default")) or 0
    restricted_level = max(50, users_default + 1)
    updated = dict(content)
    changed = False
    for key, default in (("events_default", 0), ("invite", 0)):
        current = as_int(content.get(key))
        if (current if current is not None else default) < restricted_level:
            updated[key] = restricted_level
            changed = True
    return updated if changed else None
