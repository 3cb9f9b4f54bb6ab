"""Full-text search of message bodies, room names and topics.

One interface, two engines: SQLite's FTS5 (ranked by bm25) and PostgreSQL's
tsvector with a GIN index (ranked by ts_rank_cd). The tables come from the
``011_search.<dialect>.sql`` migrations. Queries arrive as a parsed list of
terms, never as raw user text, so neither engine's query syntax can be
injected.
"""

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sceau.storage.database import Database, Transaction, in_clause

#: Event type -> (content field, search key) of the text that gets indexed.
INDEXED_FIELDS: dict[str, tuple[str, str]] = {
    "m.room.message": ("body", "content.body"),
    "m.room.name": ("name", "content.name"),
    "m.room.topic": ("topic", "content.topic"),
}
KEYS = tuple(key for _, key in INDEXED_FIELDS.values())


@dataclass(frozen=True)
class Term:
    """One word, or several words that must follow each other (a quoted phrase)."""

    words: tuple[str, ...]
    prefix: bool = True


@dataclass(frozen=True)
class SearchHit:
    event_id: str
    room_id: str
    stream_pos: int
    rank: float


def fold(text: str) -> str:
    """Strip diacritics, as SQLite's ``remove_diacritics`` does, so both engines agree."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _fts5_query(terms: Sequence[Term]) -> str:
    """Every term must match; words are quoted so FTS5 reads no operators in them."""
    parts = []
    for term in terms:
        phrase = " ".join(word.replace('"', "") for word in term.words)
        parts.append(f'"{phrase}"' + ("*" if term.prefix else ""))
    return " AND ".join(parts)


def _tsquery(terms: Sequence[Term]) -> str:
    """``'a':* & ('b' <-> 'c')`` for to_tsquery('simple', ...)."""
    parts = []
    for term in terms:
        words = [f"'{fold(word).replace(chr(39), '').replace(chr(92), '')}'" for word in term.words]
        if term.prefix:
            words[-1] += ":*"
        parts.append("(" + " <-> ".join(words) + ")" if len(words) > 1 else words[0])
    return " & ".join(parts)


class SearchStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def index(
        self, txn: Transaction, stream_pos: int, event_id: str, room_id: str, key: str, text: str
    ) -> None:
        text = text.replace("\x00", " ")
        if txn.dialect == "postgresql":
            await txn.execute(
                "INSERT INTO event_search (stream_pos, event_id, room_id, key, vector)"
                " VALUES (?, ?, ?, ?, to_tsvector('simple', ?))",
                stream_pos,
                event_id,
                room_id,
                key,
                fold(text),
            )
        else:
            await txn.execute(
                "INSERT INTO event_search (rowid, value, event_id, room_id, key)"
                " VALUES (?, ?, ?, ?, ?)",
                stream_pos,
                text,
                event_id,
                room_id,
                key,
            )

    async def remove(self, txn: Transaction, event_id: str) -> None:
        """Drop an event (redacted) from the index, by its stream position."""
        position = await txn.fetchval("SELECT stream_pos FROM events WHERE event_id = ?", event_id)
        if position is None:
            return
        column = "stream_pos" if txn.dialect == "postgresql" else "rowid"
        await txn.execute(f"DELETE FROM event_search WHERE {column} = ?", int(position))

    async def search(
        self,
        terms: Sequence[Term],
        room_ids: Sequence[str],
        keys: Sequence[str],
        *,
        order_by_rank: bool,
        offset: int,
        before: int | None,
        limit: int,
    ) -> list[SearchHit]:
        """Matching events in these rooms, best rank or most recent first.

        Rank order pages by ``offset``; recency order pages by ``before`` (a
        stream position), which stays stable while new messages arrive.
        """
        if not terms or not room_ids or not keys:
            return []
        source, params, rank = self._match(terms, room_ids, keys)
        if before is not None and not order_by_rank:
            source += f" AND {self._pos} < ?"
            params.append(before)
        order = f"rank DESC, {self._pos} DESC" if order_by_rank else f"{self._pos} DESC"
        rows = await self._db.fetchall(
            f"SELECT event_id, room_id, {self._pos}, {rank} AS rank FROM {source}"
            f" ORDER BY {order} LIMIT ? OFFSET ?",
            *params,
            limit,
            offset if order_by_rank else 0,
        )
        return [SearchHit(row[0], row[1], int(row[2]), float(row[3])) for row in rows]

    async def count(
        self, terms: Sequence[Term], room_ids: Sequence[str], keys: Sequence[str]
    ) -> int:
        if not terms or not room_ids or not keys:
            return 0
        source, params, _ = self._match(terms, room_ids, keys)
        value = await self._db.fetchval(f"SELECT COUNT(*) FROM {source}", *params)
        return int(value or 0)

    @property
    def _pos(self) -> str:
        return "stream_pos" if self._db.dialect == "postgresql" else "rowid"

    def _match(
        self, terms: Sequence[Term], room_ids: Sequence[str], keys: Sequence[str]
    ) -> tuple[str, list[Any], str]:
        """(FROM ... WHERE clause, its parameters, rank expression) for this engine."""
        if self._db.dialect == "postgresql":
            sql = "event_search, to_tsquery('simple', ?) AS query WHERE vector @@ query"
            rank = "ts_rank_cd(vector, query)"
            params: list[Any] = [_tsquery(terms)]
        else:
            sql = "event_search WHERE event_search MATCH ?"
            rank = "-bm25(event_search)"
            params = [_fts5_query(terms)]
        sql += f" AND room_id IN {in_clause(len(room_ids))} AND key IN {in_clause(len(keys))}"
        params += [*room_ids, *keys]
        return sql, params, rank
