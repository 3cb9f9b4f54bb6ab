"""The checks on a received PDU that need no room state: format, size, signatures.

Kept apart from the pipeline so that events fetched for other reasons
(state, auth chains, backfill, a join's answer) go through the same checks.
The room version decides them, through the pure core (``protocol/pdu.py``):
its event ID and reference formats, canonical JSON enforced from v6 only
(floats and big integers of v1-v5 events are hashed and verified as their
servers encode them), and from v5 a signing key valid at the event's
``origin_server_ts`` (earlier versions take any key the server published).
"""

from typing import Protocol

from sceau.protocol.auth_rules import server_name_of
from sceau.protocol.canonical_json import CanonicalJsonError, encode_canonical_json
from sceau.protocol.event_format import (
    auth_event_ids,
    compute_event_id,
    event_id_server,
    prev_event_ids,
)
from sceau.protocol.events import room_id_for_create_event
from sceau.protocol.identifiers import is_valid_user_id
from sceau.protocol.pdu import PduFormatError as ProtocolFormatError
from sceau.protocol.pdu import minimum_key_validity, parse_pdu, verify_event_signature
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.signing import SignatureError
from sceau.protocol.types import JsonDict

MAX_PDU_BYTES = 65_536
MAX_ID_BYTES = 255
#: Synapse's limits, which every server in practice respects.
MAX_PREV_EVENTS = 20
MAX_AUTH_EVENTS = 10
MAX_DEPTH = 2**63 - 1


class VerifyKeyLookup(Protocol):
    """(server name, key ID, valid at) -> the ed25519 verify key, or None if it cannot be had.

    ``valid_at_ms``: the time the key must still be valid at (None: now; 0: any time).
    """

    async def __call__(
        self, server: str, key_id: str, valid_at_ms: int | None = None
    ) -> bytes | None: ...


class PduFormatError(Exception):
    """A PDU refused before it reaches the room; ``event_id`` if one was computed."""

    def __init__(self, message: str, event_id: str | None = None) -> None:
        super().__init__(message)
        self.event_id = event_id


def check_format(raw: JsonDict, version: RoomVersion) -> JsonDict:
    """Step 1: fields have their types and bounds, the whole fits in 65,536 bytes.

    Returns the PDU without ``unsigned`` (what other servers add there is
    not ours to keep).
    """
    try:
        size = len(encode_canonical_json(raw, strict=version.strict_canonical_json))
    except CanonicalJsonError as exc:
        raise PduFormatError(f"PDU is not canonical JSON: {exc}") from None
    if size > MAX_PDU_BYTES:
        raise PduFormatError("PDU is larger than 65536 bytes")
    try:
        parse_pdu(raw, version)  # the version's event ID, reference and room ID formats
    except (ProtocolFormatError, CanonicalJsonError, ValueError, KeyError, TypeError) as exc:
        raise PduFormatError(f"PDU is not a valid v{version.identifier} event: {exc}") from None
    pdu = {key: value for key, value in raw.items() if key != "unsigned"}
    event_type = pdu.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise PduFormatError("PDU has no type")
    if len(event_type.encode()) > MAX_ID_BYTES:
        raise PduFormatError("PDU type is longer than 255 bytes")
    sender = pdu.get("sender")
    if not isinstance(sender, str) or not is_valid_user_id(sender):
        raise PduFormatError("PDU sender is not a user ID")
    state_key = pdu.get("state_key")
    if "state_key" in pdu and (
        not isinstance(state_key, str) or len(state_key.encode()) > MAX_ID_BYTES
    ):
        raise PduFormatError("PDU state_key is not a string of at most 255 bytes")
    for key in ("content", "hashes", "signatures"):
        if not isinstance(pdu.get(key), dict):
            raise PduFormatError(f"PDU {key} is not an object")
    depth = pdu.get("depth")
    if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= MAX_DEPTH:
        raise PduFormatError("PDU depth is not an integer in range")
    ts = pdu.get("origin_server_ts")
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise PduFormatError("PDU origin_server_ts is not an integer")
    for key, limit, ids in (
        ("prev_events", MAX_PREV_EVENTS, prev_event_ids(pdu, version)),
        ("auth_events", MAX_AUTH_EVENTS, auth_event_ids(pdu, version)),
    ):
        value = pdu.get(key)
        if not isinstance(value, list) or len(ids) != len(value):
            raise PduFormatError(f"PDU {key} is not a list of event references")
        if len(value) > limit:
            raise PduFormatError(f"PDU has more than {limit} {key}")
    return pdu


def event_id_of(pdu: JsonDict, version: RoomVersion) -> str:
    try:
        return compute_event_id(pdu, version)
    except (ValueError, KeyError, TypeError, CanonicalJsonError) as exc:
        raise PduFormatError(f"PDU has no valid event ID: {exc}") from None


def room_id_of(pdu: JsonDict, event_id: str, version: RoomVersion) -> str:
    room_id = pdu.get("room_id")
    if isinstance(room_id, str):
        return room_id
    return room_id_for_create_event(event_id)


def signing_servers(pdu: JsonDict, event_id: str, version: RoomVersion) -> set[str]:
    """Whose signatures the event must carry: the sender's server, and more in places.

    v1/v2 event IDs name their server, which must sign too; a restricted
    join must be signed by the server of the user who authorised it.
    """
    servers = {server_name_of(str(pdu["sender"]))}
    if version.server_event_ids:
        origin = event_id_server(event_id)
        if origin:
            servers.add(origin)
    content = pdu.get("content")
    via = content.get("join_authorised_via_users_server") if isinstance(content, dict) else None
    if (
        version.restricted
        and pdu.get("type") == "m.room.member"
        and isinstance(content, dict)
        and content.get("membership") == "join"
        and isinstance(via, str)
    ):
        servers.add(server_name_of(via))
    return servers


async def check_signatures(
    pdu: JsonDict, event_id: str, version: RoomVersion, lookup: VerifyKeyLookup
) -> None:
    """Step 2a: every server that must have signed the redacted event did.

    With a key valid at the event's ``origin_server_ts`` from v5, any key
    of the server's before (``protocol.pdu.minimum_key_validity``).
    """
    signatures = pdu.get("signatures")
    assert isinstance(signatures, dict)
    valid_at = minimum_key_validity(pdu, version)
    for server in signing_servers(pdu, event_id, version):
        by_server = signatures.get(server)
        if not isinstance(by_server, dict) or not by_server:
            raise PduFormatError(f"PDU is not signed by {server}", event_id)
        for key_id in sorted(by_server):
            if not key_id.startswith("ed25519:"):
                continue
            key = await lookup(server, key_id, valid_at)
            if key is None:
                continue
            try:
                verify_event_signature(pdu, version, server, key_id, key)
            except SignatureError:
                continue
            break
        else:
            raise PduFormatError(f"PDU has no valid signature from {server}", event_id)
