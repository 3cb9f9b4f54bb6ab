"""Received events of room versions 1 to 5 are checked by their own version's rules.

Canonical JSON is enforced from v6 only: a v1-v5 event with floats or big
integers is hashed and verified as its server encoded it and accepted. From
v5 the signing key must be valid at the event's ``origin_server_ts``; before,
any key the server published will do. Event IDs and references must have
the version's form.
"""

import copy

import pytest

from sceau.protocol.base64 import encode_base64
from sceau.protocol.canonical_json import encode_canonical_json
from sceau.protocol.hashing import compute_content_hash
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import RoomVersion
from sceau.services.federation.pdu_checks import event_id_of
from tests.services.federation_support import RemoteServer, extremities, room_state
from tests.services.test_room_versions_received import BOB, _room_with_bob

ODD = {"ratio": 50.57, "big": 2**60, "one": 1.0}


def _resign(remote: RemoteServer, version: RoomVersion, pdu: dict) -> tuple[str, dict]:
    """The PDU re-hashed and re-signed as a v1-v5 server encodes it (lenient JSON)."""
    pdu = _signed(remote, version, pdu)
    return event_id_of(pdu, version), pdu


def _signed(remote: RemoteServer, version: RoomVersion, pdu: dict) -> dict:
    pdu = {k: v for k, v in pdu.items() if k not in ("signatures", "hashes")}
    pdu["hashes"] = {"sha256": compute_content_hash(pdu, version)}
    redacted = redact_event(pdu, version)
    signable = {k: v for k, v in redacted.items() if k not in ("signatures", "unsigned")}
    signature = remote.key.sign(encode_canonical_json(signable, strict=False))
    pdu["signatures"] = {remote.name: {remote.key.key_id: encode_base64(signature)}}
    return pdu


async def _message(services, remote, room_id, version, join_id, content):
    _event_id, pdu = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"body": "odd numbers"},
        state=await room_state(services, room_id),
        prev_events=[join_id],
        depth=max((await extremities(services, room_id)).values()) + 1,
    )
    pdu = copy.deepcopy(pdu)
    pdu["content"] = content
    return _resign(remote, version, pdu)


@pytest.mark.parametrize("version_id", ["1", "3", "5", "6", "11"])
async def test_floats_and_big_integers_are_accepted_up_to_v5_only(services, version_id):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await _room_with_bob(services, version_id, remote)
    odd = {"body": "odd numbers", **ODD}
    if version.strict_canonical_json:
        with pytest.raises(Exception):  # noqa: B017 (cannot even be signed strictly)
            encode_canonical_json(odd)
        event_id, pdu = await _message(services, remote, room_id, version, join_id, {"body": "x"})
        pdu["content"] = odd  # as a v1-v5 server would have it
        result = await pipeline.receive_pdus(remote.name, [pdu])
        assert all(error and "canonical" in error for error in result.values())
        return
    event_id, pdu = await _message(services, remote, room_id, version, join_id, odd)
    assert await pipeline.receive_pdus(remote.name, [pdu]) == {event_id: None}
    stored = await services.stores.events.get_event(event_id)
    assert stored is not None and stored.pdu["content"] == odd  # not redacted


class ExpiredKey(RemoteServer):
    """A server whose only key expired before it signed the events it sends now."""

    expired_at = 1_000

    async def lookup(self, server, key_id, valid_at_ms=None):
        if valid_at_ms is None or valid_at_ms > self.expired_at:
            return None
        return await super().lookup(server, key_id, valid_at_ms)


@pytest.mark.parametrize("version_id", ["1", "4", "5", "10"])
async def test_a_key_must_be_valid_at_the_event_from_v5_only(services, version_id):
    trusted = RemoteServer()
    room_id, version, join_id, _ = await _room_with_bob(services, version_id, trusted)
    expired = ExpiredKey()
    expired.ts = trusted.ts
    from tests.services.federation_support import make_pipeline

    late = make_pipeline(services, expired)
    event_id, pdu = await _message(services, expired, room_id, version, join_id, {"body": "x"})
    result = await late.receive_pdus(expired.name, [pdu])
    if version.enforce_key_validity:
        assert result[event_id] is not None and "signature" in result[event_id]
        assert await services.stores.events.get_event(event_id) is None
    else:
        assert result == {event_id: None}


@pytest.mark.parametrize(
    ("version_id", "change"),
    [
        ("1", lambda pdu: pdu.pop("event_id")),
        ("2", lambda pdu: pdu.update(event_id="$no-server-part")),
        ("3", lambda pdu: pdu.update(prev_events=[[pdu["prev_events"][0], {}]])),
        ("4", lambda pdu: pdu.update(auth_events=[[a, {}] for a in pdu["auth_events"]])),
    ],
)
async def test_event_ids_and_references_must_have_the_version_s_form(services, version_id, change):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await _room_with_bob(services, version_id, remote)
    _, pdu = await _message(services, remote, room_id, version, join_id, {"body": "x"})
    before = await extremities(services, room_id)
    change(pdu)
    pdu = _signed(remote, version, pdu)  # well signed: refused for its form alone
    result = await pipeline.receive_pdus(remote.name, [pdu])
    assert all(error is not None and "not a valid v" in error for error in result.values())
    assert await extremities(services, room_id) == before
