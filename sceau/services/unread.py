"""Unread notification counts, from push rules evaluated as each event is written.

A persist hook runs inside the event's write transaction: it evaluates the
push rules of every joined local member but the sender (rulesets, room
context and members' display names are loaded once per event, not per user)
and records one row per notified user, with the actions its rules gave. A
receipt moves the rows it covers to the notification history, so a room's
counts are simply the rows left. Encrypted events are evaluated
as they are, so ``m.room.encrypted`` matches ``.m.rule.encrypted``.
"""

from collections import OrderedDict
from typing import Any

from sceau.clock import Clock
from sceau.protocol.power_levels import user_power_level
from sceau.protocol.push_rules import (
    PushContext,
    default_push_rules,
    evaluate_push_rules,
    is_highlight,
    is_notify,
)
from sceau.services.event_types import PersistedEvent
from sceau.services.push import PushRuleService
from sceau.services.sync import SyncContext
from sceau.storage.database import Transaction
from sceau.storage.push import PushAction, PushStore

JsonDict = dict[str, Any]
MAIN_THREAD = "main"

#: The only default rules whose outcome depends on who receives the event.
USER_SPECIFIC_RULES = frozenset(
    {
        ".m.rule.invite_for_me",
        ".m.rule.is_user_mention",
        ".m.rule.contains_display_name",
        ".m.rule.contains_user_name",
    }
)


def thread_of(content: Any) -> str:
    """The thread an event belongs to: its root's ID, or 'main'."""
    relates = content.get("m.relates_to") if isinstance(content, dict) else None
    if isinstance(relates, dict) and relates.get("rel_type") == "m.thread":
        root = relates.get("event_id")
        if isinstance(root, str):
            return root
    return MAIN_THREAD


class UnreadCounter:
    #: Member, power-level and create events by ID, cut to the fields read
    #: here (see _slim). Events never change once written (a redacted member
    #: event may keep its old display name here).
    PDU_CACHE_SIZE = 20_000
    #: Rooms whose joined members were last worked out (see _joined_members).
    JOINED_CACHE_SIZE = 1_000

    def __init__(
        self,
        *,
        server_name: str,
        store: PushStore,
        rules: PushRuleService,
        clock: Clock | None = None,
    ) -> None:
        self._suffix = ":" + server_name
        self._clock = clock
        self._store = store
        self._rules = rules
        self._pdus: OrderedDict[str, JsonDict] = OrderedDict()
        self._joined: OrderedDict[str, tuple[dict[str, str], dict[str, str]]] = OrderedDict()
        self._shared_defaults = _without_user_specific_rules(default_push_rules("@_:_"))

    async def on_events(self, txn: Transaction, events: list[PersistedEvent]) -> None:
        """Persist hook: record who is notified by each event, in one insert."""
        actions: list[PushAction] = []
        positions = {event.event_id: event.stream_pos for event in events}
        for event in events:
            if event.pdu.get("type") == "m.room.redaction":
                target = _redacted_event_id(event.pdu)
                if target is not None:
                    # The target may be in this very batch, not yet inserted.
                    gone = positions.get(target)
                    actions = [a for a in actions if a.stream_pos != gone]
                    await self._store.forget_event_actions(txn, event.room_id, target)
            actions.extend(await self._actions_for(txn, event))
        if actions:
            await self._store.insert_actions(txn, actions)

    async def _actions_for(self, txn: Transaction, event: PersistedEvent) -> list[PushAction]:
        pdu = event.pdu
        sender = pdu.get("sender")
        members = await self._joined_members(txn, event)
        local = [u for u in members if u != sender and u.endswith(self._suffix)]
        if not local:
            return []
        content = pdu.get("content")
        content = content if isinstance(content, dict) else {}
        power_id = event.state_before.get(("m.room.power_levels", ""))
        create_id = event.state_before.get(("m.room.create", ""))
        wanted = [i for i in (power_id, create_id) if i is not None]
        needs_names = isinstance(content.get("body"), str)
        if needs_names:
            wanted.extend(members[u] for u in local)
        pdus = await self._load(txn, wanted)
        power = _content(pdus.get(power_id or ""))
        create = pdus.get(create_id or "", {})
        sender_level = user_power_level(str(sender), power or None, create, event.room_version)
        rulesets = await self._rules.rulesets(local, txn)
        thread = thread_of(content)
        now = self._clock.time_ms() if self._clock else pdu.get("origin_server_ts")
        actions: list[PushAction] = []
        shared: list[object] | None = None

        def context(user_id: str, display_name: str | None) -> PushContext:
            return PushContext(
                user_id=user_id,
                display_name=display_name,
                room_member_count=len(members),
                power_levels=power,
                sender_power_level=sender_level,
            )

        folded_body = content["body"].casefold() if needs_names else ""
        # What the cheap test needs of the event, worked out once for all members.
        state_key = pdu.get("state_key")
        mentioned = _mentioned_user_ids(content)
        shared_notify = shared_highlight = False
        for user_id in local:
            name = _content(pdus.get(members[user_id])).get("displayname") if needs_names else None
            display_name = name if isinstance(name, str) else None
            if self._rules.has_default_rules(user_id) and not _may_concern(
                user_id, display_name, state_key, mentioned, folded_body
            ):
                # Every user on the defaults who is not named by the event gets
                # the same outcome: evaluate it once for all of them.
                if shared is None:
                    shared = evaluate_push_rules(
                        self._shared_defaults, pdu, context(user_id, display_name)
                    )
                    shared_notify, shared_highlight = is_notify(shared), is_highlight(shared)
                if not shared_notify:
                    continue
                result, highlight = shared, shared_highlight
            else:
                result = evaluate_push_rules(rulesets[user_id], pdu, context(user_id, display_name))
                if not is_notify(result):
                    continue
                highlight = is_highlight(result)
            actions.append(
                PushAction(user_id, event.room_id, event.stream_pos, thread, highlight, result, now)
            )
        return actions

    async def _joined_members(self, txn: Transaction, event: PersistedEvent) -> dict[str, str]:
        """Joined users -> member event ID, in the room state right after ``event``.

        Worked out from the state the event service hands over (no query per
        event); the answer is reused while a room's member events stay the same.
        """
        members = {
            key[1]: event_id
            for key, event_id in event.state_before.items()
            if key[0] == "m.room.member"
        }
        state_key = event.pdu.get("state_key")
        if event.pdu.get("type") == "m.room.member" and isinstance(state_key, str):
            members[state_key] = event.event_id
        cached = self._joined.get(event.room_id)
        if cached is not None and cached[0] == members:
            self._joined.move_to_end(event.room_id)
            return cached[1]
        pdus = await self._load(txn, list(members.values()))
        joined = {
            user_id: event_id
            for user_id, event_id in members.items()
            if _content(pdus.get(event_id)).get("membership") == "join"
        }
        self._joined[event.room_id] = (members, joined)
        while len(self._joined) > self.JOINED_CACHE_SIZE:
            self._joined.popitem(last=False)
        return joined

    async def on_membership(self, user_id: str, room_id: str, membership: str) -> None:
        """Membership hook: unread notifications of a room one has left are dropped."""
        if membership in ("leave", "ban"):
            await self._store.forget_room_actions(user_id, room_id)

    async def sync_section(self, ctx: SyncContext) -> bool:
        """unread_notifications in every joined room entry of the response.

        Runs after the sections that add rooms: a count only changes with a
        new event or one of the user's receipts, which put the room there.
        It never makes a sync return by itself.
        """
        rooms = ctx.response.get("rooms", {}).get("join", {})
        if not rooms:
            return False
        counts = await self._store.unread_counts(ctx.user_id, list(rooms))
        threaded = ctx.filter.room.timeline.unread_thread_notifications
        for room_id, entry in rooms.items():
            per_thread = counts.get(room_id, {})
            if threaded:
                main = per_thread.get(MAIN_THREAD, (0, 0))
                entry["unread_notifications"] = _counts(*main)
                threads = {t: _counts(*c) for t, c in per_thread.items() if t != MAIN_THREAD}
                if threads:
                    entry["unread_thread_notifications"] = threads
            else:
                total = (
                    sum(c[0] for c in per_thread.values()),
                    sum(c[1] for c in per_thread.values()),
                )
                entry["unread_notifications"] = _counts(*total)
        return False

    async def _load(self, txn: Transaction, event_ids: list[str]) -> dict[str, JsonDict]:
        found: dict[str, JsonDict] = {}
        missing = []
        for event_id in event_ids:
            cached = self._pdus.get(event_id)
            if cached is None:
                missing.append(event_id)
            else:
                found[event_id] = cached
        if missing:
            loaded = {
                i: _slim(pdu) for i, pdu in (await self._store.event_pdus(txn, missing)).items()
            }
            found.update(loaded)
            self._pdus.update(loaded)
            while len(self._pdus) > self.PDU_CACHE_SIZE:
                self._pdus.popitem(last=False)
        return found


