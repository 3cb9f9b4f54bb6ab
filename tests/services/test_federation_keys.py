"""The key ring: pinned keys, the stored cache and its valid_until_ts, fetch failures."""

import pytest

from sceau.clock import FakeClock
from sceau.config import FederationConfig
from sceau.protocol.federation import server_keys
from sceau.protocol.signing import generate_signing_key
from sceau.services.federation.keys import KeyRing, KeyUnavailable
from sceau.storage.federation import ServerKeyStore

OURS = generate_signing_key(b"\x01" * 32, "ours")
THEIRS = generate_signing_key(b"\x02" * 32, "theirs")
NEWER = generate_signing_key(b"\x03" * 32, "newer")


class FakeRemote:
    """Answers /_matrix/key/v2/server for one remote server, counting calls."""

    def __init__(self, clock: FakeClock, key=THEIRS, name="remote.example") -> None:
        self.clock, self.key, self.name = clock, key, name
        self.calls = 0
        self.fail = False
        self.validity_ms = 3_600_000
        self.answer = None

    async def __call__(self, server: str, path: str):
        self.calls += 1
        assert (server, path) == (self.name, "/_matrix/key/v2/server")
        if self.fail:
            raise OSError("connection refused")
        if self.answer is not None:
            return self.answer
        return server_keys(self.name, self.key, self.clock.time_ms() + self.validity_ms)


def _ring(db, clock, **config) -> KeyRing:
    return KeyRing(
        server_name="here.example",
        signing_key=OURS,
        clock=clock,
        store=ServerKeyStore(db),
        config=FederationConfig(enabled=True, **config),
    )


async def test_fetched_key_is_cached_until_valid_until_ts(db):
    clock = FakeClock()
    remote = FakeRemote(clock)
    ring = _ring(db, clock)
    ring.fetch = remote
    assert await ring.verify_key("remote.example", THEIRS.key_id) == THEIRS.verify_key_bytes
    assert await ring.verify_key("remote.example", THEIRS.key_id) == THEIRS.verify_key_bytes
    assert remote.calls == 1
    clock.advance(3_600.001)
    assert await ring.verify_key("remote.example", THEIRS.key_id) == THEIRS.verify_key_bytes
    assert remote.calls == 2


async def test_cache_survives_a_new_key_ring_on_the_same_database(db):
    clock = FakeClock()
    remote = FakeRemote(clock)
    first = _ring(db, clock)
    first.fetch = remote
    await first.verify_key("remote.example", THEIRS.key_id)
    second = _ring(db, clock)
    second.fetch = remote
    assert await second.verify_key("remote.example", THEIRS.key_id) == THEIRS.verify_key_bytes
    assert remote.calls == 1


async def test_expired_key_that_cannot_be_refetched_is_unavailable(db):
    clock = FakeClock()
    remote = FakeRemote(clock)
    ring = _ring(db, clock)
    ring.fetch = remote
    await ring.verify_key("remote.example", THEIRS.key_id)
    clock.advance(3_600.001)
    remote.fail = True
    with pytest.raises(KeyUnavailable, match="expired"):
        await ring.verify_key("remote.example", THEIRS.key_id)


async def test_unknown_key_id_triggers_one_fetch_then_waits_before_the_next(db):
    clock = FakeClock()
    remote = FakeRemote(clock)
    remote.fail = True
    ring = _ring(db, clock)
    ring.fetch = remote
    for _ in range(3):
        with pytest.raises(KeyUnavailable):
            await ring.verify_key("remote.example", THEIRS.key_id)
    assert remote.calls == 1
    clock.advance(10.001)
    remote.fail = False
    assert await ring.verify_key("remote.example", THEIRS.key_id) == THEIRS.verify_key_bytes


async def test_rotated_key_is_fetched_when_a_request_names_it(db):
    clock = FakeClock()
    remote = FakeRemote(clock)
    ring = _ring(db, clock)
    ring.fetch = remote
    await ring.verify_key("remote.example", THEIRS.key_id)
    remote.key = NEWER
    assert await ring.verify_key("remote.example", NEWER.key_id) == NEWER.verify_key_bytes
    assert remote.calls == 2


@pytest.mark.parametrize(
    "answer",
    [
        None,
        [],
        "keys",
        {"server_name": "remote.example"},
        server_keys("other.example", THEIRS, 10**15),
        {**server_keys("remote.example", THEIRS, 10**15), "signatures": {}},
    ],
)
async def test_bad_key_responses_leave_the_key_unavailable_and_nothing_cached(db, answer):
    clock = FakeClock()
    remote = FakeRemote(clock)
    remote.answer = answer if answer is not None else {"verify_keys": None}
    ring = _ring(db, clock)
    ring.fetch = remote
    with pytest.raises(KeyUnavailable):
        await ring.verify_key("remote.example", THEIRS.key_id)
    assert await ServerKeyStore(db).for_server("remote.example") == []


async def test_pinned_keys_are_used_and_never_fetched(db):
    clock = FakeClock()
    remote = FakeRemote(clock)
    ring = _ring(
        db, clock, pinned_keys={"remote.example": {THEIRS.key_id: THEIRS.verify_key_base64}}
    )
    ring.fetch = remote
    assert await ring.verify_key("remote.example", THEIRS.key_id) == THEIRS.verify_key_bytes
    with pytest.raises(KeyUnavailable, match="pinned"):
        await ring.verify_key("remote.example", NEWER.key_id)
    assert remote.calls == 0


