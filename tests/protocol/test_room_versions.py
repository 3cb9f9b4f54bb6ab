"""Room versions 1 to 12 as values: each feature switches on where its spec page says."""

import itertools
from dataclasses import fields

import pytest

from sceau.protocol.room_versions import (
    DEFAULT_ROOM_VERSION,
    KNOWN_ROOM_VERSIONS,
    RoomVersion,
    get_room_version,
)

# version -> the first version with each feature (from the spec's rooms/vN pages).
FIRST_WITH = {
    "knock": 7,
    "restricted": 8,
    "redaction_keeps_authorising_user": 9,
    "knock_restricted": 10,
    "integer_power_levels": 10,
    "updated_redaction_rules": 11,
    "redacts_in_content": 11,
    "room_id_from_create_event": 12,
    "privileged_creators": 12,
    "enforce_key_validity": 5,
    "strict_canonical_json": 6,
    "notifications_power_levels": 6,
}
LAST_WITH = {
    "redaction_auth_rule": 2,
    "special_case_aliases": 5,
    "creator_in_create_content": 10,
}


def test_every_stable_version_from_1_to_12_is_known_and_stable() -> None:
    assert list(KNOWN_ROOM_VERSIONS) == [str(n) for n in range(1, 13)]
    assert all(v.stable for v in KNOWN_ROOM_VERSIONS.values())


def test_default_for_creation_stays_v11() -> None:
    assert DEFAULT_ROOM_VERSION.identifier == "11"


@pytest.mark.parametrize("feature,first", sorted(FIRST_WITH.items()))
def test_feature_switches_on_at_its_version(feature: str, first: int) -> None:
    for n in range(1, 13):
        assert getattr(KNOWN_ROOM_VERSIONS[str(n)], feature) is (n >= first), (feature, n)


@pytest.mark.parametrize("feature,last", sorted(LAST_WITH.items()))
def test_feature_switches_off_after_its_version(feature: str, last: int) -> None:
    for n in range(1, 13):
        assert getattr(KNOWN_ROOM_VERSIONS[str(n)], feature) is (n <= last), (feature, n)


@pytest.mark.parametrize(
    "identifier,event_id_format,state_resolution",
    [
        ("1", "server", "v1"),
        ("2", "server", "v2"),
        ("3", "hash", "v2"),
        ("4", "hash_urlsafe", "v2"),
        ("5", "hash_urlsafe", "v2"),
        ("6", "hash_urlsafe", "v2"),
        ("7", "hash_urlsafe", "v2"),
        ("8", "hash_urlsafe", "v2"),
        ("9", "hash_urlsafe", "v2"),
        ("10", "hash_urlsafe", "v2"),
        ("11", "hash_urlsafe", "v2"),
        ("12", "hash_urlsafe", "v2.1"),
    ],
)
def test_event_format_and_state_resolution_per_version(
    identifier: str, event_id_format: str, state_resolution: str
) -> None:
    version = KNOWN_ROOM_VERSIONS[identifier]
    assert version.event_id_format == event_id_format
    assert version.server_event_ids is (event_id_format == "server")
    assert version.state_resolution == state_resolution


def test_each_version_differs_from_the_previous_one() -> None:
    versions = list(KNOWN_ROOM_VERSIONS.values())
    names = [f.name for f in fields(RoomVersion) if f.name != "identifier"]
    for before, after in itertools.pairwise(versions):
        assert any(getattr(before, n) != getattr(after, n) for n in names), after.identifier


def test_unknown_or_unstable_identifiers_are_not_served() -> None:
    assert get_room_version("13") is None
    assert get_room_version("org.matrix.msc1767.10") is None
    assert get_room_version("01") is None
    assert get_room_version("1") is KNOWN_ROOM_VERSIONS["1"]
