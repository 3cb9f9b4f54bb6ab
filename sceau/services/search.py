"""Server-side search (POST /search, category ``room_events``).

Events are indexed as they are persisted (a persist hook, inside the write
transaction) and dropped from the index when redacted. A search covers the
rooms the user is joined to; each hit is then checked against the filter and
history visibility, so the index never decides who sees what.
"""

import re
from collections.abc import Sequence
from typing import Any

from sceau.errors import bad_json, invalid_param
from sceau.protocol.filters import FilterError, RoomEventFilter, parse_room_event_filter
from sceau.protocol.types import JsonDict
from sceau.services.event_types import PersistedEvent
from sceau.services.formatting import EventFormatter
from sceau.services.room_state import RoomStateService
from sceau.services.tokens import position_token
from sceau.storage.database import Transaction
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.search import INDEXED_FIELDS, KEYS, SearchHit, SearchStore, Term, fold
from sceau.storage.state import StateStore

_WORD = re.compile(r"[^\W_]+")
_PHRASE_OR_WORD = re.compile(r'"([^"]*)"|(\S+)')
MAX_TERMS = 16
MAX_SCAN_BATCHES = 5
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_CONTEXT = 20


def parse_search_terms(text: str) -> list[Term]:
    """Words match as prefixes; ``"quoted words"`` must appear together."""
    terms: list[Term] = []
    for match in _PHRASE_OR_WORD.finditer(text):
        phrase, word = match.groups()
        if phrase is not None:
            words = tuple(w.lower() for w in _WORD.findall(phrase) if fold(w))
            if words:
                terms.append(Term(words, prefix=False))
        else:
            terms.extend(Term((w.lower(),)) for w in _WORD.findall(word) if fold(w))
    return terms[:MAX_TERMS]


