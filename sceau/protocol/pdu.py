"""Checking a received PDU's format for its room version, before anything else.

This is step 1 of the server-server API's "Checks performed on receipt of a
PDU": an event that fails here is dropped. It checks sizes (65,536 bytes for
the canonical JSON of the whole PDU; 255 bytes for IDs, type and state key),
field types, the event ID and reference format of the room version, and the
count limits of ``prev_events`` (20) and ``auth_events`` (10). It also says
which servers must have signed the event, and verifies one such signature
over the redacted event, so the caller only brings the keys.
"""

from dataclasses import dataclass
from typing import Any

from sceau.protocol.canonical_json import CanonicalJsonError, encode_canonical_json
from sceau.protocol.event_format import auth_event_ids, event_id_server, prev_event_ids
from sceau.protocol.hashing import compute_event_id, is_server_event_id
from sceau.protocol.identifiers import is_valid_room_id, is_valid_user_id
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.signing import verify_json_signature
from sceau.protocol.types import JsonDict

MAX_PDU_BYTES = 65_536
MAX_ID_BYTES = 255
MAX_PREV_EVENTS = 20
MAX_AUTH_EVENTS = 10
MAX_DEPTH = 2**63 - 1


class PduFormatError(ValueError):
    """The PDU is not a valid event of its room version; it must be dropped."""


@dataclass(frozen=True)
class ParsedPdu:
    """A PDU that passed the format checks, with what its version format hides."""

    event_id: str
    room_id: str
    pdu: JsonDict
    prev_event_ids: tuple[str, ...]
    auth_event_ids: tuple[str, ...]


def parse_pdu(pdu: object, room_version: RoomVersion) -> ParsedPdu:
    """Check ``pdu`` against ``room_version``'s event format; PduFormatError if not.

    The room ID of a v12 create event (which carries none) is derived from
    its event ID. The PDU is returned as received, ``unsigned`` included.
    """
    if not isinstance(pdu, dict):
        raise PduFormatError("a PDU must be a JSON object")
    _check_size(pdu, room_version)
    _check_common_fields(pdu)
    _check_references(pdu, "prev_events", MAX_PREV_EVENTS, room_version)
    _check_references(pdu, "auth_events", MAX_AUTH_EVENTS, room_version)
    if room_version.server_event_ids:
        event_id = pdu.get("event_id")
        if not is_server_event_id(event_id) or not _short(event_id):
            raise PduFormatError("a v1/v2 PDU needs an event_id of the form $opaque:server")
    event_id = compute_event_id(pdu, room_version)
    room_id = _room_id(pdu, event_id, room_version)
    return ParsedPdu(
        event_id=event_id,
        room_id=room_id,
        pdu=pdu,
        prev_event_ids=tuple(prev_event_ids(pdu)),
        auth_event_ids=tuple(auth_event_ids(pdu)),
    )


def _check_size(pdu: JsonDict, room_version: RoomVersion) -> None:
    try:
        size = len(encode_canonical_json(pdu, strict=room_version.strict_canonical_json))
    except CanonicalJsonError as exc:
        raise PduFormatError(f"PDU is not canonical JSON: {exc}") from None
    if size > MAX_PDU_BYTES:
        raise PduFormatError(f"PDU is {size} bytes, more than {MAX_PDU_BYTES}")


