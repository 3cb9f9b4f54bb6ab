"""Profiles: display name and avatar, readable by anyone, writable by their owner.

A committed change fires ``profile_changed`` so the room service can refresh
the user's member events.
"""

import re
from collections.abc import Awaitable, Callable
from typing import Any

from sceau.errors import MatrixError, forbidden, invalid_param, not_found
from sceau.protocol.identifiers import InvalidIdentifier, is_valid_server_name, parse_user_id
from sceau.services.accounts import AccountHooks
from sceau.services.auth import Requester
from sceau.storage.accounts import AccountStore, UserRecord
from sceau.storage.database import Database

MAX_DISPLAYNAME_LENGTH = 256
MAX_AVATAR_URL_LENGTH = 1024
PROFILE_FIELDS = ("displayname", "avatar_url")
_MEDIA_ID = re.compile(r"[A-Za-z0-9_\-]+")


def check_mxc_uri(uri: str) -> None:
    """``mxc://<server-name>/<media-id>``, the only avatar form clients can fetch."""
    server_name, sep, media_id = uri.removeprefix("mxc://").partition("/")
    if (
        not uri.startswith("mxc://")
        or not sep
        or len(uri) > MAX_AVATAR_URL_LENGTH
        or not is_valid_server_name(server_name)
        or not _MEDIA_ID.fullmatch(media_id)
    ):
        raise invalid_param("avatar_url must be an mxc:// URI (mxc://server/media_id) or empty")


def check_displayname(name: str) -> None:
    if len(name) > MAX_DISPLAYNAME_LENGTH:
        raise invalid_param(f"displayname is longer than {MAX_DISPLAYNAME_LENGTH} characters")
    if "\x00" in name:
        raise invalid_param("displayname must not contain NUL")


class ProfileService:
    def __init__(
        self,
        *,
        db: Database,
        accounts: AccountStore,
        hooks: AccountHooks,
        lock_display_name: bool = False,
        external_servers: frozenset[str] = frozenset(),
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._hooks = hooks
        #: policy.lock_display_name: names derived from verified emails stay as they are.
        self._lock_display_name = lock_display_name
        #: Servers of external partners: their users' profiles say so (``policy``).
        self._external_servers = external_servers
        #: Asks a remote user's server for the profile (None: federation off, or the user is
        #: local). Set by the federation wiring.
        self.remote: Callable[[str], Awaitable[dict[str, str] | None]] | None = None

    async def _user(self, user_id: str) -> UserRecord:
        try:
            parse_user_id(user_id)
        except InvalidIdentifier:
            raise invalid_param("Invalid user ID") from None
        user = await self._accounts.get_user(user_id)
        if user is None:
            raise not_found("Profile not found")
        return user

    async def get(self, user_id: str) -> dict[str, Any]:
        """The fields that are set; M_NOT_FOUND for an unknown user.

        An external partner's profile also carries ``policy: {"external": true}``,
        which clients show as a badge.
        """
        profile: dict[str, Any] | None = None
        if self.remote is not None:
            found = await self.remote(user_id)
            if found is not None:
                profile = dict(found)
        if profile is None:
            user = await self._user(user_id)
            fields = {"displayname": user.displayname, "avatar_url": user.avatar_url}
            profile = {k: v for k, v in fields.items() if v is not None}
        server_name = user_id.split(":", 1)[1] if ":" in user_id else ""
        if server_name in self._external_servers:
            profile["policy"] = {"external": True}
        return profile

    async def get_field(self, user_id: str, key: str) -> dict[str, Any]:
        """One field; M_NOT_FOUND if the user does not exist or has not set it."""
        profile = await self.get(user_id)
        if key not in profile:
            raise not_found(f"No {key} set for this user")
        return {key: profile[key]}

    async def set_field(
        self, requester: Requester, user_id: str, key: str, value: str | None
    ) -> None:
        """Set (or, with None or "", clear) one's own displayname or avatar_url."""
        if key not in PROFILE_FIELDS:
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid profile key")
        if user_id != requester.user_id:
            raise forbidden("You may only change your own profile")
        if key == "displayname" and self._lock_display_name:
            raise forbidden("Display names are set from your email address and cannot be changed")
        if value == "":
            value = None
        if value is not None and key == "displayname":
            check_displayname(value)
        elif value is not None:
            check_mxc_uri(value)
        current = await self._user(user_id)
        if getattr(current, key) == value:
            return
        async with self._db.transaction() as txn:
            await self._accounts.set_profile_field(txn, user_id, key, value)
        await self._hooks.fire_profile_changed(user_id)
