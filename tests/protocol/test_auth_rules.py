"""Authorisation rules for room versions 10, 11 and 12, as a table of cases.

Each case builds on a standard room (Alice created it and is admin, Mod has 50,
Bob and Dave are plain members, join rule public) and names the rule it proves.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from sceau.protocol.auth_rules import (
    AuthError,
    auth_types_for_event,
    check_auth_events_selection,
    check_create_event,
    check_event_auth,
    redaction_allowed,
    redaction_target,
)
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from sceau.protocol.types import JsonDict, StateKey

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]
ALL = (V10, V11, V12)

ALICE = "@alice:a.test"
MOD = "@mod:b.test"
BOB = "@bob:b.test"
DAVE = "@dave:d.test"
EVE = "@eve:e.test"


class Room:
    """A room's auth state built by hand, in any of the supported versions."""

    def __init__(self, version: RoomVersion, **create_content: Any) -> None:
        self.version = version
        content: JsonDict = {"room_version": version.identifier, **create_content}
        if version.creator_in_create_content:
            content.setdefault("creator", ALICE)
        self.create: JsonDict = {
            "type": "m.room.create",
            "state_key": "",
            "sender": ALICE,
            "content": content,
            "prev_events": [],
            "auth_events": [],
            "signatures": {"a.test": {"ed25519:k": "sig"}},
        }
        if version.room_id_from_create_event:
            self.create["event_id"] = "$CreateHash"
            self.room_id = "!CreateHash"
        else:
            self.create["event_id"] = "$create:a.test"
            self.room_id = "!room:a.test"
            self.create["room_id"] = self.room_id
        self.state: dict[StateKey, JsonDict] = {("m.room.create", ""): self.create}
        self.counter = 0

    def event(
        self, event_type: str, sender: str, content: JsonDict, state_key: str | None = None
    ) -> JsonDict:
        self.counter += 1
        event: JsonDict = {
            "type": event_type,
            "sender": sender,
            "content": content,
            "room_id": self.room_id,
            "event_id": f"$e{self.counter}",
            "prev_events": ["$previous"],
            "signatures": {sender.split(":", 1)[1]: {"ed25519:k": "sig"}},
        }
        if state_key is not None:
            event["state_key"] = state_key
        return event

    def put(self, event: JsonDict) -> JsonDict:
        self.state[(event["type"], event["state_key"])] = event
        return event

    def set_member(self, user: str, membership: str, sender: str | None = None) -> None:
        self.put(self.event("m.room.member", sender or user, {"membership": membership}, user))

    def set_join_rule(self, rule: str) -> None:
        self.put(self.event("m.room.join_rules", ALICE, {"join_rule": rule}, ""))

    def set_power_levels(self, **content: Any) -> None:
        self.put(self.event("m.room.power_levels", ALICE, content, ""))

    def pl(self) -> JsonDict:
        return dict(self.state[("m.room.power_levels", "")]["content"])

    def member(
        self, sender: str, membership: str, target: str | None = None, **extra: Any
    ) -> JsonDict:
        content = {"membership": membership, **extra}
        event = self.event("m.room.member", sender, content, target or sender)
        via = extra.get("join_authorised_via_users_server")
        if isinstance(via, str):
            event["signatures"][via.split(":", 1)[1]] = {"ed25519:k": "sig"}
        return event


def standard_room(version: RoomVersion) -> Room:
    room = Room(version)
    room.set_member(ALICE, "join")
    users = {MOD: 50} if version.privileged_creators else {ALICE: 100, MOD: 50}
    room.set_power_levels(users=users, users_default=0)
    room.set_join_rule("public")
    for user in (MOD, BOB, DAVE):
        room.set_member(user, "join")
    return room


def allowed(room: Room, event: JsonDict, **kwargs: Any) -> bool:
    try:
        check_event_auth(event, room.state, room.version, **kwargs)
    except AuthError:
        return False
    return True


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Room], JsonDict]
    expected: bool
    versions: tuple[RoomVersion, ...] = ALL


