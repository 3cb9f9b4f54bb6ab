"""Room access rules: who may be in a room, and what a direct chat or a forum may become.

Each room carries an ``im.vector.room.access_rules`` state event (the real
system's event) whose ``rule`` is one of:

- ``restricted``: the default; users of the external partners' servers may
  neither be invited nor join;
- ``unrestricted``: externals may join, only by invitation, and never hold a
  non-zero power level;
- ``direct``: the default for ``is_direct`` rooms; two members at most (plus one
  pending email invitation), no name, topic or avatar, never public.

The only change allowed is restricted -> unrestricted, and not while the room
is published in the directory. A forum (public join rule) stays public and
unencrypted. Refusals carry a ``policy`` code and a message in French and English.
"""

from dataclasses import dataclass
from typing import Any

from sceau.config import Config
from sceau.errors import MatrixError
from sceau.protocol.identifiers import parse_user_id
from sceau.protocol.types import JsonDict
from sceau.services.events import EventSpec
from sceau.services.policy.email_routing import external_servers
from sceau.storage.events import EventStore
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore

ACCESS_RULES = "im.vector.room.access_rules"
RESTRICTED, UNRESTRICTED, DIRECT = "restricted", "unrestricted", "direct"
RULES = (RESTRICTED, UNRESTRICTED, DIRECT)
_PROFILE_TYPES = ("m.room.name", "m.room.topic", "m.room.avatar")


def refusal(code: str, french: str, english: str, status: int = 403) -> MatrixError:
    """A policy refusal: M_FORBIDDEN, both languages, and a ``policy`` code clients can map."""
    return MatrixError(status, "M_FORBIDDEN", f"{french} / {english}", policy=code)


@dataclass(frozen=True)
class RoomFacts:
    """What the rules need to know about a room's current state."""

    rule: str | None
    join_rule: str | None
    published: bool
    #: Members joined or invited, by user ID.
    members: dict[str, str]
    pending_email_invites: int


def check_rule_change(current: str | None, new: Any, published: bool) -> None:
    if new not in RULES:
        raise refusal("INVALID_RULE", "Règle d'accès inconnue", "Unknown access rule")
    if current is None or current == new:
        return
    if (current, new) != (RESTRICTED, UNRESTRICTED):
        raise refusal(
            "RULE_CHANGE_FORBIDDEN",
            "Un salon ne peut passer que de « restreint » à « ouvert aux externes »",
            "The only change allowed is from restricted to unrestricted",
        )
    if published:
        raise refusal(
            "RULE_CHANGE_WHILE_PUBLISHED",
            "Retirez d'abord le salon de l'annuaire",
            "Remove the room from the directory first",
        )


def check_event(facts: RoomFacts, spec: EventSpec, is_external: Any, direct_limit: int = 2) -> None:
    """Refuse ``spec`` if the room's rule forbids it; ``is_external(user_id)`` names externals."""
    kind, content = spec.event_type, spec.content
    if kind == ACCESS_RULES:
        check_rule_change(facts.rule, content.get("rule"), facts.published)
        return
    if kind == "m.room.member":
        _check_membership(facts, spec, is_external, direct_limit)
    elif kind in _PROFILE_TYPES and facts.rule == DIRECT:
        raise refusal(
            "DIRECT_ROOM_PROFILE",
            "Une conversation privée n'a ni nom, ni sujet, ni image",
            "A direct chat has no name, topic or avatar",
        )
    elif kind == "m.room.join_rules":
        _check_join_rule(facts, content.get("join_rule"))
    elif kind == "m.room.encryption" and facts.join_rule == "public":
        raise refusal(
            "FORUM_NOT_ENCRYPTED",
            "Un forum public n'est pas chiffré",
            "A public forum is not encrypted",
        )
    elif kind == "m.room.power_levels" and facts.rule == UNRESTRICTED:
        check_external_power(content, is_external)
    elif (
        kind == "m.room.third_party_invite"
        and facts.rule == DIRECT
        and content
        and len(facts.members) + facts.pending_email_invites >= direct_limit
    ):
        raise _direct_full()


def _direct_full() -> MatrixError:
    return refusal(
        "DIRECT_ROOM_FULL",
        "Une conversation privée ne réunit que deux personnes",
        "A direct chat has two members at most",
    )