class SearchService:
    def __init__(
        self,
        *,
        search: SearchStore,
        events: EventStore,
        state: StateStore,
        room_state: RoomStateService,
        formatter: EventFormatter,
    ) -> None:
        self._search = search
        self._events = events
        self._state = state
        self._room_state = room_state
        self._formatter = formatter

    # -------------------------------------------------------------- indexing

    async def index_events(self, txn: Transaction, events: list[PersistedEvent]) -> None:
        """Persist hook: index searchable text; unindex what a redaction removes."""
        for event in events:
            await self._index_event(txn, event)

    async def _index_event(self, txn: Transaction, event: PersistedEvent) -> None:
        pdu = event.pdu
        event_type = pdu.get("type")
        content = pdu.get("content")
        if not isinstance(content, dict):
            return
        if event_type == "m.room.redaction":
            target = content.get("redacts") if event.room_version.redacts_in_content else None
            target = target if isinstance(target, str) else pdu.get("redacts")
            if isinstance(target, str):
                await self._search.remove(txn, target)
            return
        indexed = INDEXED_FIELDS.get(str(event_type))
        if indexed is None:
            return
        field, key = indexed
        state_key = pdu.get("state_key")
        if (event_type == "m.room.message") != (state_key is None):
            return
        if state_key not in (None, ""):
            return
        text = content.get(field)
        if isinstance(text, str) and text.strip():
            await self._search.index(
                txn, event.stream_pos, event.event_id, event.room_id, key, text
            )

    # ------------------------------------------------------------- searching

    async def search(
        self, user_id: str, device_id: str | None, body: JsonDict, next_batch: str | None
    ) -> dict[str, Any]:
        categories = body.get("search_categories")
        if not isinstance(categories, dict):
            raise bad_json("'search_categories' must be an object")
        criteria = categories.get("room_events")
        if criteria is None:
            return {"search_categories": {}}
        if not isinstance(criteria, dict):
            raise bad_json("'room_events' must be an object")
        result = await self._room_events(user_id, device_id, criteria, next_batch)
        return {"search_categories": {"room_events": result}}

    async def _room_events(
        self, user_id: str, device_id: str | None, criteria: JsonDict, next_batch: str | None
    ) -> dict[str, Any]:
        term = criteria.get("search_term")
        if not isinstance(term, str):
            raise bad_json("'search_term' must be a string")
        keys = _keys(criteria.get("keys"))
        order_by = criteria.get("order_by", "rank")
        if order_by not in ("rank", "recent"):
            raise bad_json("'order_by' must be 'rank' or 'recent'")
        event_filter = _filter(criteria.get("filter"))
        context = criteria.get("event_context")
        if context is not None and not isinstance(context, dict):
            raise bad_json("'event_context' must be an object")
        include_state = criteria.get("include_state", False)
        if not isinstance(include_state, bool):
            raise bad_json("'include_state' must be a boolean")
        by_rank = order_by == "rank"
        offset, before = _parse_batch(next_batch, by_rank)
        limit = min(max(event_filter.limit_or(DEFAULT_LIMIT), 1), MAX_LIMIT)

        rooms = [
            m.room_id
            for m in await self._state.rooms_for_user(user_id, ("join",))
            if _room_allowed(event_filter, m.room_id)
        ]
        terms = parse_search_terms(term)
        found: list[tuple[SearchHit, StoredEvent]] = []
        more = False
        for _ in range(MAX_SCAN_BATCHES):
            batch = limit * 2
            hits = await self._search.search(
                terms, rooms, keys, order_by_rank=by_rank, offset=offset, before=before, limit=batch
            )
            kept, consumed = await self._keep(user_id, hits, event_filter, limit - len(found))
            found += kept
            if consumed:
                offset += consumed
                before = hits[consumed - 1].stream_pos
            more = consumed < len(hits) or len(hits) == batch
            if len(found) >= limit or not more:
                break

        events = [event for _, event in found]
        served = await self._formatter.format(events, user_id, device_id)
        served_by_id = {event["event_id"]: event for event in served}
        contexts = await self._contexts(user_id, device_id, events, context) if context else {}
        results = []
        for hit, event in found:
            if event.event_id not in served_by_id:
                continue
            entry: dict[str, Any] = {"rank": hit.rank, "result": served_by_id[event.event_id]}
            if event.event_id in contexts:
                entry["context"] = contexts[event.event_id]
            results.append(entry)
        response: dict[str, Any] = {
            "count": await self._search.count(terms, rooms, keys),
            "highlights": _highlights(terms, events),
            "results": results,
        }
        if more:
            response["next_batch"] = f"o{offset}" if by_rank else f"p{before}"
        groups = _groups(criteria.get("groupings"), events)
        if groups:
            response["groups"] = groups
        if include_state:
            room_ids = sorted({event.room_id for event in events})
            response["state"] = {
                room_id: await self._room_state.full_state(user_id, room_id) for room_id in room_ids
            }
        return response

    async def _keep(
        self, user_id: str, hits: list[SearchHit], event_filter: RoomEventFilter, wanted: int
    ) -> tuple[list[tuple[SearchHit, StoredEvent]], int]:
        """The hits the user may see and the filter allows, and how many hits were used."""
        stored = await self._events.get_events([hit.event_id for hit in hits])
        by_room: dict[str, list[StoredEvent]] = {}
        for hit in hits:
            event = stored.get(hit.event_id)
            if event is not None and not event.redacted_by and event_filter.matches(event.pdu):
                by_room.setdefault(event.room_id, []).append(event)
        visible: set[str] = set()
        for room_events in by_room.values():
            visible.update(
                e.event_id for e in await self._room_state.filter_visible(user_id, room_events)
            )
        kept: list[tuple[SearchHit, StoredEvent]] = []
        consumed = 0
        for hit in hits:
            if len(kept) >= wanted:
                break
            consumed += 1
            if hit.event_id in visible:
                kept.append((hit, stored[hit.event_id]))
        return kept, consumed

    async def _contexts(
        self,
        user_id: str,
        device_id: str | None,
        events: list[StoredEvent],
        options: JsonDict,
    ) -> dict[str, dict[str, Any]]:
        before_limit = _context_limit(options, "before_limit")
        after_limit = _context_limit(options, "after_limit")
        include_profile = options.get("include_profile", False) is True
        contexts: dict[str, dict[str, Any]] = {}
        for event in events:
            before = await self._events.room_events(
                event.room_id, before=event.stream_pos, limit=before_limit, newest_first=True
            )
            after = await self._events.room_events(
                event.room_id, after=event.stream_pos, limit=after_limit, newest_first=False
            )
            before = await self._room_state.filter_visible(user_id, before) if before else []
            after = await self._room_state.filter_visible(user_id, after) if after else []
            context: dict[str, Any] = {
                "start": position_token((before[-1] if before else event).stream_pos - 1),
                "end": position_token((after[-1] if after else event).stream_pos),
                "events_before": await self._formatter.format(before, user_id, device_id),
                "events_after": await self._formatter.format(after, user_id, device_id),
            }
            if include_profile:
                context["profile_info"] = await self._profiles(event, [event, *before, *after])
            contexts[event.event_id] = context
        return contexts

    async def _profiles(
        self, at: StoredEvent, events: list[StoredEvent]
    ) -> dict[str, dict[str, Any]]:
        """Senders' display names and avatars as the room knew them at the result."""
        state = await self._state.get_state_ids(at.state_group)
        senders = {event.sender for event in events}
        wanted = {s: state[("m.room.member", s)] for s in senders if ("m.room.member", s) in state}
        members = await self._events.get_events(wanted.values())
        profiles: dict[str, dict[str, Any]] = {}
        for sender, event_id in wanted.items():
            member = members.get(event_id)
            if member is None:
                continue
            profiles[sender] = {
                k: member.content[k]
                for k in ("displayname", "avatar_url")
                if isinstance(member.content.get(k), str)
            }
        return profiles


