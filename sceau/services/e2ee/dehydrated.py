"""Dehydrated devices (MSC3814): a device that stays offline yet still receives keys.

The client uploads an encrypted pickle of a device (opaque to the server) plus
its public keys. Others send it room keys like any device; when the user logs
in again, the new device fetches and decrypts those to-device messages.
"""

from typing import Any

from sceau.clock import Clock
from sceau.errors import bad_json, forbidden, missing_param, not_found
from sceau.protocol.types import JsonDict
from sceau.services.e2ee.keys import KeyService
from sceau.services.e2ee.to_device import ToDeviceService
from sceau.storage.accounts import AccountStore
from sceau.storage.database import Database
from sceau.storage.e2ee.dehydrated import DehydratedDeviceStore


class DehydratedDeviceService:
    def __init__(
        self,
        *,
        clock: Clock,
        db: Database,
        store: DehydratedDeviceStore,
        accounts: AccountStore,
        keys: KeyService,
        to_device: ToDeviceService,
    ) -> None:
        self._clock = clock
        self._db = db
        self._store = store
        self._accounts = accounts
        self._keys = keys
        self._to_device = to_device

    async def put(self, user_id: str, body: JsonDict) -> str:
        """Replace the user's dehydrated device with the uploaded one."""
        device_id = body.get("device_id")
        data = body.get("device_data")
        if not isinstance(device_id, str) or not device_id:
            raise missing_param("device_id")
        if not isinstance(data, dict):
            raise missing_param("device_data")
        name = body.get("initial_device_display_name")
        if name is not None and not isinstance(name, str):
            raise bad_json("'initial_device_display_name' must be a string")
        previous = await self._store.get(user_id)
        existing = await self._accounts.get_device(user_id, device_id)
        if existing is not None and (previous is None or previous[0] != device_id):
            raise forbidden("A device with this ID already exists")
        if previous is not None:
            await self._drop(user_id, previous[0])
        async with self._db.transaction() as txn:
            await self._accounts.upsert_device(
                txn, user_id, device_id, name or "Dehydrated device", self._clock.time_ms()
            )
            await self._store.set(txn, user_id, device_id, data)
        await self._keys.upload(user_id, device_id, body)
        await self._keys.device_created(user_id, device_id)
        return device_id

    async def get(self, user_id: str) -> JsonDict:
        found = await self._store.get(user_id)
        if found is None:
            raise not_found("No dehydrated device")
        return {"device_id": found[0], "device_data": found[1]}

    async def delete(self, user_id: str) -> str:
        found = await self._store.get(user_id)
        if found is None:
            raise not_found("No dehydrated device")
        await self._drop(user_id, found[0])
        return found[0]

    async def events(self, user_id: str, device_id: str, next_batch: Any) -> JsonDict:
        found = await self._store.get(user_id)
        if found is None or found[0] != device_id:
            raise not_found("No such dehydrated device")
        after = None
        if next_batch is not None:
            if not (
                isinstance(next_batch, str)
                and next_batch.isascii()
                and next_batch.isdigit()
                and len(next_batch) <= 18
            ):
                raise bad_json("'next_batch' must be a token from a previous response")
            after = int(next_batch)
        events, position = await self._to_device.fetch_for_device(user_id, device_id, after)
        result: JsonDict = {"events": events}
        # No next_batch once the inbox is empty: clients page until it is absent.
        if events and position is not None:
            result["next_batch"] = str(position)
        return result

    async def account_deactivated(self, user_id: str) -> None:
        """Hook: the device itself went with the others; forget its pickle."""
        async with self._db.transaction() as txn:
            await self._store.delete(txn, user_id)

    async def _drop(self, user_id: str, device_id: str) -> None:
        async with self._db.transaction() as txn:
            await self._store.delete(txn, user_id)
            await self._accounts.delete_device(txn, user_id, device_id)
        await self._keys.devices_deleted(user_id, [device_id])