async def test_own_key_response_is_valid_for_the_configured_time(db):
    clock = FakeClock()
    ring = _ring(db, clock, key_validity_ms=120_000)
    response = ring.own_keys()
    assert response["valid_until_ts"] == clock.time_ms() + 120_000
    assert response["verify_keys"] == {OURS.key_id: {"key": OURS.verify_key_base64}}
    assert await ring.verify_key("here.example", OURS.key_id) == OURS.verify_key_bytes


async def test_notary_answers_from_the_cache_only_and_countersigns(db):
    clock = FakeClock()
    remote = FakeRemote(clock)
    ring = _ring(db, clock)
    ring.fetch = remote
    assert await ring.notary_query({"remote.example": {}}) == {"server_keys": []}
    assert remote.calls == 0
    await ring.verify_key("remote.example", THEIRS.key_id)
    (answer,) = (await ring.notary_query({"remote.example": {}}))["server_keys"]
    assert set(answer["signatures"]) == {"remote.example", "here.example"}
    later = clock.time_ms() + 7_200_000
    criteria = {THEIRS.key_id: {"minimum_valid_until_ts": later}}
    assert await ring.notary_query({"remote.example": criteria}) == {"server_keys": []}


async def test_notary_fetches_only_when_configured(db):
    clock = FakeClock()
    remote = FakeRemote(clock)
    ring = _ring(db, clock, notary_fetches=True)
    ring.fetch = remote
    (answer,) = (await ring.notary_query({"remote.example": {}}))["server_keys"]
    assert answer["server_name"] == "remote.example"
    assert remote.calls == 1


NOTARY = generate_signing_key(b"\x04" * 32, "notary")


async def test_trusted_key_servers_are_asked_and_their_signature_checked(db):
    from sceau.protocol.signing import sign_json

    clock = FakeClock()
    ring = _ring(db, clock, trusted_key_servers=["notary.example"])
    notary_own = FakeRemote(clock, key=NOTARY, name="notary.example")
    ring.fetch = notary_own  # the notary's own key comes from the notary itself
    asked = []

    async def query(notary, path, body):
        asked.append((notary, path, body))
        theirs = server_keys("remote.example", THEIRS, clock.time_ms() + 60_000)
        return {"server_keys": [sign_json(theirs, "notary.example", NOTARY)]}

    ring.query = query
    assert await ring.verify_key("remote.example", THEIRS.key_id) == THEIRS.verify_key_bytes
    wanted = {THEIRS.key_id: {"minimum_valid_until_ts": clock.time_ms()}}
    assert asked == [
        ("notary.example", "/_matrix/key/v2/query", {"server_keys": {"remote.example": wanted}})
    ]
    assert notary_own.calls == 1
    # An event's key is asked valid at the event's time, not now.
    asked.clear()
    with pytest.raises(KeyUnavailable):  # the notary has no such key
        await ring.verify_key("remote.example", "ed25519:older", valid_at_ms=1_234)
    assert asked[0][2] == {
        "server_keys": {"remote.example": {"ed25519:older": {"minimum_valid_until_ts": 1_234}}}
    }


async def test_a_notary_answer_without_the_notarys_signature_is_refused(db):
    clock = FakeClock()
    ring = _ring(db, clock, trusted_key_servers=["notary.example"])
    ring.fetch = FakeRemote(clock, key=NOTARY, name="notary.example")

    async def query(notary, path, body):
        return {"server_keys": [server_keys("remote.example", THEIRS, clock.time_ms() + 60_000)]}

    ring.query = query
    with pytest.raises(KeyUnavailable):
        await ring.verify_key("remote.example", THEIRS.key_id)


async def test_a_key_published_for_a_year_is_trusted_seven_days_after_its_fetch(db):
    clock = FakeClock()
    remote = FakeRemote(clock)
    remote.validity_ms = 365 * 24 * 3_600_000
    ring = _ring(db, clock)
    ring.fetch = remote
    assert await ring.verify_key("remote.example", THEIRS.key_id) == THEIRS.verify_key_bytes
    clock.advance(6 * 24 * 3_600)
    assert await ring.verify_key("remote.example", THEIRS.key_id) == THEIRS.verify_key_bytes
    assert remote.calls == 1
    clock.advance(2 * 24 * 3_600)  # past the 7 days: asked again
    assert await ring.verify_key("remote.example", THEIRS.key_id) == THEIRS.verify_key_bytes
    assert remote.calls == 2


async def test_an_expired_key_still_verifies_what_it_signed_while_valid(db):
    clock = FakeClock()
    remote = FakeRemote(clock)
    ring = _ring(db, clock)
    ring.fetch = remote
    signed_at = clock.time_ms()
    await ring.verify_key("remote.example", THEIRS.key_id)
    clock.advance(2 * 3_600)
    remote.fail = True  # the server is gone, its key expired an hour ago
    found = await ring.verify_key("remote.example", THEIRS.key_id, valid_at_ms=signed_at)
    assert found == THEIRS.verify_key_bytes
    assert await ring.verify_key("remote.example", THEIRS.key_id, valid_at_ms=0)
    with pytest.raises(KeyUnavailable):
        await ring.verify_key("remote.example", THEIRS.key_id)
