"""The state's defaults for new rooms, applied to the createRoom request before it runs.

Every room gets an access rule (``direct`` for DMs, else ``restricted`` unless
asked otherwise), history visible only from the invitation for private rooms
(``shared`` for forums), and power levels where inviting, kicking, banning and
redacting take a moderator (50), room settings an administrator (100), and
joining a call anybody (0). Creators may raise but not lower ``invite`` and
``state_default``. Refusals at creation are 400, each naming its rule.
"""

import copy
from typing import Any

from sceau.errors import MatrixError
from sceau.protocol.types import JsonDict
from sceau.services.policy.access_rules import (
    ACCESS_RULES,
    DIRECT,
    RESTRICTED,
    RULES,
    RoomAccessPolicy,
    check_external_power,
    refusal,
)
from sceau.storage.events import EventStore
from sceau.storage.state import StateStore

MODERATOR, ADMIN = 50, 100
DEFAULT_POWER_LEVELS: JsonDict = {
    "invite": MODERATOR,
    "kick": MODERATOR,
    "ban": MODERATOR,
    "redact": MODERATOR,
    "state_default": ADMIN,
    "events_default": 0,
    "users_default": 0,
    "events": {
        "m.room.name": MODERATOR,
        "m.room.canonical_alias": MODERATOR,
        "m.room.avatar": MODERATOR,
        "m.room.topic": MODERATOR,
        "m.room.power_levels": ADMIN,
        "m.room.history_visibility": ADMIN,
        "m.room.encryption": ADMIN,
        "m.room.tombstone": ADMIN,
        "m.room.server_acl": ADMIN,
        ACCESS_RULES: ADMIN,
        "m.call.member": 0,
        "org.matrix.msc3401.call.member": 0,
        "m.call": 0,
        "org.matrix.msc3401.call": 0,
        "m.beacon_info": 0,
        "org.matrix.msc3672.beacon_info": 0,
    },
}
#: Levels a creator's override may not lower.
_FLOORS = {"invite": MODERATOR, "state_default": ADMIN}


def _bad(code: str, french: str, english: str) -> MatrixError:
    return refusal(code, french, english, status=400)


def _is_forum(body: JsonDict, initial: dict[tuple[str, str], JsonDict]) -> bool:
    preset = body.get("preset")
    if preset is None:
        preset = "public_chat" if body.get("visibility") == "public" else "private_chat"
    join_rules = initial.get(("m.room.join_rules", ""))
    if join_rules is not None:
        return join_rules.get("join_rule") == "public"
    return preset == "public_chat"


def _initial_state(body: JsonDict) -> dict[tuple[str, str], JsonDict]:
    found: dict[tuple[str, str], JsonDict] = {}
    entries = body.get("initial_state", [])
    if not isinstance(entries, list):
        return found
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("content"), dict):
            key = (str(entry.get("type")), str(entry.get("state_key", "")))
            found[key] = entry["content"]
    return found


def merged_power_levels(override: Any) -> JsonDict:
    """The defaults with the creator's override on top, refusing lowered floors."""
    levels = copy.deepcopy(DEFAULT_POWER_LEVELS)
    if not isinstance(override, dict):
        return levels
    for key, floor in _FLOORS.items():
        value = override.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < floor:
            raise _bad(
                "POWER_LEVELS_LOWERED",
                f"Le niveau « {key} » ne peut pas descendre sous {floor}",
                f"'{key}' may not be lowered below {floor}",
            )
    for key, value in override.items():
        if key == "events" and isinstance(value, dict):
            levels["events"].update(value)
        else:
            levels[key] = value
    return levels


class RoomCreationPolicy:
    """RoomService's createRoom hook: checks the request and returns it with the defaults."""

    def __init__(self, *, access: RoomAccessPolicy, state: StateStore, events: EventStore) -> None:
        self._access = access
        self._state = state
        self._events = events

    async def prepare(self, creator: str, body: JsonDict) -> JsonDict:
        body = dict(body)
        initial = _initial_state(body)
        is_direct = body.get("is_direct") is True
        forum = _is_forum(body, initial)
        invitees = [u for u in body.get("invite", []) if isinstance(u, str)]
        rule_content = initial.get((ACCESS_RULES, ""))
        rule = rule_content.get("rule") if rule_content else (DIRECT if is_direct else RESTRICTED)
        if rule not in RULES:
            raise _bad("INVALID_RULE", "Règle d'accès inconnue", "Unknown access rule")
        if forum and rule != RESTRICTED:
            raise _bad(
                "FORUM_RESTRICTED_ONLY",
                "Un forum public est fermé aux partenaires externes",
                "A public forum must be restricted",
            )
        if forum and ("m.room.encryption", "") in initial:
            raise _bad(
                "FORUM_NOT_ENCRYPTED",
                "Un forum public n'est pas chiffré",
                "A public forum is not encrypted",
            )
        await self._check_people(creator, rule, is_direct, invitees)
        levels = merged_power_levels(body.get("power_level_content_override"))
        if rule != RESTRICTED:
            try:
                check_external_power(levels, self._access.is_external)
            except MatrixError as exc:
                raise MatrixError(400, exc.errcode, exc.error, **exc.extra) from None
        body["power_level_content_override"] = levels
        extra = (
            []
            if rule_content
            else [{"type": ACCESS_RULES, "state_key": "", "content": {"rule": rule}}]
        )
        if ("m.room.history_visibility", "") not in initial:
            visibility = "shared" if forum else "invited"
            extra.append(
                {
                    "type": "m.room.history_visibility",
                    "state_key": "",
                    "content": {"history_visibility": visibility},
                }
            )
        entries = body.get("initial_state", [])
        body["initial_state"] = [*(entries if isinstance(entries, list) else []), *extra]
        return body

    async def _check_people(
        self, creator: str, rule: str, is_direct: bool, invitees: list[str]
    ) -> None:
        if rule == DIRECT and len(invitees) > 1:
            raise _bad(
                "DIRECT_ROOM_FULL",
                "Une conversation privée ne réunit que deux personnes",
                "A direct chat has two members at most",
            )
        if rule == RESTRICTED and any(self._access.is_external(u) for u in invitees):
            raise _bad(
                "EXTERNAL_NOT_ALLOWED",
                "Ce salon n'est pas ouvert aux partenaires externes",
                "This room is closed to external partners",
            )
        if not self._access.is_external(creator):
            return
        if not is_direct:
            raise refusal(
                "EXTERNAL_CANNOT_CREATE",
                "Les partenaires externes ne peuvent pas créer de salon",
                "External partners may not create rooms",
            )
        for invitee in invitees:
            if not await self._has_invited(invitee, creator):
                raise refusal(
                    "EXTERNAL_DM_NOT_INVITED",
                    "Un partenaire externe ne peut écrire qu'aux agents qui l'ont invité",
                    "External partners may only message agents who invited them",
                )

    async def _has_invited(self, agent: str, external: str) -> bool:
        """Whether ``agent`` invited ``external`` to a room the external is still in."""
        for membership in await self._state.rooms_for_user(external, ("join", "invite")):
            event_id: str | None = membership.event_id
            # Follow the membership back through the events it replaced (join <- invite).
            for _ in range(_HISTORY_STEPS):
                event = await self._events.get_event(event_id) if event_id else None
                if event is None:
                    break
                if event.content.get("membership") == "invite" and event.sender == agent:
                    return True
                event_id = event.replaces_state
        return False


_HISTORY_STEPS = 5
