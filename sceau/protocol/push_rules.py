"""Push rules: the server-default ruleset, evaluation, and PUT validation.

Evaluation walks the kinds in priority order (override, content, room,
sender, underride) and returns the actions of the first enabled rule that
matches. Merging a user's own rules with the defaults is the push service's
job; this module only reads the ruleset it is given.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sceau.protocol.power_levels import PowerLevel, notification_power_level
from sceau.protocol.types import JsonDict

RULE_KINDS = ("override", "content", "room", "sender", "underride")
_HISTORICAL_ACTIONS = frozenset({"dont_notify", "coalesce"})
_WORD_CHAR = "A-Za-z0-9_"
_MEMBER_COUNT = re.compile(r"^(==|<=|>=|<|>)?([0-9]+)$")
_SCALAR_TYPES = (str, int, bool, type(None))


class PushRuleError(ValueError):
    """A push rule sent by a client is malformed."""


@dataclass(frozen=True)
class PushContext:
    """What evaluation needs to know besides the event itself."""

    user_id: str
    display_name: str | None
    room_member_count: int
    power_levels: JsonDict
    sender_power_level: PowerLevel


# --- the server-default rules -------------------------------------------------

_SOUND_DEFAULT: JsonDict = {"set_tweak": "sound", "value": "default"}
_HIGHLIGHT: JsonDict = {"set_tweak": "highlight"}


def _match(key: str, pattern: str) -> JsonDict:
    return {"kind": "event_match", "key": key, "pattern": pattern}


def _rule(rule_id: str, conditions: list[JsonDict], actions: list[Any]) -> JsonDict:
    return {
        "rule_id": rule_id,
        "default": True,
        "enabled": True,
        "conditions": conditions,
        "actions": actions,
    }


def default_push_rules(user_id: str, *, legacy_mention_rules: bool = True) -> JsonDict:
    """The server-default ruleset for ``user_id``, in the spec's order.

    ``legacy_mention_rules`` keeps the body-based mention rules
    (``.m.rule.contains_display_name``, ``.m.rule.roomnotif`` and
    ``.m.rule.contains_user_name``) that spec v1.17 removed: clients that do not
    send ``m.mentions`` still rely on them, and Synapse still ships them.
    """
    localpart = user_id[1:].split(":", 1)[0]
    legacy = legacy_mention_rules
    override = [
        {**_rule(".m.rule.master", [], []), "enabled": False},
        _rule(".m.rule.suppress_notices", [_match("content.msgtype", "m.notice")], []),
        _rule(
            ".m.rule.invite_for_me",
            [
                _match("type", "m.room.member"),
                _match("content.membership", "invite"),
                _match("state_key", user_id),
            ],
            ["notify", dict(_SOUND_DEFAULT)],
        ),
        _rule(".m.rule.member_event", [_match("type", "m.room.member")], []),
        _rule(
            ".m.rule.is_user_mention",
            [
                {
                    "kind": "event_property_contains",
                    "key": "content.m\\.mentions.user_ids",
                    "value": user_id,
                }
            ],
            ["notify", dict(_SOUND_DEFAULT), dict(_HIGHLIGHT)],
        ),
        *(
            [
                _rule(
                    ".m.rule.contains_display_name",
                    [{"kind": "contains_display_name"}],
                    ["notify", dict(_SOUND_DEFAULT), dict(_HIGHLIGHT)],
                )
            ]
            if legacy
            else []
        ),
        _rule(
            ".m.rule.is_room_mention",
            [
                {"kind": "event_property_is", "key": "content.m\\.mentions.room", "value": True},
                {"kind": "sender_notification_permission", "key": "room"},
            ],
            ["notify", dict(_HIGHLIGHT)],
        ),
        *(
            [
                _rule(
                    ".m.rule.roomnotif",
                    [
                        _match("content.body", "@room"),
                        {"kind": "sender_notification_permission", "key": "room"},
                    ],
                    ["notify", dict(_HIGHLIGHT)],
                )
            ]
            if legacy
            else []
        ),
        _rule(
            ".m.rule.tombstone",
            [_match("type", "m.room.tombstone"), _match("state_key", "")],
            ["notify", dict(_HIGHLIGHT)],
        ),
        _rule(".m.rule.reaction", [_match("type", "m.reaction")], []),
        _rule(
            ".m.rule.room.server_acl",
            [_match("type", "m.room.server_acl"), _match("state_key", "")],
            [],
        ),
        _rule(
            ".m.rule.suppress_edits",
            [
                {
                    "kind": "event_property_is",
                    "key": "content.m\\.relates_to.rel_type",
                    "value": "m.replace",
                }
            ],
            [],
        ),
    ]
    content = []
    if legacy:
        content.append(
            {
                "rule_id": ".m.rule.contains_user_name",
                "default": True,
                "enabled": True,
                "pattern": localpart,
                "actions": ["notify", dict(_SOUND_DEFAULT), dict(_HIGHLIGHT)],
            }
        )
    one_to_one = {"kind": "room_member_count", "is": "2"}
    underride = [
        _rule(
            ".m.rule.call",
            [_match("type", "m.call.invite")],
            ["notify", {"set_tweak": "sound", "value": "ring"}],
        ),
        _rule(
            ".m.rule.encrypted_room_one_to_one",
            [dict(one_to_one), _match("type", "m.room.encrypted")],
            ["notify", dict(_SOUND_DEFAULT)],
        ),
        _rule(
            ".m.rule.room_one_to_one",
            [dict(one_to_one), _match("type", "m.room.message")],
            ["notify", dict(_SOUND_DEFAULT)],
        ),
        _rule(".m.rule.message", [_match("type", "m.room.message")], ["notify"]),
        _rule(".m.rule.encrypted", [_match("type", "m.room.encrypted")], ["notify"]),
    ]
    return {
        "global": {
            "override": override,
            "content": content,
            "room": [],
            "sender": [],
            "underride": underride,
        }
    }


# --- property paths and matching ------------------------------------------------


def split_dotted_key(key: str) -> list[str]:
    """Split a dot-separated property path, honouring ``\\.`` and ``\\\\`` escapes."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(key):
        char = key[i]
        if char == "\\" and i + 1 < len(key) and key[i + 1] in ".\\":
            current.append(key[i + 1])
            i += 2
            continue
        if char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


