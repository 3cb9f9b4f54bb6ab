"""The user directory: the people a searcher may discover.

A user is visible to a searcher who shares a joined room with them, or when
they are joined to a public room (join rule ``public``, read from
``room_summaries``). Local users who opted out (``im.vector.hide_profile``)
are left out. Users of other servers are found too, from the member state of
those rooms: their display name and avatar are the ones their latest join
event carries. Matching is a case-insensitive substring test of every search
word against the user ID or the display name.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sceau.storage.database import Database, any_of

#: Memberships that make a user visible: rooms shared with the searcher, then public rooms.
_VISIBLE = (
    "SELECT other.state_key AS user_id, other.event_id AS event_id, 1 AS shared"
    " FROM current_state mine JOIN current_state other ON other.room_id = mine.room_id"
    " WHERE mine.type = 'm.room.member' AND mine.state_key = ?"
    " AND mine.membership = 'join'"
    " AND other.type = 'm.room.member' AND other.membership = 'join'"
    " UNION ALL"
    " SELECT m.state_key AS user_id, m.event_id AS event_id, 0 AS shared"
    " FROM room_summaries s JOIN current_state m ON m.room_id = s.room_id"
    " WHERE s.join_rule = 'public' AND m.type = 'm.room.member'"
    " AND m.membership = 'join'"
)


@dataclass(frozen=True)
class DirectoryUser:
    user_id: str
    displayname: str | None
    avatar_url: str | None
    #: Whether the user shares a joined room with the searcher (such users come first).
    shared: bool = False


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching(words: Sequence[str], columns: tuple[str, str]) -> tuple[str, list[object]]:
    """Every word in one of ``columns``, case-insensitively."""
    clauses: list[str] = []
    params: list[object] = []
    for word in words:
        clauses.append(" OR ".join(f"lower({c}) LIKE ? ESCAPE '\\'" for c in columns))
        params += [_like_pattern(word.lower())] * len(columns)
    if not clauses:
        return "1 = 1", params
    return " AND ".join(f"({c})" for c in clauses), params


def matches(words: Sequence[str], user_id: str, displayname: str | None) -> bool:
    """The directory's rule, in Python: each word in the user ID or the display name."""
    fields = (user_id.lower(), (displayname or "").lower())
    return all(any(word.lower() in f for f in fields) for word in words)


def _profile_of(pdu_text: str) -> tuple[str | None, str | None]:
    """Display name and avatar from a member event's JSON, when they are strings."""
    try:
        content = json.loads(pdu_text).get("content")
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(content, dict):
        return None, None
    name, avatar = content.get("displayname"), content.get("avatar_url")
    return (
        name if isinstance(name, str) and name else None,
        avatar if isinstance(avatar, str) and avatar else None,
    )


class UserDirectoryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(self, searcher: str, words: Sequence[str], limit: int) -> list[DirectoryUser]:
        """Matching local users, those sharing a room with the searcher first, then by user ID."""
        matching, params = _matching(words, ("u.user_id", "COALESCE(u.displayname, '')"))
        rows = await self._db.fetchall(
            "SELECT u.user_id, u.displayname, u.avatar_url, MAX(v.shared) AS shared"
            f" FROM users u JOIN ({_VISIBLE}) v ON v.user_id = u.user_id"
            f" WHERE u.deactivated = 0 AND u.hidden_from_directory = 0 AND {matching}"
            " GROUP BY u.user_id, u.displayname, u.avatar_url"
            " ORDER BY shared DESC, u.user_id LIMIT ?",
            searcher,
            *params,
            limit,
        )
        return [DirectoryUser(row[0], row[1], row[2], bool(row[3])) for row in rows]

    async def search_remote(
        self, searcher: str, words: Sequence[str], limit: int
    ) -> list[DirectoryUser]:
        """Matching users of other servers, from the member state of the visible rooms.

        SQL narrows the candidates with the search words against the user ID
        and the member event's text; Python then checks the display name of
        the user's latest join (a word may match another field of the JSON).
        """
        matching, params = _matching(words, ("v.user_id", "e.pdu"))
        rows = await self._db.fetchall(
            "SELECT v.user_id, MAX(v.shared) AS shared"
            f" FROM ({_VISIBLE}) v JOIN events e ON e.event_id = v.event_id"
            " WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = v.user_id)"
            f" AND {matching}"
            " GROUP BY v.user_id ORDER BY shared DESC, v.user_id LIMIT ?",
            searcher,
            *params,
            limit,
        )
        shared = {row[0]: bool(row[1]) for row in rows}
        profiles = await self._latest_profiles(list(shared))
        found = []
        for user_id, is_shared in shared.items():
            name, avatar = profiles.get(user_id, (None, None))
            if matches(words, user_id, name):
                found.append(DirectoryUser(user_id, name, avatar, is_shared))
        return found

    async def _latest_profiles(
        self, user_ids: list[str]
    ) -> dict[str, tuple[str | None, str | None]]:
        """Each user's display name and avatar from their most recent join event."""
        if not user_ids:
            return {}
        among, params = any_of(self._db.dialect, "cs.state_key", user_ids)
        rows = await self._db.fetchall(
            "SELECT cs.state_key, e.pdu FROM current_state cs"
            " JOIN events e ON e.event_id = cs.event_id"
            " WHERE cs.type = 'm.room.member' AND cs.membership = 'join'"
            f" AND {among} ORDER BY e.stream_pos",
            *params,
        )
        return {row[0]: _profile_of(row[1]) for row in rows}