def _with(room: Room, *steps: Callable[[Room], object]) -> Literal[True]:
    """Apply setup steps; returns True so cases read ``_with(r, ...) and event``."""
    for step in steps:
        step(room)
    return True


# --- membership -----------------------------------------------------------------


def _banned(user: str) -> Callable[[Room], None]:
    return lambda r: r.set_member(user, "ban", MOD)


def _rule(rule: str) -> Callable[[Room], None]:
    return lambda r: r.set_join_rule(rule)


def _drop(user: str) -> Callable[[Room], object]:
    return lambda r: r.state.pop(("m.room.member", user), None)


def _invited(user: str) -> Callable[[Room], None]:
    return lambda r: r.set_member(user, "invite", BOB)


def _pl(**changes: Any) -> Callable[[Room], None]:
    return lambda r: r.set_power_levels(**{**r.pl(), **changes})


def _restricted_join(via: str) -> Callable[[Room], JsonDict]:
    def build(r: Room) -> JsonDict:
        _with(r, _rule("restricted"), _drop(EVE))
        return r.member(EVE, "join", join_authorised_via_users_server=via)

    return build


MEMBERSHIP_CASES = [
    Case(
        "join_public_room_allowed", lambda r: _with(r, _drop(EVE)) and r.member(EVE, "join"), True
    ),
    Case("join_on_behalf_of_other_denied", lambda r: r.member(BOB, "join", EVE), False),
    Case(
        "join_while_banned_denied",
        lambda r: _with(r, _banned(EVE)) and r.member(EVE, "join"),
        False,
    ),
    Case(
        "join_invite_room_uninvited_denied",
        lambda r: _with(r, _rule("invite")) and r.member(EVE, "join"),
        False,
    ),
    Case(
        "join_invite_room_when_invited_allowed",
        lambda r: _with(r, _rule("invite"), _invited(EVE)) and r.member(EVE, "join"),
        True,
    ),
    Case(
        "rejoin_invite_room_when_joined_allowed",
        lambda r: _with(r, _rule("invite")) and r.member(BOB, "join"),
        True,
    ),
    Case(
        "join_knock_room_when_invited_allowed",
        lambda r: _with(r, _rule("knock"), _invited(EVE)) and r.member(EVE, "join"),
        True,
    ),
    Case(
        "join_knock_room_uninvited_denied",
        lambda r: _with(r, _rule("knock")) and r.member(EVE, "join"),
        False,
    ),
    Case(
        "join_private_rule_denied",
        lambda r: _with(r, _rule("private")) and r.member(EVE, "join"),
        False,
    ),
    Case(
        "join_no_join_rules_acts_as_invite_denied",
        lambda r: (
            _with(r, lambda x: x.state.pop(("m.room.join_rules", ""))) and r.member(EVE, "join")
        ),
        False,
    ),
    Case("restricted_join_via_joined_member_allowed", _restricted_join(BOB), True),
    Case(
        "restricted_join_without_via_denied",
        lambda r: _with(r, _rule("restricted")) and r.member(EVE, "join"),
        False,
    ),
    Case("restricted_join_via_non_member_denied", _restricted_join("@zed:b.test"), False),
    Case(
        "restricted_join_via_user_below_invite_level_denied",
        lambda r: _with(r, _pl(invite=50)) and _restricted_join(BOB)(r),
        False,
    ),
    Case(
        "restricted_join_via_user_whose_server_did_not_sign_denied",
        lambda r: {**_restricted_join(DAVE)(r), "signatures": {"e.test": {"ed25519:k": "s"}}},
        False,
    ),
    Case(
        "restricted_join_when_invited_needs_no_via_allowed",
        lambda r: _with(r, _rule("restricted"), _invited(EVE)) and r.member(EVE, "join"),
        True,
    ),
    Case(
        "knock_restricted_join_via_member_allowed",
        lambda r: (
            _with(r, _rule("knock_restricted"))
            and r.member(EVE, "join", join_authorised_via_users_server=BOB)
        ),
        True,
    ),
    Case("invite_by_member_allowed", lambda r: r.member(BOB, "invite", EVE), True),
    Case("invite_by_non_member_denied", lambda r: r.member(EVE, "invite", "@zed:z.test"), False),
    Case("invite_of_joined_user_denied", lambda r: r.member(BOB, "invite", DAVE), False),
    Case(
        "invite_of_banned_user_denied",
        lambda r: _with(r, _banned(EVE)) and r.member(BOB, "invite", EVE),
        False,
    ),
    Case(
        "invite_below_invite_level_denied",
        lambda r: _with(r, _pl(invite=50)) and r.member(BOB, "invite", EVE),
        False,
    ),
    Case(
        "invite_at_invite_level_allowed",
        lambda r: _with(r, _pl(invite=50)) and r.member(MOD, "invite", EVE),
        True,
    ),
    Case("leave_when_joined_allowed", lambda r: r.member(BOB, "leave"), True),
    Case(
        "reject_invite_allowed", lambda r: _with(r, _invited(EVE)) and r.member(EVE, "leave"), True
    ),
    Case(
        "rescind_knock_allowed",
        lambda r: (
            _with(r, _rule("knock"), lambda x: x.set_member(EVE, "knock"))
            and r.member(EVE, "leave")
        ),
        True,
    ),
    Case("leave_when_never_member_denied", lambda r: r.member(EVE, "leave"), False),
    Case(
        "leave_when_banned_denied",
        lambda r: _with(r, _banned(EVE)) and r.member(EVE, "leave"),
        False,
    ),
    Case("kick_lower_user_by_mod_allowed", lambda r: r.member(MOD, "leave", BOB), True),
    Case("kick_by_user_below_kick_level_denied", lambda r: r.member(BOB, "leave", DAVE), False),
    Case(
        "kick_equal_level_denied",
        lambda r: _with(r, _pl(kick=0)) and r.member(BOB, "leave", DAVE),
        False,
    ),
    Case("kick_higher_user_denied", lambda r: r.member(MOD, "leave", ALICE), False),
    Case(
        "kick_by_non_member_denied",
        lambda r: _with(r, _drop(MOD)) and r.member(MOD, "leave", BOB),
        False,
    ),
    Case(
        "unban_with_ban_level_allowed",
        lambda r: _with(r, _banned(EVE)) and r.member(MOD, "leave", EVE),
        True,
    ),
    Case(
        "unban_with_kick_but_not_ban_level_denied",
        lambda r: _with(r, _banned(EVE), _pl(ban=60)) and r.member(MOD, "leave", EVE),
        False,
    ),
    Case("ban_lower_user_allowed", lambda r: r.member(MOD, "ban", BOB), True),
    Case("ban_non_member_allowed", lambda r: r.member(MOD, "ban", EVE), True),
    Case("ban_below_ban_level_denied", lambda r: r.member(BOB, "ban", DAVE), False),
    Case(
        "ban_equal_level_denied",
        lambda r: _with(r, _pl(users={**r.pl()["users"], BOB: 50})) and r.member(MOD, "ban", BOB),
        False,
    ),
    Case(
        "ban_by_non_member_denied",
        lambda r: _with(r, _drop(MOD)) and r.member(MOD, "ban", BOB),
        False,
    ),
    Case(
        "knock_on_knock_room_allowed",
        lambda r: _with(r, _rule("knock")) and r.member(EVE, "knock"),
        True,
    ),
    Case(
        "knock_on_knock_restricted_room_allowed",
        lambda r: _with(r, _rule("knock_restricted")) and r.member(EVE, "knock"),
        True,
    ),
    Case("knock_on_public_room_denied", lambda r: r.member(EVE, "knock"), False),
    Case(
        "knock_on_behalf_of_other_denied",
        lambda r: _with(r, _rule("knock")) and r.member(BOB, "knock", EVE),
        False,
    ),
    Case(
        "knock_while_invited_denied",
        lambda r: _with(r, _rule("knock"), _invited(EVE)) and r.member(EVE, "knock"),
        False,
    ),
    Case(
        "knock_while_banned_denied",
        lambda r: _with(r, _rule("knock"), _banned(EVE)) and r.member(EVE, "knock"),
        False,
    ),
    Case(
        "knock_while_joined_denied",
        lambda r: _with(r, _rule("knock")) and r.member(BOB, "knock"),
        False,
    ),
    Case("unknown_membership_denied", lambda r: r.member(BOB, "wander"), False),
    Case(
        "member_without_membership_denied", lambda r: r.event("m.room.member", BOB, {}, BOB), False
    ),
    Case(
        "member_without_state_key_denied",
        lambda r: r.event("m.room.member", BOB, {"membership": "join"}),
        False,
    ),
]


