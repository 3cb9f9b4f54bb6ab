"""What the transport hands to the room event graph, and what it gets back."""

from typing import Any, Protocol


class PduReceiver(Protocol):
    """Takes the PDUs of an inbound transaction through the receive pipeline.

    Returns, for each event ID, None when the PDU was accepted, or the reason
    it was not (the ``error`` of the transaction's ``pdus`` answer).
    """

    async def receive_pdus(self, origin: str, pdus: list[dict[str, Any]]) -> dict[str, str | None]: ...


class UnsupportedPduReceiver:
    """Until the room event graph takes remote events: each PDU is reported not accepted.

    The sending server sees an explicit error per event instead of a
    pretended success, and nothing is written.
    """

    async def receive_pdus(self, origin: str, pdus: list[dict[str, Any]]) -> dict[str, str | None]:
        answer: dict[str, str | None] = {}
        for index, pdu in enumerate(pdus):
            event_id = pdu.get("event_id") if isinstance(pdu, dict) else None
            key = event_id if isinstance(event_id, str) else f"(pdu {index})"
            answer[key] = "This server does not accept remote room events yet"
        return answer
