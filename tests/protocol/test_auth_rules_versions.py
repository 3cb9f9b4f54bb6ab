"""Where the authorisation rules differ between room versions 1 and 12, as a table.

Each case names the rule, builds an event on the standard room of
``test_auth_rules`` (Alice admin, Mod at 50, Bob and Dave members, public),
and lists the versions that allow it; every other version in ``versions``
must reject it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from sceau.protocol.auth_rules import redaction_allowed
from sceau.protocol.event_format import event_references
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS
from sceau.protocol.types import JsonDict
from tests.protocol.test_auth_rules import ALICE, BOB, DAVE, EVE, MOD, Room, allowed, standard_room

ALL = frozenset(range(1, 13))


def upto(n: int) -> frozenset[int]:
    return frozenset(range(1, n + 1))


def since(n: int) -> frozenset[int]:
    return frozenset(range(n, 13))


NONE: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Room], JsonDict]
    allowed_in: frozenset[int]
    versions: frozenset[int] = ALL
    #: Start from a bare room with this create content instead of the standard room.
    bare_create: dict[str, Any] | None = None


def _aliases(room: Room, sender: str, state_key: str | None) -> JsonDict:
    return room.event("m.room.aliases", sender, {"aliases": ["#a:x.test"]}, state_key)


def _knock_room(room: Room, rule: str = "knock") -> Room:
    room.set_join_rule(rule)
    return room


def _pl_change(room: Room, sender: str, **changes: Any) -> JsonDict:
    return room.event("m.room.power_levels", sender, {**room.pl(), **changes}, "")


def _with_stringy_pl(room: Room) -> Room:
    pl = room.pl()
    pl["users"] = {**pl.get("users", {}), BOB: " +0050 "}
    room.set_power_levels(**pl)
    return room


def _redaction(room: Room, sender: str, own_id: str, target: str) -> JsonDict:
    event = room.event("m.room.redaction", sender, {}, None)
    event["event_id"] = own_id
    event["redacts"] = target
    return event


def _first_join(room: Room, user: str) -> JsonDict:
    event = room.event("m.room.member", user, {"membership": "join"}, user)
    event["prev_events"] = event_references([room.create["event_id"]], room.version)
    return event


CASES = [
    # m.room.aliases (v1-v5 rule 4): any server may set its own aliases, joined or not.
    Case("aliases: own server, not joined", lambda r: _aliases(r, EVE, "e.test"), upto(5)),
    Case("aliases: other server's key", lambda r: _aliases(r, MOD, "x.test"), since(6)),
    Case("aliases: no state_key", lambda r: _aliases(r, MOD, None), since(6)),
    # knock (v7): join rule, membership, and leaving a knock.
    Case("knock on a knock room", lambda r: _knock_room(r).member(EVE, "knock"), since(7)),
    Case(
        "knock on a knock_restricted room",
        lambda r: _knock_room(r, "knock_restricted").member(EVE, "knock"),
        since(10),
    ),
    Case(
        "rescind a knock",
        lambda r: (_knock_room(r).set_member(EVE, "knock"), r.member(EVE, "leave"))[1],
        since(7),
    ),
    Case(
        "join an invite-only knock room once invited",
        lambda r: (_knock_room(r).set_member(EVE, "invite", ALICE), r.member(EVE, "join"))[1],
        since(7),
    ),
    # restricted joins (v8) and knock_restricted (v10).
    Case(
        "restricted join authorised by a joined admin",
        lambda r: (
            r.set_join_rule("restricted"),
            r.member(EVE, "join", join_authorised_via_users_server=ALICE),
        )[1],
        since(8),
    ),
    Case(
        "knock_restricted join authorised by a joined admin",
        lambda r: (
            r.set_join_rule("knock_restricted"),
            r.member(EVE, "join", join_authorised_via_users_server=ALICE),
        )[1],
        since(10),
    ),
    Case(
        "public join naming an authoriser that did not sign",
        lambda r: _unsigned_authoriser(r),
        upto(7),
    ),
    # power levels: strings (v1-v9), other keys unchecked before v10, notifications (v6).
    Case("users value as a string", lambda r: _pl_change(r, ALICE, users={BOB: "50"}), upto(9)),
    Case("scalar key as a junk string", lambda r: _pl_change(r, ALICE, ban="lots"), upto(9)),
    Case("users value not an integer", lambda r: _pl_change(r, ALICE, users={BOB: "x"}), NONE),
    Case(
        "users value as a float",
        lambda r: _pl_change(r, ALICE, users={BOB: 50.57}),
        upto(5),
        versions=upto(5) | since(10),
    ),
    Case(
        "stringy level read as an integer",
        lambda r: _with_stringy_pl(r).event("m.room.topic", BOB, {"topic": "t"}, ""),
        upto(9),
        versions=upto(9),
    ),
    Case(
        "lower a notifications level held above one's own",
        lambda r: (
            r.set_power_levels(**{**r.pl(), "notifications": {"room": 75}}),
            _pl_change(r, MOD, notifications={"room": 20}),
        )[1],
        upto(5),
    ),
    # redactions (v1-v2 rule 11): redact level or same event ID server.
    Case(
        "member redacts another server's event",
        lambda r: _redaction(r, BOB, "$r:b.test", "$x:d.test"),
        since(3),
    ),
    Case(
        "member redacts own server's event",
        lambda r: _redaction(r, BOB, "$r:b.test", "$x:b.test"),
        ALL,
    ),
    Case(
        "moderator redacts another server's event",
        lambda r: _redaction(r, MOD, "$r:b.test", "$x:d.test"),
        ALL,
    ),
    # the create event's creator (v1-v10) against its sender (v11+).
    Case(
        "create event without creator",
        lambda r: {**r.create, "content": {"room_version": r.version.identifier}},
        since(11),
    ),
    Case(
        "first join by the creator named in content",
        lambda r: _first_join(r, BOB),
        upto(10),
        bare_create={"creator": BOB},
    ),
    Case(
        "first join by the create event's sender",
        lambda r: _first_join(r, ALICE),
        since(11),
        bare_create={"creator": BOB},
    ),
]


def _unsigned_authoriser(room: Room) -> JsonDict:
    event = room.member(EVE, "join", join_authorised_via_users_server=DAVE)
    del event["signatures"]["d.test"]
    return event


TABLE = [
    pytest.param(case, n, id=f"{case.name}-v{n}") for case in CASES for n in sorted(case.versions)
]


@pytest.mark.parametrize("case,version", TABLE)
def test_auth_rule_differences(case: Case, version: int) -> None:
    room_version = KNOWN_ROOM_VERSIONS[str(version)]
    if case.bare_create is None:
        room = standard_room(room_version)
    else:
        room = Room(room_version, **case.bare_create)
    event = case.build(room)
    assert allowed(room, event) is (version in case.allowed_in)


def test_every_version_is_in_the_table() -> None:
    assert {n for case in CASES for n in case.versions} == set(ALL)
    assert len({c.name for c in CASES}) == len(CASES)


# --- rules that are the same in every version, checked in every version ---------------


@pytest.mark.parametrize("version", sorted(ALL))
def test_third_party_invite_rules_hold_in_every_version(version: int) -> None:
    room = standard_room(KNOWN_ROOM_VERSIONS[str(version)])
    room.put(room.event("m.room.third_party_invite", BOB, {"public_key": "k"}, "tok"))
    signed = {"mxid": EVE, "token": "tok", "signatures": {}}
    invite = room.member(BOB, "invite", EVE, third_party_invite={"signed": signed})

    def verifier(_signed: JsonDict, content: JsonDict) -> bool:
        return content.get("public_key") == "k"

    assert allowed(room, invite, verify_third_party_invite=verifier)
    assert not allowed(room, invite)
    other = room.member(DAVE, "invite", EVE, third_party_invite={"signed": signed})
    assert not allowed(room, other, verify_third_party_invite=verifier)
    room.set_member(EVE, "ban", ALICE)
    assert not allowed(room, invite, verify_third_party_invite=verifier)


@pytest.mark.parametrize("version", sorted(ALL))
def test_plain_invite_rules_hold_in_every_version(version: int) -> None:
    room = standard_room(KNOWN_ROOM_VERSIONS[str(version)])
    assert allowed(room, room.member(BOB, "invite", EVE))
    assert not allowed(room, room.member(EVE, "invite", DAVE))
    assert not allowed(room, room.member(BOB, "invite", DAVE))


# --- v8's redaction flaw, fixed in v9 -------------------------------------------------


@pytest.mark.parametrize("version,still_valid", [(8, False), (9, True), (10, True), (11, True)])
def test_redacted_restricted_join_stays_valid_from_v9(version: int, still_valid: bool) -> None:
    """v8 strips join_authorised_via_users_server on redaction, so the redacted
    join no longer passes the restricted rule; v9 keeps it (rooms/v9 rationale)."""
    room_version = KNOWN_ROOM_VERSIONS[str(version)]
    room = standard_room(room_version)
    room.set_join_rule("restricted")
    join = room.member(EVE, "join", join_authorised_via_users_server=ALICE)
    assert allowed(room, join)
    redacted = {**redact_event(join, room_version), "signatures": join["signatures"]}
    assert allowed(room, redacted) is still_valid


# --- whether a redaction takes effect ---------------------------------------------------


@pytest.mark.parametrize("version", sorted(ALL))
def test_redaction_takes_effect_by_event_id_server_in_v1_v2_and_sender_server_after(
    version: int,
) -> None:
    room_version = KNOWN_ROOM_VERSIONS[str(version)]
    room = standard_room(room_version)
    pl = room.pl()
    target = {**room.event("m.room.message", DAVE, {}), "event_id": "$t:d.test"}
    # Sent by a d.test user through another server: same sender server, other event ID server.
    relayed = {**room.event("m.room.redaction", "@other:d.test", {}), "event_id": "$r:x.test"}
    # Sent by b.test for an event ID minted on d.test: other sender server, same ID server.
    minted = {**room.event("m.room.redaction", BOB, {}), "event_id": "$r:d.test"}
    by_mod = {**room.event("m.room.redaction", MOD, {}), "event_id": "$r:b.test"}
    v1_v2 = room_version.redaction_auth_rule
    assert redaction_allowed(relayed, target, pl, room.create, room_version) is not v1_v2
    assert redaction_allowed(minted, target, pl, room.create, room_version) is v1_v2
    assert redaction_allowed(by_mod, target, pl, room.create, room_version)
