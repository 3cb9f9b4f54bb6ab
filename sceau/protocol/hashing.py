"""Content hashes, reference hashes and event IDs.

The content hash covers the whole event so tampering with redactable keys
is detectable; the reference hash covers only the redacted form so that an
event keeps its ID after redaction (server-server API, "Calculating the
reference hash"; room versions 3+ "Event IDs"). Rooms of versions 1 and 2
name events by a server-chosen ``event_id`` instead.
"""

import hashlib

from sceau.protocol.base64 import decode_base64, encode_base64
from sceau.protocol.canonical_json import encode_canonical_json
from sceau.protocol.identifiers import is_valid_legacy_event_id
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.types import JsonDict

_NOT_IN_CONTENT_HASH = ("unsigned", "signatures", "hashes")
_NOT_IN_REFERENCE_HASH = ("signatures", "unsigned")


def _strict(room_version: RoomVersion | None) -> bool:
    return room_version is None or room_version.strict_canonical_json


def _content_hash_bytes(pdu: JsonDict, room_version: RoomVersion | None = None) -> bytes:
    hashed = {k: v for k, v in pdu.items() if k not in _NOT_IN_CONTENT_HASH}
    return hashlib.sha256(encode_canonical_json(hashed, strict=_strict(room_version))).digest()


def compute_content_hash(pdu: JsonDict, room_version: RoomVersion | None = None) -> str:
    """Return the SHA-256 content hash of ``pdu`` as unpadded standard Base64.

    With a ``room_version`` of 1 to 5, values canonical JSON forbids (floats,
    big integers) are hashed the way those rooms' servers encode them.
    """
    return encode_base64(_content_hash_bytes(pdu, room_version))


def add_content_hash(pdu: JsonDict) -> JsonDict:
    """Return a copy of ``pdu`` with ``hashes.sha256`` set to its content hash.

    Other hash algorithms already present under ``hashes`` are kept.
    """
    hashes = dict(pdu.get("hashes") or {})
    hashes["sha256"] = compute_content_hash(pdu)
    return {**pdu, "hashes": hashes}


def check_content_hash(pdu: JsonDict, room_version: RoomVersion | None = None) -> bool:
    """Tell whether ``pdu`` carries a correct ``hashes.sha256``.

    A missing, non-string or non-Base64 hash counts as incorrect, so that a
    receiving server redacts the event rather than trusting its content.
    """
    hashes = pdu.get("hashes")
    if not isinstance(hashes, dict):
        return False
    claimed = hashes.get("sha256")
    if not isinstance(claimed, str):
        return False
    try:
        return decode_base64(claimed) == _content_hash_bytes(pdu, room_version)
    except ValueError:
        return False


def compute_reference_hash(pdu: JsonDict, room_version: RoomVersion) -> bytes:
    """Return the SHA-256 reference hash of ``pdu`` (32 raw bytes).

    ``pdu`` must be in federation form: in room versions with hash-based
    event IDs a PDU carries no ``event_id`` key, and one that did would be
    hashed like any other protected key.
    """
    redacted = redact_event(pdu, room_version)
    for key in _NOT_IN_REFERENCE_HASH:
        redacted.pop(key, None)
    encoded = encode_canonical_json(redacted, strict=room_version.strict_canonical_json)
    return hashlib.sha256(encoded).digest()


def is_server_event_id(value: object) -> bool:
    """Whether ``value`` is a v1/v2 event ID: ``$opaque:server`` with a valid server name."""
    if not isinstance(value, str) or value.find(":") < 2:
        return False
    return is_valid_legacy_event_id(value)


def compute_event_id(pdu: JsonDict, room_version: RoomVersion) -> str:
    """Return the event ID of a PDU in federation form.

    v3+: ``$`` plus the reference hash, in standard unpadded Base64 (v3) or
    URL-safe unpadded Base64 (v4+). v1/v2: the server-chosen ``event_id``
    the PDU carries (``$opaque:server``); ValueError if it has none.
    """
    if room_version.server_event_ids:
        event_id = pdu.get("event_id")
        if not isinstance(event_id, str) or not is_server_event_id(event_id):
            raise ValueError("a v1/v2 PDU must carry an event_id of the form $opaque:server")
        return event_id
    urlsafe = room_version.event_id_format == "hash_urlsafe"
    return "$" + encode_base64(compute_reference_hash(pdu, room_version), urlsafe=urlsafe)