def _short(value: Any) -> bool:
    return isinstance(value, str) and len(value.encode("utf-8", "surrogatepass")) <= MAX_ID_BYTES


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_common_fields(pdu: JsonDict) -> None:
    if not _short(pdu.get("type")):
        raise PduFormatError("type must be a string of at most 255 bytes")
    if "state_key" in pdu and not _short(pdu["state_key"]):
        raise PduFormatError("state_key must be a string of at most 255 bytes")
    sender = pdu.get("sender")
    if not isinstance(sender, str) or not is_valid_user_id(sender):
        raise PduFormatError("sender must be a valid user ID")
    if not isinstance(pdu.get("content"), dict):
        raise PduFormatError("content must be an object")
    if not _is_int(pdu.get("origin_server_ts")):
        raise PduFormatError("origin_server_ts must be an integer")
    depth = pdu.get("depth")
    if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= MAX_DEPTH:
        raise PduFormatError("depth must be a non-negative integer")
    hashes = pdu.get("hashes")
    if not isinstance(hashes, dict) or not isinstance(hashes.get("sha256"), str):
        raise PduFormatError("hashes must be an object with a sha256 string")
    signatures = pdu.get("signatures")
    if not isinstance(signatures, dict) or not all(
        isinstance(by_key, dict) and all(isinstance(sig, str) for sig in by_key.values())
        for by_key in signatures.values()
    ):
        raise PduFormatError("signatures must map servers to objects of strings")
    if "unsigned" in pdu and not isinstance(pdu["unsigned"], dict):
        raise PduFormatError("unsigned must be an object")
    if "redacts" in pdu and not isinstance(pdu["redacts"], str):
        raise PduFormatError("redacts must be a string")


def _check_references(pdu: JsonDict, field: str, limit: int, room_version: RoomVersion) -> None:
    value = pdu.get(field)
    if not isinstance(value, list):
        raise PduFormatError(f"{field} must be a list")
    if len(value) > limit:
        raise PduFormatError(f"{field} holds more than {limit} events")
    for item in value:
        if room_version.server_event_ids:
            ok = (
                isinstance(item, list)
                and len(item) == 2
                and _short(item[0])
                and str(item[0]).startswith("$")
                and isinstance(item[1], dict)
            )
        else:
            ok = _short(item) and str(item).startswith("$")
        if not ok:
            form = "[event_id, {hashes}] pairs" if room_version.server_event_ids else "event IDs"
            raise PduFormatError(
                f"{field} must hold {form} in room version {room_version.identifier}"
            )


def _room_id(pdu: JsonDict, event_id: str, room_version: RoomVersion) -> str:
    is_create = pdu.get("type") == "m.room.create"
    if room_version.room_id_from_create_event and is_create:
        if "room_id" in pdu:
            raise PduFormatError("a create event has no room_id in this room version")
        return "!" + event_id[1:]
    room_id = pdu.get("room_id")
    if not isinstance(room_id, str) or not is_valid_room_id(room_id, room_version):
        raise PduFormatError("room_id is not a valid room ID for this room version")
    return room_id


def required_signers(pdu: JsonDict, room_version: RoomVersion) -> set[str]:
    """The servers whose signatures a received event must carry.

    The sender's server; in v1/v2 also the server of the event ID; from v8
    the server of ``join_authorised_via_users_server`` on a join. (The
    signature of a third-party invite's ``signed`` block is the auth rules'
    business.)
    """
    servers = {str(pdu.get("sender", "")).partition(":")[2]}
    if room_version.server_event_ids:
        server = event_id_server(str(pdu.get("event_id", "")))
        if server is not None:
            servers.add(server)
    content = pdu.get("content")
    if (
        room_version.restricted
        and isinstance(content, dict)
        and content.get("membership") == "join"
    ):
        via = content.get("join_authorised_via_users_server")
        if isinstance(via, str):
            servers.add(via.partition(":")[2])
    return servers


def verify_event_signature(
    pdu: JsonDict, room_version: RoomVersion, server_name: str, key_id: str, verify_key: bytes
) -> None:
    """Verify ``server_name``'s signature on the redacted event (SignatureError if bad).

    Signatures cover the redacted form, which in v1/v2 includes ``event_id``.
    """
    verify_json_signature(
        redact_event(pdu, room_version),
        server_name,
        key_id,
        verify_key,
        strict=room_version.strict_canonical_json,
    )


def minimum_key_validity(pdu: JsonDict, room_version: RoomVersion) -> int:
    """The ``valid_until_ts`` a signing key needs to verify this event.

    From v5 (``enforce_key_validity``) a key must still be valid at the
    event's ``origin_server_ts``; earlier versions accept any key the server
    published, even one that has since expired (0).
    """
    if not room_version.enforce_key_validity:
        return 0
    ts = pdu.get("origin_server_ts")
    return ts if isinstance(ts, int) and not isinstance(ts, bool) else 0
