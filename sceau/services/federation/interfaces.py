"""What the transport hands to the room event graph, and what it gets back."""

from typing import Any, Protocol

from sceau.protocol.hashing import compute_event_id
from sceau.protocol.room_versions import DEFAULT_ROOM_VERSION


class PduReceiver(Protocol):
    """Takes the PDUs of an inbound transaction through the receive pipeline.

    Returns, for each event ID, None when the PDU was accepted, or the reason
    it was not (the ``error`` of the transaction's ``pdus`` answer).
    """

    async def receive_pdus(
        self, origin: str, pdus: list[dict[str, Any]]
    ) -> dict[str, str | None]: ...


class UnsupportedPduReceiver:
    """Until the room event graph takes remote events: each PDU is reported not accepted.

    The sending server sees an explicit error per event instead of a
    pretended success, and nothing is written.
    """

    async def receive_pdus(self, origin: str, pdus: list[dict[str, Any]]) -> dict[str, str | None]:
        answer: dict[str, str | None] = {}
        for index, pdu in enumerate(pdus):
            answer[event_id_of(pdu, index)] = "This server does not accept remote room events yet"
        return answer


def event_id_of(pdu: object, index: int) -> str:
    """The ID a transaction answer gives a PDU: its own ``event_id`` (v1, v2) or its
    reference hash in the default version's format; a placeholder for non-objects."""
    if not isinstance(pdu, dict):
        return f"(pdu {index})"
    event_id = pdu.get("event_id")
    if isinstance(event_id, str):
        return event_id
    try:
        return compute_event_id(pdu, DEFAULT_ROOM_VERSION)
    except Exception:
        return f"(pdu {index})"
