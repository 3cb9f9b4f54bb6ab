"""The directory opt-out: agents who set ``im.vector.hide_profile`` are not found by search.

The real system's clients write ``{"hide_profile": true}`` to that global
account data type; the server keeps a flag on the user in the same transaction,
so search (one SQL query) can leave them out without reading account data.
"""

from typing import Any

from sceau.storage.accounts import AccountStore
from sceau.storage.database import Transaction

HIDE_PROFILE_TYPE = "im.vector.hide_profile"


class DirectoryOptOut:
    def __init__(self, *, accounts: AccountStore) -> None:
        self._accounts = accounts

    async def on_write(self, txn: Transaction, user_id: str, content: dict[str, Any]) -> None:
        """Account-data hook: the flag follows the content's ``hide_profile``."""
        hidden = content.get("hide_profile") is True
        await self._accounts.set_hidden_from_directory(txn, user_id, hidden)
