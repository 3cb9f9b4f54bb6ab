"""Push rules (the spec's defaults merged with each user's own) and pushers.

The ruleset of a user is the server-default rules, with the user's changes to
their ``enabled`` flag and actions, plus the user's own rules: in each kind
the user's rules come before the defaults, except that ``.m.rule.master``
stays first. Assembled rulesets are kept in a bounded cache that only this
service's writes invalidate; the unread counter reads them for every event.
Pushers are stored for a later delivery service; nothing is sent yet.
"""

import copy
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from sceau.clock import Clock
from sceau.errors import bad_json, invalid_param, missing_param, not_found
from sceau.notifier import Notifier
from sceau.protocol.push_rules import (
    RULE_KINDS,
    PushRuleError,
    default_push_rules,
    validate_push_rule,
)
from sceau.services.account_data import add_global_account_data, ensure_storable
from sceau.services.sync import SyncContext
from sceau.storage.database import Database, Transaction
from sceau.storage.push import DefaultOverride, PushStore
from sceau.streams import ChangeTracker, StreamIdGenerator

JsonDict = dict[str, Any]
MASTER_RULE = ".m.rule.master"
PUSHER_KINDS = ("http", "email")


class PushRuleService:
    CACHE_SIZE = 10_000

    def __init__(
        self,
        *,
        clock: Clock,
        db: Database,
        stream: StreamIdGenerator,
        notifier: Notifier,
        store: PushStore,
    ) -> None:
        self._clock = clock
        self._db = db
        self._stream = stream
        self._notifier = notifier
        #: Users whose push rules changed, by position (fed by the writes below).
        self.changes = ChangeTracker(stream.current())
        self._store = store
        self._cache: OrderedDict[str, JsonDict] = OrderedDict()
        #: Default rules that name no user, by rule ID: every cached ruleset
        #: holding an identical rule holds this very object (see _assemble).
        self._shared_rules = {
            rule["rule_id"]: rule
            for rules in default_push_rules("@_:_")["global"].values()
            for rule in rules
        }
        #: Users (among those cached) who changed anything from the defaults.
        self._customised: set[str] = set()
        #: Bumped by every write, so a read that raced a write is not cached.
        self._writes = 0
        #: push.allowed_gateways: the only URLs HTTP pushers may point at.
        self.allowed_gateways: frozenset[str] = frozenset()
        #: Called with the user ID after their pushers change (push delivery).
        self.pusher_hooks: list[Callable[[str], Awaitable[None]]] = []

    # ---------------------------------------------------------------- rulesets

    async def ruleset(self, user_id: str) -> JsonDict:
        """``{"global": {kind: [rules]}}`` for GET /pushrules/ (a copy the caller may keep)."""
        return copy.deepcopy((await self.rulesets([user_id]))[user_id])

    async def rulesets(
        self, user_ids: list[str], txn: Transaction | None = None
    ) -> dict[str, JsonDict]:
        """Rulesets of many users at once (for counting); do not mutate them.

        A caller inside a transaction passes it: waiting for a second pool
        connection while holding one deadlocks once every connection is held.
        """
        found = {u: self._cache[u] for u in user_ids if u in self._cache}
        missing = [u for u in user_ids if u not in found]
        if missing:
            writes_before = self._writes
            own = await self._store.user_rules(missing, txn)
            overrides = await self._store.default_overrides(missing, txn)
            cacheable = self._writes == writes_before
            for user_id in missing:
                ruleset = _assemble(user_id, own[user_id], overrides[user_id], self._shared_rules)
                found[user_id] = ruleset
                if not cacheable:
                    continue
                self._cache[user_id] = ruleset
                if any(own[user_id].values()) or overrides[user_id]:
                    self._customised.add(user_id)
            while len(self._cache) > self.CACHE_SIZE:
                evicted, _ = self._cache.popitem(last=False)
                self._customised.discard(evicted)
        return found

    def forget_ruleset(self, user_id: str | None) -> None:
        """Another process changed this user's push rules (None: anyone's)."""
        self._writes += 1
        if user_id is None:
            self._cache.clear()
            self._customised.clear()
        else:
            self._cache.pop(user_id, None)
            self._customised.discard(user_id)

    def has_default_rules(self, user_id: str) -> bool:
        """Whether a user's ruleset (loaded by :meth:`rulesets`) is the untouched default."""
        return user_id in self._cache and user_id not in self._customised

    async def get_rule(self, user_id: str, kind: str, rule_id: str) -> JsonDict:
        rule, _ = await self._find(user_id, kind, rule_id)
        return copy.deepcopy(rule)

    # ----------------------------------------------------------------- writes

    async def put_rule(
        self,
        user_id: str,
        kind: str,
        rule_id: str,
        body: Any,
        before: str | None,
        after: str | None,
    ) -> None:
        """PUT /pushrules/global/{kind}/{ruleId}: add or replace one of the user's rules."""
        _check_kind(kind)
        if rule_id.startswith("."):
            raise invalid_param("Server-default rules cannot be replaced; use /enabled or /actions")
        if kind == "room" and not rule_id.startswith("!"):
            raise invalid_param("Room rules are named after a room ID")
        if kind == "sender" and not rule_id.startswith("@"):
            raise invalid_param("Sender rules are named after a user ID")
        try:
            rule = validate_push_rule(kind, rule_id, body)
        except PushRuleError as exc:
            raise bad_json(f"Invalid push rule: {exc}") from None
        ensure_storable(rule)
        for anchor in (before, after):
            if anchor is not None and anchor.startswith("."):
                raise invalid_param("Rules cannot be placed relative to server-default rules")

        async def write(txn: Transaction) -> None:
            own = (await self._store.user_rules([user_id], txn))[user_id].get(kind, [])
            existing = next((r for r in own if r["rule_id"] == rule_id), None)
            if existing is not None:
                rule["enabled"] = existing.get("enabled", True)
            rules = _place(own, rule, before, after)
            await self._store.set_kind_rules(txn, user_id, kind, rules)

        await self._write(user_id, write)

    async def delete_rule(self, user_id: str, kind: str, rule_id: str) -> None:
        _check_kind(kind)
        if rule_id.startswith("."):
            await self._find(user_id, kind, rule_id)  # 404 for unknown IDs
            raise invalid_param("Server-default rules cannot be deleted")

        async def write(txn: Transaction) -> None:
            own = (await self._store.user_rules([user_id], txn))[user_id].get(kind, [])
            if not any(r["rule_id"] == rule_id for r in own):
                raise not_found("No such push rule")
            rules = [r for r in own if r["rule_id"] != rule_id]
            await self._store.set_kind_rules(txn, user_id, kind, rules)

        await self._write(user_id, write)

    async def set_enabled(self, user_id: str, kind: str, rule_id: str, enabled: Any) -> None:
        if not isinstance(enabled, bool):
            raise bad_json("'enabled' must be a boolean")
        await self._change(user_id, kind, rule_id, "enabled", enabled)

    async def set_actions(self, user_id: str, kind: str, rule_id: str, actions: Any) -> None:
        try:
            # Validating a throw-away rule checks the actions the same way PUT does.
            checked = validate_push_rule("room", "!check:x", {"actions": actions})["actions"]
        except PushRuleError as exc:
            raise bad_json(f"Invalid actions: {exc}") from None
        ensure_storable(checked)
        await self._change(user_id, kind, rule_id, "actions", checked)

    # ------------------------------------------------------------------- sync

    async def sync_section(self, ctx: SyncContext) -> bool:
        """m.push_rules in global account data: at first, then whenever it changed."""
        event: JsonDict = {"type": "m.push_rules"}
        if not ctx.filter.account_data.matches(event):
            return False
        incremental = ctx.since is not None and not ctx.full_state
        if incremental and not self.changes.changed_since(ctx.user_id, ctx.since_stream):
            return False
        changed_at = await self._store.rules_changed_at(ctx.user_id)
        if incremental and not _within(changed_at, ctx):
            return False
        event["content"] = await self.ruleset(ctx.user_id)
        add_global_account_data(ctx, event)
        return True

    async def account_data_content(self, user_id: str) -> JsonDict:
        """GET /user/{userId}/account_data/m.push_rules"""
        return await self.ruleset(user_id)

    # -------------------------------------------------------------- internals

    async def _find(self, user_id: str, kind: str, rule_id: str) -> tuple[JsonDict, bool]:
        """The rule as the user sees it, and whether it is a server default."""
        _check_kind(kind)
        rules = (await self.rulesets([user_id]))[user_id]["global"][kind]
        for rule in rules:
            if rule["rule_id"] == rule_id:
                return rule, bool(rule.get("default"))
        raise not_found("No such push rule")

    async def _change(self, user_id: str, kind: str, rule_id: str, key: str, value: Any) -> None:
        _, is_default = await self._find(user_id, kind, rule_id)

        async def change_default(txn: Transaction) -> None:
            overrides = (await self._store.default_overrides([user_id], txn))[user_id]
            current = overrides.get(rule_id, DefaultOverride(None, None))
            if key == "enabled":
                updated = DefaultOverride(value, current.actions)
            else:
                updated = DefaultOverride(current.enabled, value)
            await self._store.set_default_override(txn, user_id, rule_id, updated)

        async def change_own(txn: Transaction) -> None:
            own = (await self._store.user_rules([user_id], txn))[user_id].get(kind, [])
            if not any(r["rule_id"] == rule_id for r in own):
                raise not_found("No such push rule")
            rules = [{**r, key: value} if r["rule_id"] == rule_id else r for r in own]
            await self._store.set_kind_rules(txn, user_id, kind, rules)

        await self._write(user_id, change_default if is_default else change_own)

    async def _write(self, user_id: str, write: Callable[[Transaction], Awaitable[None]]) -> None:
        """Read, change and mark the ruleset changed in one transaction, then wake the user."""
        self._writes += 1
        async with self._stream.next_position() as pos, self._db.transaction() as txn:
            await write(txn)
            await self._store.mark_rules_changed(txn, user_id, pos)
        self._writes += 1
        self._cache.pop(user_id, None)
        self._customised.discard(user_id)
        self.changes.record(user_id, pos)
        self._notifier.notify_users([user_id])

    # ---------------------------------------------------------------- pushers

    async def user_deactivated(self, user_id: str) -> None:
        """Account hook: a deactivated account gets no more pushes."""
        async with self._db.transaction() as txn:
            await self._store.delete_pushers_of_user(txn, user_id)

    async def pushers(self, user_id: str) -> list[JsonDict]:
        return await self._store.pushers(user_id)

    async def set_pusher(self, user_id: str, body: JsonDict) -> None:
        """POST /pushers/set: store, replace or (kind null) delete a pusher."""
        app_id = _string(body, "app_id", max_len=64)
        pushkey = _string(body, "pushkey", max_len=512)
        if "kind" not in body:
            raise missing_param("kind")
        kind = body["kind"]
        if kind is None:
            async with self._db.transaction() as txn:
                await self._store.delete_pusher(txn, user_id, app_id, pushkey)
            await self._pushers_changed(user_id)
            return
        pusher = _pusher(body, app_id, pushkey, kind)
        if kind == "http" and pusher["data"]["url"] not in self.allowed_gateways:
            raise invalid_param("This push gateway is not approved on this server")
        append = body.get("append", False)
        if not isinstance(append, bool):
            raise bad_json("'append' must be a boolean")
        async with self._db.transaction() as txn:
            if not append:
                await self._store.delete_pushers_of_others(txn, user_id, app_id, pushkey)
            await self._store.upsert_pusher(txn, user_id, pusher, self._clock.time_ms())
        await self._pushers_changed(user_id)

    async def _pushers_changed(self, user_id: str) -> None:
        for hook in self.pusher_hooks:
            await hook(user_id)


