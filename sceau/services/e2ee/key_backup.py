"""Server-side key backup (/room_keys): encrypted Megolm sessions the server cannot read.

Only the newest backup version accepts uploads. When a session is uploaded
again, the better copy is kept: a verified one beats an unverified one, then
the one that decrypts more history (lower first_message_index), then the one
forwarded fewer times.
"""

from typing import Any

from sceau.errors import MatrixError, bad_json, invalid_param, not_found
from sceau.protocol.types import JsonDict
from sceau.storage.e2ee.key_backup import BackupVersion, KeyBackupStore, RoomKey


def wrong_version(current: int) -> MatrixError:
    return MatrixError(
        403, "M_WRONG_ROOM_KEYS_VERSION", "Wrong backup version", current_version=str(current)
    )


def is_better(new: RoomKey, old: RoomKey) -> bool:
    """Whether ``new`` should replace ``old`` for the same session."""
    if new.is_verified != old.is_verified:
        return new.is_verified
    if new.first_message_index != old.first_message_index:
        return new.first_message_index < old.first_message_index
    return new.forwarded_count < old.forwarded_count


def parse_version(raw: Any) -> int:
    if not _is_number(raw):
        raise not_found("Unknown backup version")
    return int(raw)


def _room_key(room_id: str, session_id: str, data: Any) -> RoomKey:
    if not isinstance(data, dict):
        raise bad_json("Key backup data must be an object")
    fmi, fwd, verified = (
        data.get("first_message_index"),
        data.get("forwarded_count"),
        data.get("is_verified"),
    )
    for name, value in (("first_message_index", fmi), ("forwarded_count", fwd)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**53:
            raise bad_json(f"'{name}' must be a non-negative integer")
    if not isinstance(verified, bool):
        raise bad_json("'is_verified' must be a boolean")
    if not isinstance(data.get("session_data"), dict):
        raise bad_json("'session_data' must be an object")
    return RoomKey(room_id, session_id, fmi, fwd, verified, data["session_data"])  # type: ignore[arg-type]


class KeyBackupService:
    def __init__(self, store: KeyBackupStore) -> None:
        self._store = store

    # --------------------------------------------------------------- versions

    async def create_version(self, user_id: str, body: JsonDict) -> str:
        algorithm, auth_data = _version_fields(body)
        return str(await self._store.create_version(user_id, algorithm, auth_data))

    async def get_version(self, user_id: str, raw_version: str | None) -> JsonDict:
        version = None if raw_version is None else parse_version(raw_version)
        found = await self._store.get_version(user_id, version)
        if found is None:
            raise not_found(
                "No current backup version" if version is None else "Unknown backup version"
            )
        return {
            "algorithm": found.algorithm,
            "auth_data": found.auth_data,
            "version": str(found.version),
            "count": await self._store.count(user_id, found.version),
            "etag": str(found.etag),
        }

    async def update_version(self, user_id: str, raw_version: str, body: JsonDict) -> None:
        found = await self._require(user_id, raw_version)
        algorithm, auth_data = _version_fields(body)
        if "version" in body and body["version"] != raw_version:
            raise invalid_param("The version in the body does not match the path")
        if algorithm != found.algorithm:
            raise invalid_param("Algorithm does not match")
        await self._store.update_auth_data(user_id, found.version, auth_data)

    async def delete_version(self, user_id: str, raw_version: str) -> None:
        found = await self._require(user_id, raw_version)
        await self._store.delete_version(user_id, found.version)

    async def _require(self, user_id: str, raw_version: str) -> BackupVersion:
        found = await self._store.get_version(user_id, parse_version(raw_version))
        if found is None:
            raise not_found("Unknown backup version")
        return found

    async def account_deactivated(self, user_id: str) -> None:
        """Hook: a closed account's encrypted backups are deleted."""
        await self._store.delete_user(user_id)

    # ------------------------------------------------------------------- keys

    async def upload(
        self, user_id: str, raw_version: str | None, rooms: dict[str, dict[str, Any]]
    ) -> JsonDict:
        """PUT keys into the current version; ``rooms`` is {room: {session: data}}."""
        current = await self._store.get_version(user_id, None)
        if current is None:
            raise not_found("No current backup version")
        if raw_version is None:
            raise MatrixError(400, "M_MISSING_PARAM", "Missing parameter: version")
        if not _is_number(raw_version) or int(raw_version) != current.version:
            raise wrong_version(current.version)
        uploaded = [
            _room_key(room_id, session_id, data)
            for room_id, sessions in rooms.items()
            for session_id, data in sessions.items()
        ]
        async with self._store.transaction() as txn:
            changed = False
            for key in uploaded:
                old = await self._store.insert_key(txn, user_id, current.version, key)
                if old is None or is_better(key, old):
                    if old is not None:
                        await self._store.put_key(txn, user_id, current.version, key)
                    changed = True
            if changed:
                await self._store.bump_etag(txn, user_id, current.version)
            version = await self._store.get_version(user_id, current.version, txn=txn)
            count = await self._store.count(user_id, current.version, txn=txn)
        assert version is not None
        return {"etag": str(version.etag), "count": count}

    async def get(
        self, user_id: str, raw_version: str | None, room_id: str | None, session_id: str | None
    ) -> JsonDict:
        version = await self._version_for_keys(user_id, raw_version)
        keys = await self._store.get_keys(user_id, version.version, room_id, session_id)
        if session_id is not None:
            if not keys:
                raise not_found("No backup found for this session")
            return keys[0].to_json()
        if room_id is not None:
            return {"sessions": {k.session_id: k.to_json() for k in keys}}
        rooms: JsonDict = {}
        for key in keys:
            rooms.setdefault(key.room_id, {"sessions": {}})["sessions"][key.session_id] = (
                key.to_json()
            )
        return {"rooms": rooms}

    async def delete(
        self, user_id: str, raw_version: str | None, room_id: str | None, session_id: str | None
    ) -> JsonDict:
        version = await self._version_for_keys(user_id, raw_version)
        await self._store.delete_keys(user_id, version.version, room_id, session_id)
        after = await self._store.get_version(user_id, version.version)
        assert after is not None
        return {"etag": str(after.etag), "count": await self._store.count(user_id, after.version)}

    async def _version_for_keys(self, user_id: str, raw_version: str | None) -> BackupVersion:
        if raw_version is None:
            raise MatrixError(400, "M_MISSING_PARAM", "Missing parameter: version")
        return await self._require(user_id, raw_version)


def _is_number(raw: Any) -> bool:
    """A decimal position small enough for a BIGINT column."""
    return isinstance(raw, str) and raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18


def _version_fields(body: JsonDict) -> tuple[str, JsonDict]:
    algorithm = body.get("algorithm")
    auth_data = body.get("auth_data")
    if not isinstance(algorithm, str):
        raise MatrixError(400, "M_MISSING_PARAM", "Missing parameter: algorithm")
    if not isinstance(auth_data, dict):
        raise MatrixError(400, "M_MISSING_PARAM", "Missing parameter: auth_data")
    return algorithm, auth_data
