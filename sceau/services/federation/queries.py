"""What other servers may ask about this server's users and rooms.

Profiles, aliases, device lists, device and one-time keys, and the public
room list: only ever about local users and rooms; a question about anyone
else's gets M_NOT_FOUND (or an empty answer), never a federated call onward.
"""

from typing import Any

from sceau.errors import invalid_param, not_found
from sceau.protocol.identifiers import is_valid_room_alias, is_valid_user_id
from sceau.protocol.types import JsonDict
from sceau.services.e2ee.keys import KeyService
from sceau.services.federation.outbound import server_of
from sceau.services.federation.remote import HIDE_PROFILE
from sceau.services.profile import ProfileService
from sceau.services.room_directory import DirectoryQuery, RoomDirectoryService
from sceau.storage.accounts import AccountStore
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore
from sceau.streams import StreamIdGenerator


class FederationQueries:
    def __init__(
        self,
        *,
        server_name: str,
        accounts: AccountStore,
        profile: ProfileService,
        rooms: RoomStore,
        state: StateStore,
        keys: KeyService,
        room_directory: RoomDirectoryService,
        stream: StreamIdGenerator,
    ) -> None:
        self._me = server_name
        self._accounts = accounts
        self._profile = profile
        self._rooms = rooms
        self._state = state
        self._keys = keys
        self._directory = room_directory
        self._stream = stream

    def _local(self, user_id: str) -> bool:
        return server_of(user_id) == self._me

    async def profile(self, user_id: str, field: str | None) -> dict[str, str]:
        """GET /query/profile: a local user's profile, or one field of it."""
        if not is_valid_user_id(user_id):
            raise invalid_param("Invalid user ID")
        if field is not None and field not in ("displayname", "avatar_url"):
            raise invalid_param("'field' must be displayname or avatar_url")
        if not self._local(user_id):
            raise not_found("User is not hosted on this server")
        found = await self._profile.get(user_id)
        if field is not None:
            return {field: found[field]} if field in found else {}
        if await self._accounts.is_hidden_from_directory(user_id):
            # Other servers leave the user out of their directory search too (issue 11, 9).
            return {**found, HIDE_PROFILE: True}
        return found

    async def directory(self, alias: str) -> dict[str, Any]:
        """GET /query/directory: the room of a local alias, and servers that can help join."""
        if not is_valid_room_alias(alias):
            raise invalid_param("Invalid room alias")
        found = await self._rooms.get_alias(alias) if server_of(alias) == self._me else None
        if found is None:
            raise not_found("Room alias not found")
        room_id = found[0]
        servers = {server_of(m) for m in await self._state.members(room_id)}
        servers.discard(self._me)
        return {"room_id": room_id, "servers": [self._me, *sorted(servers)]}

    async def user_devices(self, user_id: str) -> JsonDict:
        """GET /user/devices/{userId}: a local user's devices with their keys."""
        if not is_valid_user_id(user_id):
            raise invalid_param("Invalid user ID")
        if not self._local(user_id) or await self._accounts.get_user(user_id) is None:
            raise not_found("User is not hosted on this server")
        queried = await self._keys.query("", {user_id: []})
        with_keys = queried["device_keys"].get(user_id, {})
        devices = []
        for device in await self._accounts.get_devices(user_id):
            entry: JsonDict = {"device_id": device.device_id}
            keys = with_keys.get(device.device_id)
            if keys is None:
                continue  # a device without keys cannot take part in encryption yet
            keys = {k: v for k, v in keys.items() if k != "unsigned"}
            entry["keys"] = keys
            if device.display_name is not None:
                entry["device_display_name"] = device.display_name
            devices.append(entry)
        answer: JsonDict = {
            "user_id": user_id,
            "stream_id": self._stream.current(),
            "devices": devices,
        }
        for section, field in (
            ("master_keys", "master_key"),
            ("self_signing_keys", "self_signing_key"),
        ):
            key = queried.get(section, {}).get(user_id)
            if key is not None:
                answer[field] = key
        return answer

    async def keys_query(self, wanted: Any) -> JsonDict:
        """POST /user/keys/query: local users' device and cross-signing keys."""
        if not isinstance(wanted, dict):
            raise invalid_param("'device_keys' must be an object")
        local = {u: d for u, d in wanted.items() if isinstance(u, str) and self._local(u)}
        answer = await self._keys.query("", local)
        return {
            "device_keys": answer["device_keys"],
            "master_keys": answer.get("master_keys", {}),
            "self_signing_keys": answer.get("self_signing_keys", {}),
        }

    async def keys_claim(self, wanted: Any) -> JsonDict:
        """POST /user/keys/claim: one key per requested device of local users."""
        if not isinstance(wanted, dict):
            raise invalid_param("'one_time_keys' must be an object")
        local = {u: d for u, d in wanted.items() if isinstance(u, str) and self._local(u)}
        answer = await self._keys.claim(local)
        return {"one_time_keys": answer["one_time_keys"]}

    async def public_rooms(self, query: DirectoryQuery) -> dict[str, Any]:
        """GET/POST /publicRooms: this server's published rooms."""
        return await self._directory.public_rooms(query)
