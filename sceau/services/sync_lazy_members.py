"""Lazy-loaded members a device already holds, so /sync does not send them again.

With ``lazy_load_members`` a reply carries the member events of the
timeline's senders. The spec's ``include_redundant_members`` (false by
default) asks the server not to resend one the client already has: in a busy
room every reply would otherwise repeat the same few senders' member events.

A member event counts as held only once the device has *acknowledged* the
reply that carried it, by syncing from that reply's ``next_batch`` or later.
A reply lost on the way (the client retries from its old token) is thus sent
again in full. What is remembered is bounded and kept in memory only: after a
restart, or for a device pushed out, members are sent again, which is
redundant but never wrong.
"""

from collections import OrderedDict
from typing import Any

MAX_DEVICES = 10_000
MAX_MEMBERS_PER_DEVICE = 1_000

#: (room ID, member's user ID) -> (member event ID, position of the reply that carried it)
Sent = dict[tuple[str, str], tuple[str, int]]


class LazyMembersSent:
    """Per device, the member events sent in lazy-loading replies, and when."""

    def __init__(
        self, max_devices: int = MAX_DEVICES, max_members: int = MAX_MEMBERS_PER_DEVICE
    ) -> None:
        self._max_devices = max_devices
        self._max_members = max_members
        self._devices: OrderedDict[tuple[str, str], Sent] = OrderedDict()

    def trim_and_note(
        self,
        user_id: str,
        device_id: str,
        since: int | None,
        upto: int,
        joined: dict[str, dict[str, Any]],
    ) -> None:
        """Drop held member events from the ``joined`` entries' state; note the ones sent.

        ``since`` is None for a new sync sequence (initial or full-state sync):
        the client starts from nothing, so everything it held is forgotten.
        """
        key = (user_id, device_id)
        if since is None:
            self._devices.pop(key, None)
        sent = self._devices.get(key)
        if sent is None:
            if not joined:
                return
            sent = self._devices[key] = {}
            while len(self._devices) > self._max_devices:
                self._devices.popitem(last=False)
        else:
            self._devices.move_to_end(key)
        for room_id, entry in joined.items():
            state = entry.get("state", {}).get("events", [])
            if since is not None and state:
                kept = [e for e in state if not _held(sent, room_id, e, since)]
                if len(kept) != len(state):
                    entry["state"] = {**entry["state"], "events": kept}
                    state = kept
            for event in [*state, *entry.get("timeline", {}).get("events", [])]:
                _note(sent, room_id, event, since, upto)
        while len(sent) > self._max_members:
            del sent[next(iter(sent))]

    def __len__(self) -> int:
        return len(self._devices)


def _held(sent: Sent, room_id: str, event: dict[str, Any], since: int) -> bool:
    """Whether this member event reached the device in a reply it has acknowledged."""
    if event.get("type") != "m.room.member":
        return False
    noted = sent.get((room_id, event.get("state_key", "")))
    return noted is not None and noted[0] == event.get("event_id") and noted[1] <= since


def _note(sent: Sent, room_id: str, event: dict[str, Any], since: int | None, upto: int) -> None:
    if event.get("type") != "m.room.member" or "state_key" not in event:
        return
    if since is not None and _held(sent, room_id, event, since):
        return  # already held: keep the position that proves it
    slot = (room_id, event["state_key"])
    sent.pop(slot, None)  # re-inserted last: the oldest notes go first
    sent[slot] = (event["event_id"], upto)