# --------------------------------------------------------------------- helpers


def _within(position: int | None, ctx: SyncContext) -> bool:
    """Whether a change at ``position`` is new for this incremental sync."""
    assert ctx.since is not None
    return position is not None and ctx.since.stream < position <= ctx.upto.stream


def _check_kind(kind: str) -> None:
    if kind not in RULE_KINDS:
        raise invalid_param(f"Unknown push rule kind {kind!r}")


def _assemble(
    user_id: str,
    own: dict[str, list[JsonDict]],
    overrides: dict[str, DefaultOverride],
    shared: dict[str, JsonDict],
) -> JsonDict:
    """A user's ruleset; default rules equal to one of ``shared`` are that object.

    Only a few default rules name the user, so a cached ruleset costs those
    and the lists, not a copy of every default rule (about 5 KB a user).
    """
    defaults = default_push_rules(user_id)["global"]
    for rules in defaults.values():
        for index, rule in enumerate(rules):
            change = overrides.get(rule["rule_id"])
            if change is not None and change.enabled is not None:
                rule["enabled"] = change.enabled
            if change is not None and change.actions is not None:
                rule["actions"] = list(change.actions)
            common = shared.get(rule["rule_id"])
            if common is not None and common == rule:
                rules[index] = common
    merged: JsonDict = {}
    for kind in RULE_KINDS:
        user_rules = own.get(kind, [])
        default_rules = defaults.get(kind, [])
        if kind == "override":
            master = [r for r in default_rules if r["rule_id"] == MASTER_RULE]
            rest = [r for r in default_rules if r["rule_id"] != MASTER_RULE]
            merged[kind] = master + user_rules + rest
        else:
            merged[kind] = user_rules + default_rules
    return {"global": merged}