# --- the generic rules -----------------------------------------------------------


def _message(sender: str) -> Callable[[Room], JsonDict]:
    return lambda r: r.event("m.room.message", sender, {"body": "hi"})


GENERIC_CASES = [
    Case("message_from_member_allowed", _message(BOB), True),
    Case("message_from_non_member_denied", _message(EVE), False),
    Case(
        "message_from_invited_user_denied",
        lambda r: _with(r, _invited(EVE)) and _message(EVE)(r),
        False,
    ),
    Case(
        "message_below_events_default_denied",
        lambda r: _with(r, _pl(events_default=10)) and _message(BOB)(r),
        False,
    ),
    Case(
        "message_type_level_from_events_allowed",
        lambda r: (
            _with(r, _pl(events_default=10, events={"m.room.message": 0})) and _message(BOB)(r)
        ),
        True,
    ),
    Case(
        "state_below_state_default_denied",
        lambda r: r.event("m.room.topic", BOB, {"topic": "t"}, ""),
        False,
    ),
    Case(
        "state_at_state_default_allowed",
        lambda r: r.event("m.room.topic", MOD, {"topic": "t"}, ""),
        True,
    ),
    Case(
        "state_with_lower_events_level_allowed",
        lambda r: (
            _with(r, _pl(events={"m.room.topic": 0}))
            and r.event("m.room.topic", BOB, {"topic": "t"}, "")
        ),
        True,
    ),
    Case(
        "state_key_of_another_user_denied",
        lambda r: _with(r, _pl(state_default=0)) and r.event("m.custom", BOB, {}, DAVE),
        False,
    ),
    Case(
        "state_key_of_own_user_id_allowed",
        lambda r: _with(r, _pl(state_default=0)) and r.event("m.custom", BOB, {}, BOB),
        True,
    ),
    Case(
        "third_party_invite_event_at_invite_level_allowed",
        lambda r: r.event("m.room.third_party_invite", BOB, {}, "tok"),
        True,
    ),
    Case(
        "third_party_invite_event_below_invite_level_denied",
        lambda r: _with(r, _pl(invite=10)) and r.event("m.room.third_party_invite", BOB, {}, "tok"),
        False,
    ),
    Case(
        "redaction_ignores_redact_level_allowed",
        lambda r: _with(r, _pl(redact=100)) and r.event("m.room.redaction", BOB, {"redacts": "$x"}),
        True,
    ),
    Case(
        "redaction_governed_by_events_level_denied",
        lambda r: (
            _with(r, _pl(events={"m.room.redaction": 10}))
            and r.event("m.room.redaction", BOB, {"redacts": "$x"})
        ),
        False,
    ),
    Case(
        "unfederated_room_rejects_foreign_sender",
        lambda r: (
            _with(r, lambda x: x.create["content"].update({"m.federate": False}))
            and r.member(EVE, "join")
        ),
        False,
    ),
    Case(
        "unfederated_room_accepts_local_sender",
        lambda r: (
            _with(r, lambda x: x.create["content"].update({"m.federate": False}))
            and r.member("@zoe:a.test", "join")
        ),
        True,
    ),
    Case(
        "auth_event_from_another_room_denied",
        lambda r: {**_message(BOB)(r), "room_id": "!other:a.test"},
        False,
    ),
]


