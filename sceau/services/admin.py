"""Server administration through the client API: whois.

Sceau keeps one session per device (each login makes a device with its own
access token) and, per device, the last time and IP address it was seen
(written at most every five minutes by the auth service). The user agent
is not stored, so connections carry ``ip`` and ``last_seen`` only.
"""

from typing import Any

from sceau.errors import forbidden, invalid_param, not_found
from sceau.protocol.identifiers import is_valid_user_id, parse_user_id
from sceau.services.auth import Requester
from sceau.storage.accounts import AccountStore, DeviceRecord

JsonDict = dict[str, Any]


class AdminService:
    def __init__(self, *, server_name: str, accounts: AccountStore) -> None:
        self._server_name = server_name
        self._accounts = accounts

    async def whois(self, requester: Requester, user_id: str) -> JsonDict:
        """GET /admin/whois/{userId}: a server admin about anyone, a user about themselves.

        Permission is checked first, so a non-admin learns nothing about
        whether another user exists. Users of other servers and unknown
        users are 404 M_NOT_FOUND: this server holds no sessions for them
        (Synapse answers 400 for the first and an empty list for the second;
        the spec defines no error here). A malformed ID is 400 M_INVALID_PARAM.
        """
        if user_id != requester.user_id and not requester.is_admin:
            raise forbidden("You are not a server admin")
        if not is_valid_user_id(user_id):
            raise invalid_param("Invalid user ID")
        if parse_user_id(user_id)[1] != self._server_name:
            raise not_found("Can only whois a local user")
        if await self._accounts.get_user(user_id) is None:
            raise not_found("No such user")
        devices = await self._accounts.get_devices(user_id)
        return {
            "user_id": user_id,
            "devices": {
                device.device_id: {"sessions": [{"connections": _connections(device)}]}
                for device in devices
            },
        }


def _connections(device: DeviceRecord) -> list[JsonDict]:
    """The device's last connection, if it was ever seen after logging in."""
    connection: JsonDict = {}
    if device.last_seen_ip is not None:
        connection["ip"] = device.last_seen_ip
    if device.last_seen_ts is not None:
        connection["last_seen"] = device.last_seen_ts
    return [connection] if connection else []
