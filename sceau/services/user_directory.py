"""User directory search: find people to talk to without leaking everyone.

Only users who share a joined room with the searcher, or who sit in a public
room, are found (the storage queries decide that), on this server or another:
an agent looks for an external partner by name, and partners live on their
own server. This service parses the request, merges both lists and shapes the
answer.

A user of another server who opted out (``im.vector.hide_profile``) is left
out as far as this server can know it: a Sceau server says so in its
federation profile answer, asked once per user every few minutes. A server
that does not answer in time, or does not say, leaves its users in.
"""

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from sceau.clock import Clock
from sceau.errors import bad_json
from sceau.storage.user_directory import DirectoryUser, UserDirectoryStore

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_WORDS = 8
#: How long a remote user's opt-out, as their server gave it, is trusted.
HIDDEN_TTL_S = 300.0
#: How long a search waits for other servers' answers before showing their users.
HIDDEN_TIMEOUT_S = 2.0
#: Remembered answers, at most (forgotten all at once beyond it).
HIDDEN_CACHE_SIZE = 10_000
_WORD = re.compile(r"\S+")

#: Whether a remote user's own server says they left the directory (set by the federation).
HiddenCheck = Callable[[str], Awaitable[bool]]


class UserDirectoryService:
    def __init__(
        self,
        *,
        store: UserDirectoryStore,
        clock: Clock,
        external_servers: frozenset[str] = frozenset(),
    ) -> None:
        self._store = store
        self._clock = clock
        #: Servers of external partners: their users' entries say so, as their profiles do.
        self._external_servers = external_servers
        self.remote_hidden: HiddenCheck | None = None
        self._hidden: dict[str, tuple[bool, float]] = {}

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
        local = await self._store.search(searcher, words, limit + 1)
        remote = await self._visible(await self._store.search_remote(searcher, words, limit + 1))
        found = sorted([*local, *remote], key=lambda u: (not u.shared, u.user_id))
        return {
            "limited": len(found) > limit,
            "results": [self._entry(user) for user in found[:limit]],
        }

    def _entry(self, user: DirectoryUser) -> dict[str, Any]:
        entry: dict[str, Any] = {"user_id": user.user_id}
        if user.displayname is not None:
            entry["display_name"] = user.displayname
        if user.avatar_url is not None:
            entry["avatar_url"] = user.avatar_url
        if user.user_id.partition(":")[2] in self._external_servers:
            entry["policy"] = {"external": True}
        return entry

    async def _visible(self, users: list[DirectoryUser]) -> list[DirectoryUser]:
        """Remote users whose server has not said they opted out."""
        hidden = await asyncio.gather(*(self._is_hidden(user.user_id) for user in users))
        return [user for user, gone in zip(users, hidden, strict=True) if not gone]

    async def _is_hidden(self, user_id: str) -> bool:
        if self.remote_hidden is None:
            return False
        now = self._clock.monotonic()
        cached = self._hidden.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            hidden = await asyncio.wait_for(self.remote_hidden(user_id), HIDDEN_TIMEOUT_S)
        except TimeoutError:
            hidden = False  # remembered too: a slow server does not slow every search
        if len(self._hidden) >= HIDDEN_CACHE_SIZE:
            self._hidden.clear()
        self._hidden[user_id] = (hidden, now + HIDDEN_TTL_S)
        return hidden