# --- power levels ------------------------------------------------------------------


def _pl_change(sender: str, **changes: Any) -> Callable[[Room], JsonDict]:
    return lambda r: r.event("m.room.power_levels", sender, {**r.pl(), **changes}, "")


def _users(r: Room, **entries: int) -> dict[str, int]:
    users = dict(r.pl()["users"])
    mapping = {"mod": MOD, "bob": BOB, "dave": DAVE, "alice": ALICE}
    for key, value in entries.items():
        users[mapping[key]] = value
    return users


POWER_CASES = [
    Case("pl_admin_changes_kick_allowed", _pl_change(ALICE, kick=20), True),
    Case("pl_string_value_denied", _pl_change(ALICE, ban="50"), False),
    Case("pl_boolean_value_denied", _pl_change(ALICE, kick=True), False),
    Case("pl_float_value_denied", _pl_change(ALICE, kick=1.5), False),
    Case(
        "pl_events_value_not_integer_denied", _pl_change(ALICE, events={"m.room.name": "50"}), False
    ),
    Case("pl_events_not_object_denied", _pl_change(ALICE, events=[1]), False),
    Case(
        "pl_notifications_not_integer_denied",
        _pl_change(ALICE, notifications={"room": None}),
        False,
    ),
    Case(
        "pl_users_invalid_user_id_denied",
        lambda r: _pl_change(ALICE, users={**r.pl()["users"], "bob": 1})(r),
        False,
    ),
    Case(
        "pl_users_string_level_denied",
        lambda r: _pl_change(ALICE, users={**r.pl()["users"], BOB: "1"})(r),
        False,
    ),
    Case(
        "pl_users_historical_user_ids_allowed",
        lambda r: _pl_change(
            ALICE, users={**r.pl()["users"], "@:b.test": 1, "@Old Name:b.test": 2}
        )(r),
        True,
    ),
    Case(
        "pl_users_key_without_server_denied",
        lambda r: _pl_change(ALICE, users={**r.pl()["users"], "@bob": 1})(r),
        False,
    ),
    Case("pl_from_user_below_state_level_denied", _pl_change(BOB, kick=0), False),
    Case(
        "pl_mod_raises_default_above_own_level_denied",
        lambda r: (
            _with(r, _pl(events={"m.room.power_levels": 50}))
            and _pl_change(MOD, users_default=60)(r)
        ),
        False,
    ),
    Case(
        "pl_mod_changes_value_above_own_level_denied",
        lambda r: (
            _with(r, _pl(events={"m.room.power_levels": 50}, ban=80)) and _pl_change(MOD, ban=40)(r)
        ),
        False,
    ),
    Case(
        "pl_mod_changes_value_within_own_level_allowed",
        lambda r: _with(r, _pl(events={"m.room.power_levels": 50})) and _pl_change(MOD, kick=40)(r),
        True,
    ),
    Case(
        "pl_mod_removes_event_entry_above_own_level_denied",
        lambda r: (
            _with(r, _pl(events={"m.room.power_levels": 50, "m.room.tombstone": 100}))
            and _pl_change(MOD, events={"m.room.power_levels": 50})(r)
        ),
        False,
    ),
    Case(
        "pl_mod_adds_event_entry_above_own_level_denied",
        lambda r: (
            _with(r, _pl(events={"m.room.power_levels": 50}))
            and _pl_change(MOD, events={"m.room.power_levels": 50, "m.x": 51})(r)
        ),
        False,
    ),
    Case(
        "pl_mod_adds_notification_at_own_level_allowed",
        lambda r: (
            _with(r, _pl(events={"m.room.power_levels": 50}))
            and _pl_change(MOD, notifications={"room": 50})(r)
        ),
        True,
    ),
    Case(
        "pl_mod_promotes_user_to_own_level_allowed",
        lambda r: (
            _with(r, _pl(events={"m.room.power_levels": 50}))
            and _pl_change(MOD, users=_users(r, bob=50))(r)
        ),
        True,
    ),
    Case(
        "pl_mod_promotes_user_above_own_level_denied",
        lambda r: (
            _with(r, _pl(events={"m.room.power_levels": 50}))
            and _pl_change(MOD, users=_users(r, bob=51))(r)
        ),
        False,
    ),
    Case(
        "pl_mod_demotes_peer_at_own_level_denied",
        lambda r: (
            _with(r, _pl(events={"m.room.power_levels": 50}, users=_users(r, bob=50)))
            and _pl_change(MOD, users=_users(r, bob=0))(r)
        ),
        False,
    ),
    Case(
        "pl_mod_demotes_self_allowed",
        lambda r: (
            _with(r, _pl(events={"m.room.power_levels": 50}))
            and _pl_change(MOD, users=_users(r, mod=10))(r)
        ),
        True,
    ),
    Case(
        "pl_mod_removes_lower_user_entry_allowed",
        lambda r: (
            _with(r, _pl(events={"m.room.power_levels": 50}, users=_users(r, bob=10)))
            and _pl_change(MOD, users={k: v for k, v in r.pl()["users"].items() if k != BOB})(r)
        ),
        True,
    ),
    Case(
        "pl_admin_cannot_demote_other_admin_before_v12",
        lambda r: (
            _with(r, _pl(users=_users(r, bob=100))) and _pl_change(ALICE, users=_users(r, bob=0))(r)
        ),
        False,
        (V10, V11),
    ),
    Case(
        "pl_v12_creator_demotes_any_admin_allowed",
        lambda r: (
            _with(r, _pl(users=_users(r, bob=100))) and _pl_change(ALICE, users=_users(r, bob=0))(r)
        ),
        True,
        (V12,),
    ),
    Case(
        "pl_v12_creator_listed_in_users_denied",
        lambda r: _pl_change(ALICE, users=_users(r, alice=100))(r),
        False,
        (V12,),
    ),
    Case(
        "pl_v12_additional_creator_listed_in_users_denied",
        lambda r: (
            _with(r, lambda x: x.create["content"].update(additional_creators=[DAVE]))
            and _pl_change(ALICE, users=_users(r, dave=100))(r)
        ),
        False,
        (V12,),
    ),
    Case(
        "pl_v12_additional_creator_sends_power_levels_allowed",
        lambda r: (
            _with(r, lambda x: x.create["content"].update(additional_creators=[DAVE]))
            and _pl_change(DAVE, users=_users(r, bob=99))(r)
        ),
        True,
        (V12,),
    ),
    Case(
        "pl_listing_creator_allowed_before_v12",
        lambda r: _pl_change(ALICE, users=_users(r, alice=100))(r),
        True,
        (V10, V11),
    ),
]