#: What counting reads of a cached event: membership and display name, power
#: levels, the create event's sender and content (room creators).
_SLIM_KEYS = ("type", "sender", "state_key", "content")


def _slim(pdu: JsonDict) -> JsonDict:
    """The event without hashes, signatures and DAG references: a fifth of its size."""
    return {key: pdu[key] for key in _SLIM_KEYS if key in pdu}


def _without_user_specific_rules(ruleset: JsonDict) -> JsonDict:
    rules = ruleset["global"]
    return {
        "global": {
            kind: [r for r in entries if r["rule_id"] not in USER_SPECIFIC_RULES]
            for kind, entries in rules.items()
        }
    }


def _mentioned_user_ids(content: JsonDict) -> frozenset[str]:
    """The users an event names in ``m.mentions``."""
    mentions = content.get("m.mentions")
    mentioned = mentions.get("user_ids") if isinstance(mentions, dict) else None
    if not isinstance(mentioned, list):
        return frozenset()
    return frozenset(u for u in mentioned if isinstance(u, str))


def _may_concern(
    user_id: str,
    display_name: str | None,
    state_key: object,
    mentioned: frozenset[str],
    folded_body: str,
) -> bool:
    """Whether a user-specific default rule could match (a cheap, generous test).

    Name and localpart matches are case-insensitive whole words, so a
    case-folded substring test never misses one; it may let through a
    non-match, which then gets a full evaluation.
    """
    if state_key == user_id or user_id in mentioned:
        return True
    if folded_body:
        localpart = user_id[1:].split(":", 1)[0]
        if localpart.casefold() in folded_body:
            return True
        if display_name and display_name.casefold() in folded_body:
            return True
    return False


def _redacted_event_id(pdu: JsonDict) -> str | None:
    """The event a redaction targets (top-level before v11, in content from v11)."""
    target = pdu.get("redacts")
    if not isinstance(target, str):
        target = _content(pdu).get("redacts")
    return target if isinstance(target, str) else None


def _content(pdu: JsonDict | None) -> JsonDict:
    content = pdu.get("content") if pdu else None
    return content if isinstance(content, dict) else {}


def _counts(notifications: int, highlights: int) -> dict[str, int]:
    return {"notification_count": notifications, "highlight_count": highlights}
