"""User directory search: find people to talk to without leaking everyone.

Only users who share a joined room with the searcher, or who sit in a public
room, are found (the storage query decides that); this service parses the
request and shapes the answer.
"""

import re
from typing import Any

from sceau.errors import bad_json
from sceau.storage.user_directory import UserDirectoryStore

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_WORDS = 8
_WORD = re.compile(r"\S+")


class UserDirectoryService:
    def __init__(
        self, *, store: UserDirectoryStore, external_servers: frozenset[str] = frozenset()
    ) -> None:
        self._store = store
        #: Servers of external partners: their users' entries say so, as their profiles do.
        self._external_servers = external_servers

    async def search(self, searcher: str, term: object, limit: object) -> dict[str, Any]:
        """POST /user_directory/search."""
        if not isinstance(term, str):
            raise bad_json("'search_term' must be a string")
        if limit is None:
            limit = DEFAULT_LIMIT
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise bad_json("'limit' must be a non-negative integer")
        limit = min(limit, MAX_LIMIT)
        words = [w.lstrip("@") for w in _WORD.findall(term)[:MAX_WORDS]]
        words = [w for w in words if w]
        if not words:
            return {"limited": False, "results": []}
        found = await self._store.search(searcher, words, limit + 1)
        results = []
        for user in found[:limit]:
            entry: dict[str, Any] = {"user_id": user.user_id}
            if user.displayname is not None:
                entry["display_name"] = user.displayname
            if user.avatar_url is not None:
                entry["avatar_url"] = user.avatar_url
            if user.user_id.partition(":")[2] in self._external_servers:
                entry["policy"] = {"external": True}
            results.append(entry)
        return {"limited": len(found) > limit, "results": results}