ALL_CASES = [
    pytest.param(case, version, id=f"v{version.identifier}-{case.name}")
    for case in MEMBERSHIP_CASES + GENERIC_CASES + POWER_CASES
    for version in case.versions
]


@pytest.mark.parametrize(("case", "version"), ALL_CASES)
def test_auth_rule_table(case: Case, version: RoomVersion) -> None:
    room = standard_room(version)
    event = case.build(room)
    assert allowed(room, event) is case.expected


# --- the create event and the room's first events --------------------------------------


@pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")
def test_create_event_allowed(version: RoomVersion) -> None:
    room = Room(version)
    check_create_event(room.create, version)
    check_event_auth(room.create, {}, version)


@pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")
def test_create_event_with_prev_events_denied(version: RoomVersion) -> None:
    create = {**Room(version).create, "prev_events": ["$x"]}
    with pytest.raises(AuthError):
        check_create_event(create, version)


@pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")
def test_create_event_with_unknown_room_version_denied(version: RoomVersion) -> None:
    room = Room(version, room_version="9000")
    with pytest.raises(AuthError):
        check_create_event(room.create, version)


@pytest.mark.parametrize("version", [V10, V11], ids=lambda v: f"v{v.identifier}")
def test_create_event_room_id_domain_must_match_sender(version: RoomVersion) -> None:
    create = {**Room(version).create, "room_id": "!room:elsewhere.test"}
    with pytest.raises(AuthError):
        check_create_event(create, version)