def _check_membership(
    facts: RoomFacts, spec: EventSpec, is_external: Any, direct_limit: int
) -> None:
    membership = spec.content.get("membership")
    target = spec.state_key
    if membership not in ("invite", "join") or target is None:
        return
    if is_external(target):
        if facts.rule == RESTRICTED:
            raise refusal(
                "EXTERNAL_NOT_ALLOWED",
                "Ce salon n'est pas ouvert aux partenaires externes",
                "This room is closed to external partners",
            )
        invited = facts.members.get(target) in ("invite", "join")
        if facts.rule == UNRESTRICTED and membership == "join" and not invited:
            raise refusal(
                "EXTERNAL_NEEDS_INVITE",
                "Un partenaire externe ne rejoint ce salon que sur invitation",
                "External partners join this room only when invited",
            )
    if facts.rule == DIRECT and target not in facts.members:
        # A pending email invitation holds a seat, unless this member is taking it.
        pending = facts.pending_email_invites
        if "third_party_invite" in spec.content:
            pending = max(0, pending - 1)
        if len(facts.members) + pending >= direct_limit:
            raise _direct_full()


def _check_join_rule(facts: RoomFacts, join_rule: Any) -> None:
    if join_rule == "public" and facts.rule == DIRECT:
        raise refusal(
            "DIRECT_ROOM_NOT_PUBLIC",
            "Une conversation privée ne peut pas devenir publique",
            "A direct chat cannot become public",
        )
    if facts.join_rule == "public" and join_rule != "public":
        raise refusal(
            "FORUM_STAYS_PUBLIC",
            "Un forum public reste public",
            "A public forum stays public",
        )


def check_external_power(content: JsonDict, is_external: Any) -> None:
    """In rooms open to externals: ``users_default`` stays 0 and externals hold no power."""
    if content.get("users_default", 0) != 0:
        raise refusal(
            "EXTERNAL_POWER",
            "Dans un salon ouvert aux externes, le niveau par défaut reste 0",
            "In a room open to externals, users_default stays 0",
        )
    users = content.get("users")
    if isinstance(users, dict):
        for user, level in users.items():
            if is_external(user) and level != 0:
                raise refusal(
                    "EXTERNAL_POWER",
                    "Un partenaire externe ne peut pas recevoir de droits",
                    "External partners may not hold a power level",
                )


class RoomAccessPolicy:
    """Reads a room's facts and applies the rules to each local event."""

    def __init__(
        self, *, config: Config, state: StateStore, events: EventStore, rooms: RoomStore
    ) -> None:
        self._external_servers = external_servers(config)
        self._state = state
        self._events = events
        self._rooms = rooms

    def is_external(self, user_id: str) -> bool:
        try:
            return parse_user_id(user_id)[1] in self._external_servers
        except ValueError:
            return False

    async def facts(self, room_id: str) -> RoomFacts:
        ids = await self._state.current_state_ids(
            room_id,
            [ACCESS_RULES, "m.room.join_rules", "m.room.member", "m.room.third_party_invite"],
        )
        found = await self._events.get_events(ids.values())
        rule = join_rule = None
        members: dict[str, str] = {}
        invites: set[str] = set()
        used_tokens: set[str] = set()
        for (kind, key), event_id in ids.items():
            event = found.get(event_id)
            if event is None:
                continue
            content = event.content
            if kind == ACCESS_RULES and key == "":
                rule = content.get("rule")
            elif kind == "m.room.join_rules" and key == "":
                join_rule = content.get("join_rule")
            elif kind == "m.room.member" and content.get("membership") in ("join", "invite"):
                members[key] = content["membership"]
                signed = (content.get("third_party_invite") or {}).get("signed") or {}
                if isinstance(signed.get("token"), str):
                    used_tokens.add(signed["token"])
            elif kind == "m.room.third_party_invite" and content:
                invites.add(key)
        room = await self._rooms.get_room(room_id)
        return RoomFacts(
            rule=rule if isinstance(rule, str) else None,
            join_rule=join_rule if isinstance(join_rule, str) else None,
            published=bool(room and room.published),
            members=members,
            pending_email_invites=len(invites - used_tokens),
        )

    async def check_local_event(self, room_id: str, spec: EventSpec) -> None:
        """EventService's local check: every event a local user sends passes here first."""
        if spec.event_type not in _WATCHED_TYPES:
            return
        check_event(await self.facts(room_id), spec, self.is_external)

    async def check_publish(self, room_id: str) -> None:
        """Only restricted rooms may be listed in the public directory."""
        facts = await self.facts(room_id)
        if facts.rule is not None and facts.rule != RESTRICTED:
            raise refusal(
                "PUBLISH_RESTRICTED_ONLY",
                "Seuls les salons fermés aux externes peuvent être publiés dans l'annuaire",
                "Only rooms closed to externals may be published in the directory",
            )


_WATCHED_TYPES = frozenset(
    {
        ACCESS_RULES,
        "m.room.member",
        "m.room.join_rules",
        "m.room.encryption",
        "m.room.power_levels",
        "m.room.third_party_invite",
        *_PROFILE_TYPES,
    }
)
