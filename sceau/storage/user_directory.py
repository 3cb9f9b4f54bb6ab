"""The user directory: local users a searcher may discover.

A user is visible to a searcher who shares a joined room with them, or when
they are joined to a public room, unless they opted out (``im.vector.hide_profile``) (join rule ``public``, read from
``room_summaries``). Matching is a case-insensitive substring test of every
search word against the user ID or the display name.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sceau.storage.database import Database


@dataclass(frozen=True)
class DirectoryUser:
    user_id: str
    displayname: str | None
    avatar_url: str | None


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class UserDirectoryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(self, searcher: str, words: Sequence[str], limit: int) -> list[DirectoryUser]:
        """Matching users, those sharing a room with the searcher first, then by user ID."""
        clauses = []
        params: list[object] = [searcher]
        for word in words:
            clauses.append(
                "(lower(u.user_id) LIKE ? ESCAPE '\\'"
                " OR lower(COALESCE(u.displayname, '')) LIKE ? ESCAPE '\\')"
            )
            pattern = _like_pattern(word.lower())
            params += [pattern, pattern]
        matching = " AND ".join(clauses) if clauses else "1 = 1"
        rows = await self._db.fetchall(
            "SELECT u.user_id, u.displayname, u.avatar_url, MAX(v.shared) AS shared"
            " FROM users u JOIN ("
            "  SELECT other.state_key AS user_id, 1 AS shared"
            "  FROM current_state mine JOIN current_state other ON other.room_id = mine.room_id"
            "  WHERE mine.type = 'm.room.member' AND mine.state_key = ?"
            "  AND mine.membership = 'join'"
            "  AND other.type = 'm.room.member' AND other.membership = 'join'"
            "  UNION ALL"
            "  SELECT m.state_key AS user_id, 0 AS shared"
            "  FROM room_summaries s JOIN current_state m ON m.room_id = s.room_id"
            "  WHERE s.join_rule = 'public' AND m.type = 'm.room.member'"
            "  AND m.membership = 'join'"
            " ) v ON v.user_id = u.user_id"
            f" WHERE u.deactivated = 0 AND u.hidden_from_directory = 0 AND {matching}"
            " GROUP BY u.user_id, u.displayname, u.avatar_url"
            " ORDER BY shared DESC, u.user_id LIMIT ?",
            *params,
            limit,
        )
        return [DirectoryUser(row[0], row[1], row[2]) for row in rows]