def _keys(raw: object) -> list[str]:
    if raw is None:
        return list(KEYS)
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        raise bad_json("'keys' must be a list of strings")
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        raise invalid_param(f"Unsupported search keys: {', '.join(unknown)}")
    return list(dict.fromkeys(raw)) or list(KEYS)


def _filter(raw: object) -> RoomEventFilter:
    if raw is None:
        return RoomEventFilter()
    try:
        return parse_room_event_filter(raw)
    except FilterError as exc:
        raise bad_json(f"Invalid filter: {exc}") from None


def _room_allowed(event_filter: RoomEventFilter, room_id: str) -> bool:
    if event_filter.rooms is not None and room_id not in event_filter.rooms:
        return False
    return room_id not in event_filter.not_rooms


def _parse_batch(token: str | None, by_rank: bool) -> tuple[int, int | None]:
    """(offset, before position) from a ``next_batch`` token."""
    if not token:
        return 0, None
    kind, value = token[:1], token[1:]
    if not value.isdigit() or kind != ("o" if by_rank else "p"):
        raise invalid_param("Invalid 'next_batch' token")
    return (int(value), None) if by_rank else (0, int(value))


def _context_limit(options: JsonDict, key: str) -> int:
    value = options.get(key, 5)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad_json(f"'{key}' must be a non-negative integer")
    return min(value, MAX_CONTEXT)


def _highlights(terms: Sequence[Term], events: list[StoredEvent]) -> list[str]:
    """The searched words, plus the longer words they matched as prefixes."""
    words = {word for term in terms for word in term.words}
    prefixes = tuple(word for term in terms if term.prefix for word in term.words)
    for event in events:
        for field, _ in INDEXED_FIELDS.values():
            text = event.content.get(field)
            if isinstance(text, str) and prefixes:
                words.update(w for w in _WORD.findall(text.lower()) if w.startswith(prefixes))
    return sorted(words)


def _groups(raw: object, events: list[StoredEvent]) -> dict[str, Any]:
    """``groupings.group_by`` over the results of this page (room_id, sender)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("group_by"), list):
        return {}
    groups: dict[str, Any] = {}
    for entry in raw["group_by"]:
        key = entry.get("key") if isinstance(entry, dict) else None
        if key not in ("room_id", "sender"):
            continue
        grouped: dict[str, Any] = {}
        for event in events:
            value = event.room_id if key == "room_id" else event.sender
            group = grouped.setdefault(value, {"results": [], "order": len(grouped) + 1})
            group["results"].append(event.event_id)
        groups[key] = grouped
    return groups