def test_v10_create_event_requires_creator_v11_does_not() -> None:
    create = Room(V11).create
    check_create_event(create, V11)
    with pytest.raises(AuthError):
        check_create_event(create, V10)


def test_v12_create_event_with_room_id_denied() -> None:
    create = {**Room(V12).create, "room_id": "!CreateHash"}
    with pytest.raises(AuthError):
        check_create_event(create, V12)


@pytest.mark.parametrize(
    "extra", [["@bob:b.test", 3], "@bob:b.test", ["bob"], ["@bob"], ["@bob:bad server"]]
)
def test_v12_invalid_additional_creators_denied(extra: object) -> None:
    with pytest.raises(AuthError):
        check_create_event(Room(V12, additional_creators=extra).create, V12)


def test_v12_valid_additional_creators_allowed_and_ignored_in_v11() -> None:
    check_create_event(Room(V12, additional_creators=[BOB, DAVE]).create, V12)
    check_create_event(Room(V11, additional_creators="junk").create, V11)


@pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")
def test_creator_first_join_after_create_allowed(version: RoomVersion) -> None:
    room = Room(version)
    join = room.member(ALICE, "join")
    join["prev_events"] = [room.create["event_id"]]
    assert allowed(room, join)


@pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")
def test_other_user_first_join_after_create_denied(version: RoomVersion) -> None:
    room = Room(version)
    join = room.member(BOB, "join")
    join["prev_events"] = [room.create["event_id"]]
    assert not allowed(room, join)


