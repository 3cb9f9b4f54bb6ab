"""Devices: list, rename and delete the sessions of one's own account.

Deleting a device ends its access tokens in the same transaction; the
``devices_deleted`` hook then lets device-list tracking react.
"""

from typing import TYPE_CHECKING, Any

from sceau.errors import MatrixError, invalid_param, not_found
from sceau.services.auth import Requester, UiaService
from sceau.storage.accounts import AccountStore, DeviceRecord
from sceau.storage.database import Database

if TYPE_CHECKING:
    # Only a type here: accounts imports this module's checks.
    from sceau.services.accounts import AccountHooks

MAX_DEVICE_ID_LENGTH = 255
MAX_DEVICE_NAME_LENGTH = 256
PASSWORD_FLOWS = [["m.login.password"]]


def check_device_id(device_id: str) -> None:
    """A client-chosen device ID: printable, at most 255 bytes (it ends up in URLs and SQL)."""
    if not device_id or len(device_id.encode("utf-8", "surrogatepass")) > MAX_DEVICE_ID_LENGTH:
        raise invalid_param("device_id must be 1 to 255 bytes long")
    if not device_id.isprintable():
        raise invalid_param("device_id must not contain control characters")


def check_device_name(name: str | None) -> None:
    if name is None:
        return
    if len(name) > MAX_DEVICE_NAME_LENGTH:
        raise invalid_param(f"device display name is longer than {MAX_DEVICE_NAME_LENGTH}")
    if "\x00" in name:
        raise invalid_param("device display name must not contain NUL")


def _valid_device_id(device_id: str) -> bool:
    try:
        check_device_id(device_id)
    except MatrixError:
        return False
    return True


class DeviceService:
    def __init__(
        self, *, db: Database, accounts: AccountStore, uia: UiaService, hooks: "AccountHooks"
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._uia = uia
        self._hooks = hooks

    async def list_devices(self, user_id: str) -> list[DeviceRecord]:
        return await self._accounts.get_devices(user_id)

    async def get(self, user_id: str, device_id: str) -> DeviceRecord:
        """One of the user's devices, or M_NOT_FOUND (also for IDs no device can have)."""
        device = (
            await self._accounts.get_device(user_id, device_id)
            if _valid_device_id(device_id)
            else None
        )
        if device is None:
            raise not_found("No such device")
        return device

    async def rename(self, user_id: str, device_id: str, display_name: str | None) -> None:
        """PUT /devices/{deviceId}: a missing display_name leaves the name unchanged."""
        await self.get(user_id, device_id)
        if display_name is None:
            return
        check_device_name(display_name)
        async with self._db.transaction() as txn:
            await self._accounts.rename_device(txn, user_id, device_id, display_name)

    async def delete_one(self, requester: Requester, device_id: str, auth: Any) -> None:
        """DELETE /devices/{deviceId}: an unknown device is M_NOT_FOUND, before any UIA."""
        await self.get(requester.user_id, device_id)
        await self.delete_many(requester, [device_id], auth)

    async def delete_many(self, requester: Requester, device_ids: list[str], auth: Any) -> None:
        """POST /delete_devices, under UIA m.login.password; unknown IDs are skipped."""
        user_id = requester.user_id

        async def check(_stage: str, stage_auth: dict[str, Any]) -> None:
            await self._uia.check_password_stage(user_id, stage_auth)

        await self._uia.run(auth, PASSWORD_FLOWS, check)
        wanted = {d for d in device_ids if _valid_device_id(d)}
        async with self._db.transaction() as txn:
            deleted = [d for d in await self._accounts.device_ids(txn, user_id) if d in wanted]
            for device_id in deleted:
                await self._accounts.delete_device(txn, user_id, device_id)
        await self._hooks.fire_devices_deleted(user_id, deleted)