def _place(
    rules: list[JsonDict], rule: JsonDict, before: str | None, after: str | None
) -> list[JsonDict]:
    """The user's rules of one kind with ``rule`` added, replaced or moved."""
    rule_id = rule["rule_id"]
    if before is None and after is None:
        if any(r["rule_id"] == rule_id for r in rules):
            return [rule if r["rule_id"] == rule_id else r for r in rules]
        return [*rules, rule]
    others = [r for r in rules if r["rule_id"] != rule_id]
    anchor = before if before is not None else after
    index = next((i for i, r in enumerate(others) if r["rule_id"] == anchor), None)
    if index is None:
        raise not_found(f"No push rule {anchor!r} to place this rule next to")
    if before is None:
        index += 1
    return [*others[:index], rule, *others[index:]]


def _string(body: JsonDict, key: str, max_len: int) -> str:
    value = body.get(key)
    if value is None:
        raise missing_param(key)
    if not isinstance(value, str):
        raise bad_json(f"'{key}' must be a string")
    if not value:
        raise invalid_param(f"'{key}' must not be empty")
    if len(value.encode()) > max_len:
        raise invalid_param(f"'{key}' is longer than {max_len} bytes")
    return value


def _pusher(body: JsonDict, app_id: str, pushkey: str, kind: Any) -> JsonDict:
    if not isinstance(kind, str):
        raise bad_json("'kind' must be a string or null")
    if kind not in PUSHER_KINDS:
        raise invalid_param("'kind' must be 'http', 'email' or null")
    data = body.get("data")
    if data is None:
        raise missing_param("data")
    if not isinstance(data, dict):
        raise bad_json("'data' must be an object")
    if kind == "http" and not isinstance(data.get("url"), str):
        raise invalid_param("'data.url' is required for http pushers")
    ensure_storable(data)
    pusher: JsonDict = {
        "app_id": app_id,
        "pushkey": pushkey,
        "kind": kind,
        "app_display_name": _string(body, "app_display_name", 1024),
        "device_display_name": _string(body, "device_display_name", 1024),
        "lang": _string(body, "lang", 64),
        "data": data,
    }
    profile_tag = body.get("profile_tag")
    if profile_tag is not None:
        if not isinstance(profile_tag, str):
            raise bad_json("'profile_tag' must be a string")
        pusher["profile_tag"] = profile_tag
    return pusher
