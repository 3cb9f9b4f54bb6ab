"""Room creation and membership: createRoom, join, invite, leave, kick, ban, knock.

Membership changes are ordinary state events; this service decides their
content (profile, reason, restricted-join authorisation) and leaves the
allow-or-deny decision to the authorization rules in the protocol core.
"""

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from sceau.config import Config
from sceau.errors import (
    MatrixError,
    bad_json,
    forbidden,
    invalid_param,
    not_found,
    room_in_use,
    unsupported_room_version,
)
from sceau.protocol.identifiers import is_valid_room_alias, is_valid_user_id
from sceau.protocol.power_levels import default_power_levels
from sceau.protocol.room_versions import RoomVersion, get_room_version
from sceau.protocol.types import JsonDict
from sceau.services.aliases import resolve_room_id
from sceau.services.events import EventService, EventSpec
from sceau.services.room_power import room_power
from sceau.storage.accounts import AccountStore
from sceau.storage.events import EventStore
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore

PRESETS = ("private_chat", "public_chat", "trusted_private_chat")


class RoomService:
    def __init__(
        self,
        *,
        config: Config,
        events: EventService,
        event_store: EventStore,
        rooms: RoomStore,
        state: StateStore,
        accounts: AccountStore,
        random_id: Callable[[], str] | None = None,
    ) -> None:
        self._config = config
        self._server_name = config.server_name
        self._events = events
        self._event_store = event_store
        self._rooms = rooms
        self._state = state
        self._accounts = accounts
        self._random_id = random_id or (
            lambda: secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
        )
        #: Called after a local user's membership changes (e.g. device-list tracking).
        self.membership_hooks: list[Callable[[str, str, str], Awaitable[None]]] = []
        #: Called before a joined local user leaves, while they may still send (policy).
        self.leave_hooks: list[Callable[[str, str], Awaitable[None]]] = []
        #: Joins, invites and rejections that involve other servers (set by the
        #: federation wiring; None: federation is off and they are refused).
        self.remote: Any = None
        #: A remote user's profile (set by the federation wiring), so that an invite
        #: names its invitee as one to a local user does.
        self.remote_profile: Callable[[str], Awaitable[dict[str, str] | None]] | None = None
        #: Check and complete a createRoom request before it runs (the state's defaults).
        self.create_hooks: list[Callable[[str, JsonDict], Awaitable[JsonDict]]] = []

    # ------------------------------------------------------------- createRoom

    async def create_room(self, creator: str, body: JsonDict) -> str:
        """POST /createRoom: validate everything first, then write the room in one go."""
        for hook in self.create_hooks:
            body = await hook(creator, body)
        version = self._room_version(body.get("room_version"))
        preset = body.get("preset")
        visibility = body.get("visibility", "private")
        if visibility not in ("public", "private"):
            raise bad_json("'visibility' must be 'public' or 'private'")
        if preset is None:
            preset = "public_chat" if visibility == "public" else "private_chat"
        if preset not in PRESETS:
            raise bad_json(f"'preset' must be one of {', '.join(PRESETS)}")
        invitees = _string_list(body, "invite")
        invite_3pid = body.get("invite_3pid", [])
        if not isinstance(invite_3pid, list):
            raise bad_json("'invite_3pid' must be a list")
        if invite_3pid:
            raise forbidden("Third-party invites are not enabled on this server")
        for user_id in invitees:
            if not is_valid_user_id(user_id):
                raise invalid_param(f"Invalid user ID to invite: {user_id!r}")
        alias = self._requested_alias(body)
        if alias is not None and await self._rooms.get_alias(alias) is not None:
            raise room_in_use()
        creation_content = _object(body, "creation_content")
        override = _object(body, "power_level_content_override")
        is_direct = body.get("is_direct", False)
        if not isinstance(is_direct, bool):
            raise bad_json("'is_direct' must be a boolean")
        initial_state = self._initial_state(body)

        create_content: JsonDict = {**creation_content, "room_version": version.identifier}
        if version.creator_in_create_content:
            create_content["creator"] = creator
        additional = create_content.get("additional_creators", [])
        if (
            version.privileged_creators
            and additional
            and not (isinstance(additional, list) and all(is_valid_user_id(u) for u in additional))
        ):
            raise bad_json("'additional_creators' must be a list of user IDs")

        specs = [
            EventSpec("m.room.create", create_content, creator, state_key=""),
            EventSpec(
                "m.room.member",
                await self._member_content(creator, "join"),
                creator,
                state_key=creator,
            ),
        ]
        trusted = invitees if preset == "trusted_private_chat" else []
        power_levels = default_power_levels(
            creator,
            version,
            trusted,
            additional_creators=additional if version.privileged_creators else (),
            preset=preset,
            override=override or None,
        )
        specs.append(EventSpec("m.room.power_levels", power_levels, creator, state_key=""))
        if alias is not None:
            specs.append(
                EventSpec("m.room.canonical_alias", {"alias": alias}, creator, state_key="")
            )
        preset_state = {
            ("m.room.join_rules", ""): {
                "join_rule": "public" if preset == "public_chat" else "invite"
            },
            ("m.room.history_visibility", ""): {"history_visibility": "shared"},
        }
        if preset != "public_chat":
            preset_state[("m.room.guest_access", "")] = {"guest_access": "can_join"}
        for key, content in preset_state.items():
            if key not in initial_state:
                specs.append(EventSpec(key[0], content, creator, state_key=key[1]))
        for (event_type, state_key), content in initial_state.items():
            specs.append(EventSpec(event_type, content, creator, state_key=state_key))
        for field_name, event_type in (("name", "m.room.name"), ("topic", "m.room.topic")):
            value = body.get(field_name)
            if value is not None:
                if not isinstance(value, str):
                    raise bad_json(f"'{field_name}' must be a string")
                content = {"name": value} if field_name == "name" else {"topic": value}
                specs.append(EventSpec(event_type, content, creator, state_key=""))
        if (
            self._should_encrypt(preset, visibility)
            and ("m.room.encryption", "") not in initial_state
        ):
            specs.append(
                EventSpec(
                    "m.room.encryption",
                    {"algorithm": "m.megolm.v1.aes-sha2"},
                    creator,
                    state_key="",
                )
            )
        # Users of other servers are invited once the room exists: their
        # server countersigns each invite (see invite()).
        remote_invitees = [u for u in invitees if u.split(":", 1)[1] != self._server_name]
        invitees = [u for u in invitees if u not in remote_invitees]
        for user_id in invitees:
            content = await self._member_content(user_id, "invite")
            if is_direct:
                content["is_direct"] = True
            specs.append(EventSpec("m.room.member", content, creator, state_key=user_id))

        room_id = (
            None
            if version.room_id_from_create_event
            else f"!{self._random_id()}:{self._server_name}"
        )
        room_id = await self._events.create_room(
            version,
            room_id,
            creator,
            specs,
            published=visibility == "public",
            extra_write=self._alias_writer(alias, creator) if alias else None,
        )
        await self._membership_changed(creator, room_id, "join")
        for user_id in invitees:
            await self._membership_changed(user_id, room_id, "invite")
        for user_id in remote_invitees:
            await self.invite(creator, room_id, user_id)
        return room_id

    def _alias_writer(self, alias: str, creator: str) -> Callable[[Any, str], Awaitable[None]]:
        async def write(txn: Any, room_id: str) -> None:
            if not await self._rooms.insert_alias(txn, alias, room_id, creator):
                raise room_in_use()

        return write

    def _room_version(self, requested: object) -> RoomVersion:
        if requested is None:
            requested = self._config.default_room_version
        if not isinstance(requested, str):
            raise bad_json("'room_version' must be a string")
        version = get_room_version(requested)
        if version is None:
            raise unsupported_room_version(requested)
        return version

    def _requested_alias(self, body: JsonDict) -> str | None:
        name = body.get("room_alias_name")
        if name is None:
            return None
        if not isinstance(name, str) or not name or ":" in name or any(c.isspace() for c in name):
            raise invalid_param(
                "'room_alias_name' must be a non-empty localpart without ':' or spaces"
            )
        alias = f"#{name}:{self._server_name}"
        if not is_valid_room_alias(alias):
            raise invalid_param("Invalid room alias")
        return alias

    def _initial_state(self, body: JsonDict) -> dict[tuple[str, str], JsonDict]:
        raw = body.get("initial_state", [])
        if not isinstance(raw, list):
            raise bad_json("'initial_state' must be a list")
        result: dict[tuple[str, str], JsonDict] = {}
        for entry in raw:
            if not isinstance(entry, dict):
                raise bad_json("'initial_state' entries must be objects")
            event_type = entry.get("type")
            state_key = entry.get("state_key", "")
            content = entry.get("content")
            if (
                not isinstance(event_type, str)
                or not isinstance(state_key, str)
                or not isinstance(content, dict)
            ):
                raise bad_json(
                    "'initial_state' entries need a string type, string state_key and object content"
                )
            if event_type in ("m.room.create", "m.room.member", "m.room.power_levels"):
                raise bad_json(f"'initial_state' may not set {event_type}")
            result[(event_type, state_key)] = content
        return result

    def _should_encrypt(self, preset: str, visibility: str) -> bool:
        policy = self._config.encryption.encrypt_new_rooms
        if policy == "all":
            return True
        if policy == "not_public":
            return preset != "public_chat" and visibility != "public"
        return False

    # -------------------------------------------------------------- membership

    async def resolve_room(self, room_id_or_alias: str) -> str:
        return await resolve_room_id(self._rooms, room_id_or_alias)

    async def join(
        self,
        user_id: str,
        room_id_or_alias: str,
        reason: str | None = None,
        servers: list[str] | None = None,
    ) -> str:
        room_id, servers = await self._resolve_for_join(room_id_or_alias, servers or [])
        room = await self._rooms.get_room(room_id)
        if room is None or room.head_state_group is None:
            if self.remote is None:
                raise not_found("Unknown room (federation is not enabled)")
            content = await self._member_content(user_id, "join", reason)
            await self.remote.join(user_id, room_id, servers, content)
            await self._membership_changed(user_id, room_id, "join")
            return room_id
        current = await self._state.membership(room_id, user_id)
        if current == "join":
            return room_id
        content = await self._member_content(user_id, "join", reason)
        if current != "invite":
            authoriser = await self._restricted_join_authoriser(room_id, user_id)
            if authoriser is not None:
                content["join_authorised_via_users_server"] = authoriser
        await self._send_membership(room_id, user_id, user_id, content)
        return room_id

    async def _resolve_for_join(
        self, room_id_or_alias: str, servers: list[str]
    ) -> tuple[str, list[str]]:
        """A room ID, and the servers to join it through; remote aliases asked to their server."""
        alias_server = room_id_or_alias.split(":", 1)[-1]
        if room_id_or_alias.startswith("#") and alias_server != self._server_name:
            if self.remote is None:
                raise not_found("Room alias not found")
            room_id, listed = await self.remote.resolve_alias(room_id_or_alias)
            return room_id, [*servers, *listed]
        return await self.resolve_room(room_id_or_alias), servers

    async def knock(self, user_id: str, room_id_or_alias: str, reason: str | None = None) -> str:
        room_id = await self.resolve_room(room_id_or_alias)
        if await self._rooms.get_room(room_id) is None:
            raise not_found("Unknown room")
        content = await self._member_content(user_id, "knock", reason)
        await self._send_membership(room_id, user_id, user_id, content)
        return room_id

    async def invite(
        self,
        sender: str,
        room_id: str,
        target: str,
        reason: str | None = None,
        third_party_invite: JsonDict | None = None,
    ) -> None:
        """Invite ``target``; ``third_party_invite`` redeems an invitation by email (its
        ``display_name`` and the identity server's ``signed`` block)."""
        if not is_valid_user_id(target):
            raise invalid_param("Invalid user ID")
        remote = target.split(":", 1)[1] != self._server_name
        if remote and self.remote is None:
            raise forbidden("Federation with other servers is not enabled")
        if not remote:
            user = await self._accounts.get_user(target)
            if user is None or user.deactivated:
                raise not_found("Unknown user")
        if await self._state.membership(room_id, target) == "invite":
            return
        await self._require_joined(room_id, sender)
        content = await self._member_content(target, "invite", reason)
        if third_party_invite is not None:
            content["third_party_invite"] = third_party_invite
        if not remote:
            await self._send_membership(room_id, sender, target, content)
            return
        content.update(await self._remote_profile_fields(target))
        countersigner = self.invite_countersigner()
        assert countersigner is not None  # remote is set: checked above

        async def countersign(event_id: str, pdu: JsonDict) -> JsonDict:
            return await countersigner(room_id, event_id, pdu)

        spec = EventSpec(
            "m.room.member", content, sender, state_key=target, countersign=countersign
        )
        await self._events.send(room_id, spec)
        await self._membership_changed(target, room_id, "invite")

    def invite_countersigner(
        self,
    ) -> Callable[[str, str, JsonDict], Awaitable[JsonDict]] | None:
        """What has the invitee's server countersign an invite (None: no federation).

        The room's writer runs it, wherever the invite was asked for.
        """
        remote = self.remote
        if remote is None:
            return None

        async def countersign(room_id: str, event_id: str, pdu: JsonDict) -> JsonDict:
            version = await self._events.room_version(room_id)
            signed: JsonDict = await remote.countersign_invite(room_id, version, event_id, pdu)
            return signed

        return countersign

    async def leave(self, user_id: str, room_id: str, reason: str | None = None) -> None:
        current = await self._state.membership(room_id, user_id)
        if current is None:
            if await self._rooms.get_room(room_id) is None:
                raise not_found("Unknown room")
            raise forbidden("You are not a member of this room")
        if current in ("leave", "ban"):
            return
        if current == "invite" and self.remote is not None:
            room = await self._rooms.get_room(room_id)
            if room is not None and room.head_state_group is None:  # invited from elsewhere
                await self.remote.reject_invite(user_id, room_id, {"membership": "leave"})
                await self._membership_changed(user_id, room_id, "leave")
                return
        if current == "join":
            for hook in self.leave_hooks:
                await hook(user_id, room_id)
        content: JsonDict = {"membership": "leave"}
        if reason:
            content["reason"] = reason
        await self._send_membership(room_id, user_id, user_id, content)

    async def kick(self, sender: str, room_id: str, target: str, reason: str | None) -> None:
        await self._moderate(sender, room_id, target, "leave", reason)

    async def ban(self, sender: str, room_id: str, target: str, reason: str | None) -> None:
        await self._moderate(sender, room_id, target, "ban", reason)

    async def unban(self, sender: str, room_id: str, target: str, reason: str | None) -> None:
        if await self._state.membership(room_id, target) != "ban":
            raise forbidden("User is not banned")
        await self._moderate(sender, room_id, target, "leave", reason)

    async def forget(self, user_id: str, room_id: str) -> None:
        membership = await self._state.membership(room_id, user_id)
        if membership in ("join", "invite", "knock"):
            raise MatrixError(400, "M_UNKNOWN", "Leave the room before forgetting it")
        if membership is None:
            raise not_found("You have never been in this room")
        await self._rooms.forget(user_id, room_id)

    async def leave_all_rooms(self, user_id: str) -> None:
        """On deactivation: leave every joined room, reject invites, withdraw knocks."""
        for membership in await self._state.rooms_for_user(user_id, ("join", "invite", "knock")):
            try:
                await self.leave(user_id, membership.room_id)
            except MatrixError:
                # A room that refuses the leave (e.g. already gone) must not block the rest.
                continue

    async def refresh_profile_in_rooms(self, user_id: str) -> None:
        """After a profile change, send an updated member event to every joined room."""
        for membership in await self._state.rooms_for_user(user_id, ("join",)):
            content = await self._member_content(user_id, "join")
            current = await self._event_store.get_event(membership.event_id)
            if current is not None and current.content == content:
                continue
            await self._events.send(
                membership.room_id, EventSpec("m.room.member", content, user_id, state_key=user_id)
            )

    async def _moderate(
        self, sender: str, room_id: str, target: str, membership: str, reason: str | None
    ) -> None:
        if not is_valid_user_id(target):
            raise invalid_param("Invalid user ID")
        await self._require_joined(room_id, sender)
        if membership == "leave" and await self._state.membership(room_id, target) not in (
            "join",
            "invite",
            "knock",
            "ban",
        ):
            raise forbidden("The user is not in the room")
        content: JsonDict = {"membership": membership}
        if reason:
            content["reason"] = reason
        await self._send_membership(room_id, sender, target, content)

    async def _require_joined(self, room_id: str, user_id: str) -> None:
        membership = await self._state.membership(room_id, user_id)
        if membership != "join":
            if membership is None and await self._rooms.get_room(room_id) is None:
                raise not_found("Unknown room")
            raise forbidden("You are not joined to this room")

    async def _send_membership(
        self, room_id: str, sender: str, target: str, content: JsonDict
    ) -> None:
        await self._events.send(
            room_id, EventSpec("m.room.member", content, sender, state_key=target)
        )
        if content["membership"] == "join" and room_id in await self._rooms.forgotten_rooms(target):
            async with self._events.db_transaction() as txn:
                await self._rooms.unforget(txn, target, room_id)
        await self._membership_changed(target, room_id, content["membership"])

    async def _membership_changed(self, user_id: str, room_id: str, membership: str) -> None:
        for hook in self.membership_hooks:
            await hook(user_id, room_id, membership)

    async def _member_content(
        self, user_id: str, membership: str, reason: str | None = None
    ) -> JsonDict:
        content: JsonDict = {"membership": membership}
        user = await self._accounts.get_user(user_id)
        if user is not None:
            if user.displayname is not None:
                content["displayname"] = user.displayname
            if user.avatar_url is not None:
                content["avatar_url"] = user.avatar_url
        if reason:
            content["reason"] = reason
        return content

    async def _remote_profile_fields(self, user_id: str) -> JsonDict:
        """A remote invitee's name and avatar; none when their server does not give them."""
        if self.remote_profile is None:
            return {}
        try:
            found = await self.remote_profile(user_id) or {}
        except MatrixError:
            return {}
        return {k: v for k, v in found.items() if k in ("displayname", "avatar_url")}

    async def _restricted_join_authoriser(self, room_id: str, user_id: str) -> str | None:
        """For restricted rooms, a local member who may invite vouches for the join."""
        rules_id = await self._state.current_state_event_id(room_id, "m.room.join_rules", "")
        rules = await self._event_store.get_event(rules_id) if rules_id else None
        if rules is None or rules.content.get("join_rule") not in (
            "restricted",
            "knock_restricted",
        ):
            return None
        if not await self._meets_allow_conditions(rules.content, user_id):
            return None
        power = await room_power(self._state, self._event_store, room_id)
        for member in await self._state.members(room_id, "join"):
            if member.endswith(":" + self._server_name) and power.may(member, "invite"):
                return member
        return None

    async def _meets_allow_conditions(self, join_rules: JsonDict, user_id: str) -> bool:
        allow = join_rules.get("allow")
        if not isinstance(allow, list):
            return False
        for condition in allow:
            if isinstance(condition, dict) and condition.get("type") == "m.room_membership":
                other = condition.get("room_id")
                if (
                    isinstance(other, str)
                    and await self._state.membership(other, user_id) == "join"
                ):
                    return True
        return False


def _string_list(body: JsonDict, key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_json(f"'{key}' must be a list of strings")
    return list(dict.fromkeys(value))


def _object(body: JsonDict, key: str) -> JsonDict:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_json(f"'{key}' must be an object")
    return value