def test_v10_first_join_uses_content_creator() -> None:
    room = Room(V10, creator=BOB)
    join = room.member(BOB, "join")
    join["prev_events"] = [room.create["event_id"]]
    assert allowed(room, join)
    alice_join = {**room.member(ALICE, "join"), "prev_events": [room.create["event_id"]]}
    assert not allowed(room, alice_join)


@pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")
def test_creator_sends_first_power_levels_without_existing_ones(version: RoomVersion) -> None:
    room = Room(version)
    room.set_member(ALICE, "join")
    users = {} if version.privileged_creators else {ALICE: 100}
    assert allowed(room, room.event("m.room.power_levels", ALICE, {"users": users}, ""))


@pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")
def test_missing_create_event_denied(version: RoomVersion) -> None:
    room = standard_room(version)
    del room.state[("m.room.create", "")]
    assert not allowed(room, room.event("m.room.message", BOB, {}))


def test_v12_room_id_must_derive_from_create_event() -> None:
    room = standard_room(V12)
    event = {**room.event("m.room.message", BOB, {}), "room_id": "!SomethingElse"}
    assert not allowed(room, event)


def test_third_party_invite_needs_verifier_and_matching_token() -> None:
    room = standard_room(V11)
    room.put(room.event("m.room.third_party_invite", BOB, {"public_key": "k"}, "tok"))
    signed = {"mxid": EVE, "token": "tok", "signatures": {}}
    invite = room.member(BOB, "invite", EVE, third_party_invite={"signed": signed})
    assert not allowed(room, invite)
    assert allowed(room, invite, verify_third_party_invite=lambda s, c: c["public_key"] == "k")
    assert not allowed(room, invite, verify_third_party_invite=lambda s, c: False)
    other_sender = room.member(DAVE, "invite", EVE, third_party_invite={"signed": signed})
    assert not allowed(room, other_sender, verify_third_party_invite=lambda s, c: True)
    wrong_mxid = {**signed, "mxid": "@zed:z.test"}
    bad = room.member(BOB, "invite", EVE, third_party_invite={"signed": wrong_mxid})
    assert not allowed(room, bad, verify_third_party_invite=lambda s, c: True)
    no_token = room.member(BOB, "invite", EVE, third_party_invite={"signed": {"mxid": EVE}})
    assert not allowed(room, no_token, verify_third_party_invite=lambda s, c: True)