_MISSING = object()


def lookup_property(event: JsonDict, key: str) -> Any:
    """The value at a dotted path in the event, or a private sentinel if absent."""
    value: Any = event
    for part in split_dotted_key(key):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _glob_regex(pattern: str, word_boundary: bool) -> re.Pattern[str]:
    body = "".join(".*?" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    if word_boundary:
        body = f"(?<![{_WORD_CHAR}]){body}(?![{_WORD_CHAR}])"
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def glob_matches(pattern: str, value: str, *, word_boundary: bool = False) -> bool:
    """Case-insensitive glob match: whole value, or a word-bounded substring."""
    regex = _glob_regex(pattern, word_boundary)
    if word_boundary:
        return regex.search(value) is not None
    return regex.fullmatch(value) is not None


def _same_scalar(a: Any, b: Any) -> bool:
    """Exact equality without Python's bool/int conflation."""
    if not isinstance(a, _SCALAR_TYPES) or isinstance(a, float):
        return False
    return type(a) is type(b) and a == b


def _member_count_matches(spec: Any, count: int) -> bool:
    if not isinstance(spec, str):
        return False
    found = _MEMBER_COUNT.match(spec)
    if found is None:
        return False
    op, number = found.group(1) or "==", int(found.group(2))
    return {
        "==": count == number,
        "<": count < number,
        ">": count > number,
        "<=": count <= number,
        ">=": count >= number,
    }[op]


def condition_matches(condition: JsonDict, event: JsonDict, ctx: PushContext) -> bool:
    """Whether one push condition holds; unknown kinds never match."""
    kind = condition.get("kind")
    if kind == "event_match":
        key, pattern = condition.get("key"), condition.get("pattern")
        if not isinstance(key, str) or not isinstance(pattern, str):
            return False
        value = lookup_property(event, key)
        if not isinstance(value, str):
            return False
        return glob_matches(pattern, value, word_boundary=key == "content.body")
    if kind == "event_property_is":
        key = condition.get("key")
        if not isinstance(key, str) or "value" not in condition:
            return False
        return _same_scalar(lookup_property(event, key), condition["value"])
    if kind == "event_property_contains":
        key = condition.get("key")
        if not isinstance(key, str) or "value" not in condition:
            return False
        values = lookup_property(event, key)
        if not isinstance(values, list):
            return False
        return any(_same_scalar(item, condition["value"]) for item in values)
    if kind == "contains_display_name":
        body = (event.get("content") or {}).get("body")
        name = ctx.display_name
        if not name or not isinstance(body, str):
            return False
        return _contains_words(name, body)
    if kind == "room_member_count":
        return _member_count_matches(condition.get("is"), ctx.room_member_count)
    if kind == "sender_notification_permission":
        key = condition.get("key")
        if not isinstance(key, str):
            return False
        return ctx.sender_power_level >= notification_power_level(key, ctx.power_levels)
    return False


def _contains_words(text: str, body: str) -> bool:
    """Whether ``text`` appears literally in ``body`` between word boundaries."""
    regex = f"(?<![{_WORD_CHAR}]){re.escape(text)}(?![{_WORD_CHAR}])"
    return re.search(regex, body, re.IGNORECASE) is not None


# --- evaluation -------------------------------------------------------------------


def _rule_matches(kind: str, rule: JsonDict, event: JsonDict, ctx: PushContext) -> bool:
    if kind in ("override", "underride"):
        conditions = rule.get("conditions") or []
        if not isinstance(conditions, list):
            return False
        return all(isinstance(c, dict) and condition_matches(c, event, ctx) for c in conditions)
    if kind == "content":
        pattern = rule.get("pattern")
        body = (event.get("content") or {}).get("body")
        if not isinstance(pattern, str) or not isinstance(body, str):
            return False
        return glob_matches(pattern, body, word_boundary=True)
    if kind == "room":
        return rule.get("rule_id") == event.get("room_id")
    if kind == "sender":
        return rule.get("rule_id") == event.get("sender")
    return False


def clean_actions(actions: Iterable[Any]) -> list[object]:
    """Drop the historical ``dont_notify`` and ``coalesce`` actions."""
    return [a for a in actions if not (isinstance(a, str) and a in _HISTORICAL_ACTIONS)]


def find_matching_rule(
    ruleset: JsonDict, event: JsonDict, ctx: PushContext
) -> tuple[str, JsonDict] | None:
    """The (kind, rule) of the first enabled matching rule, or None."""
    rules = ruleset.get("global", ruleset)
    for kind in RULE_KINDS:
        entries = rules.get(kind) or []
        for rule in entries:
            if not isinstance(rule, dict) or rule.get("enabled", True) is False:
                continue
            if _rule_matches(kind, rule, event, ctx):
                return kind, rule
    return None


def evaluate_push_rules(ruleset: JsonDict, event: JsonDict, ctx: PushContext) -> list[object]:
    """The actions for ``event``: those of the first matching rule, else []."""
    found = find_matching_rule(ruleset, event, ctx)
    if found is None:
        return []
    actions = found[1].get("actions")
    return clean_actions(actions) if isinstance(actions, list) else []


def is_notify(actions: Sequence[object]) -> bool:
    """Whether the actions ask for a notification."""
    return "notify" in actions


def is_highlight(actions: Sequence[object]) -> bool:
    """Whether a ``highlight`` tweak is set (a missing value means true)."""
    for action in actions:
        if isinstance(action, dict) and action.get("set_tweak") == "highlight":
            return action.get("value", True) is True
    return False


def sound_of(actions: Sequence[object]) -> str | None:
    """The ``sound`` tweak's value, if any."""
    for action in actions:
        if isinstance(action, dict) and action.get("set_tweak") == "sound":
            value = action.get("value")
            return value if isinstance(value, str) else None
    return None


# --- validation for PUT /pushrules ------------------------------------------------


def _validate_actions(actions: Any) -> list[object]:
    if not isinstance(actions, list):
        raise PushRuleError("actions must be a list")
    for action in actions:
        if isinstance(action, str):
            if action != "notify" and action not in _HISTORICAL_ACTIONS:
                raise PushRuleError(f"unrecognised action {action!r}")
        elif isinstance(action, dict):
            if not isinstance(action.get("set_tweak"), str):
                raise PushRuleError("action objects need a set_tweak string")
        else:
            raise PushRuleError("actions must be strings or objects")
    return clean_actions(actions)


_CONDITION_STRING_PARAMS: dict[str, tuple[str, ...]] = {
    "event_match": ("key", "pattern"),
    "event_property_is": ("key",),
    "event_property_contains": ("key",),
    "room_member_count": ("is",),
    "sender_notification_permission": ("key",),
}


def _validate_conditions(conditions: Any) -> list[JsonDict]:
    if not isinstance(conditions, list):
        raise PushRuleError("conditions must be a list")
    for condition in conditions:
        if not isinstance(condition, dict) or not isinstance(condition.get("kind"), str):
            raise PushRuleError("each condition must be an object with a kind")
        for param in _CONDITION_STRING_PARAMS.get(condition["kind"], ()):
            if not isinstance(condition.get(param), str):
                raise PushRuleError(f"{condition['kind']} condition needs a string {param}")
        if condition["kind"] in ("event_property_is", "event_property_contains"):
            value = condition.get("value", _MISSING)
            if not isinstance(value, _SCALAR_TYPES) or isinstance(value, float):
                raise PushRuleError("value must be a string, integer, boolean or null")
    return list(conditions)


def validate_push_rule(kind: str, rule_id: str, body: Any) -> JsonDict:
    """Check a client's new rule and return it in stored form.

    Rejects unknown kinds, rule IDs reserved for server defaults (leading
    ``.``) or containing slashes, and malformed actions, conditions or pattern.
    """
    if kind not in RULE_KINDS:
        raise PushRuleError(f"unknown rule kind {kind!r}")
    if not rule_id or rule_id.startswith(".") or "/" in rule_id or "\\" in rule_id:
        raise PushRuleError("invalid rule_id")
    if not isinstance(body, dict):
        raise PushRuleError("rule body must be an object")
    if "actions" not in body:
        raise PushRuleError("actions are required")
    rule: JsonDict = {
        "rule_id": rule_id,
        "default": False,
        "enabled": True,
        "actions": _validate_actions(body["actions"]),
    }
    if kind in ("override", "underride"):
        rule["conditions"] = _validate_conditions(body.get("conditions", []))
    elif kind == "content":
        if not isinstance(body.get("pattern"), str):
            raise PushRuleError("content rules need a string pattern")
        rule["pattern"] = body["pattern"]
    return rule