def test_signature_callback_overrides_presence_check() -> None:
    room = standard_room(V11)
    room.set_join_rule("restricted")
    join = room.member(EVE, "join", join_authorised_via_users_server=BOB)
    assert allowed(room, join)
    assert not allowed(room, join, is_signed_by=lambda event, server: False)


# --- auth events selection and redactions --------------------------------------------------


def test_auth_types_for_restricted_join() -> None:
    room = Room(V11)
    join = room.member(EVE, "join", join_authorised_via_users_server=BOB)
    assert auth_types_for_event(join, V11) == [
        ("m.room.create", ""),
        ("m.room.power_levels", ""),
        ("m.room.member", EVE),
        ("m.room.join_rules", ""),
        ("m.room.member", BOB),
    ]


def test_auth_types_v12_never_select_create_event() -> None:
    room = Room(V12)
    invite = room.member(BOB, "invite", EVE)
    assert auth_types_for_event(invite, V12) == [
        ("m.room.power_levels", ""),
        ("m.room.member", BOB),
        ("m.room.member", EVE),
        ("m.room.join_rules", ""),
    ]
    assert auth_types_for_event(room.create, V12) == []


def test_auth_events_selection_checks() -> None:
    room = standard_room(V11)
    message = room.event("m.room.message", BOB, {})
    create, pl = room.create, room.state[("m.room.power_levels", "")]
    member = room.state[("m.room.member", BOB)]
    check_auth_events_selection(message, [create, pl, member], V11)
    with pytest.raises(AuthError, match="create"):
        check_auth_events_selection(message, [pl, member], V11)
    with pytest.raises(AuthError):
        check_auth_events_selection(message, [create, pl, pl], V11)
    with pytest.raises(AuthError):
        check_auth_events_selection(message, [create, room.state[("m.room.join_rules", "")]], V11)
    v12 = standard_room(V12)
    v12_message = v12.event("m.room.message", BOB, {})
    check_auth_events_selection(v12_message, [v12.state[("m.room.member", BOB)]], V12)
    with pytest.raises(AuthError):
        check_auth_events_selection(v12_message, [v12.create], V12)


def test_redaction_target_location_per_version() -> None:
    event = {"type": "m.room.redaction", "redacts": "$top", "content": {"redacts": "$inner"}}
    assert redaction_target(event, V10) == "$top"
    assert redaction_target(event, V11) == "$inner"
    assert redaction_target({"content": {}, "redacts": "$top"}, V12) == "$top"
    assert redaction_target({"content": {}}, V11) is None


def test_redaction_takes_effect_for_same_server_or_redact_level() -> None:
    room = standard_room(V11)
    target = room.event("m.room.message", DAVE, {})
    pl = room.pl()
    own_server = room.event("m.room.redaction", "@other:d.test", {"redacts": target["event_id"]})
    assert redaction_allowed(own_server, target, pl, room.create, V11)
    by_mod = room.event("m.room.redaction", MOD, {"redacts": target["event_id"]})
    assert redaction_allowed(by_mod, target, pl, room.create, V11)
    by_bob = room.event("m.room.redaction", BOB, {"redacts": target["event_id"]})
    assert not redaction_allowed(by_bob, target, pl, room.create, V11)
    assert not redaction_allowed({**by_mod, "room_id": "!x:a.test"}, target, pl, room.create, V11)
