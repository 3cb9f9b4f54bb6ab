"""Unread notification counts per (user, room), kept in memory between syncs.

Every message wakes each member's long-poll, and each woken /sync reports the
room's unread counts: without a cache that is one counting query per member
per message. Counts live in ``event_push_actions``; every write to that table
goes through :class:`~sceau.storage.push.PushStore` or
:class:`~sceau.storage.receipts.ReceiptStore`, which tell this cache:

* a new notification is a *delta*: once its transaction commits, it is added
  to the cached counts that were read before the write began;
* anything else (a receipt, a redaction, leaving the room) *invalidates*.

A generation counter orders reads and writes. A read is cached only if no
write touched its key while it ran; a delta is applied only to an entry read
before its write started (a later read may already include the new row, so
that entry is dropped instead). A write that rolls back changes nothing.
"""

from collections import OrderedDict
from collections.abc import Callable, Iterable

from sceau.storage.database import Transaction
from sceau.streams import ChangeTracker

#: thread ('main' or root event ID) -> (notifications, highlights)
ThreadCounts = dict[str, tuple[int, int]]
Key = tuple[str, str]


def _key_name(key: Key) -> str:
    return key[0] + "\n" + key[1]


class UnreadCountCache:
    """Bounded (user, room) -> counts, with the ordering rules described above."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._max_entries = max_entries
        #: key -> (generation when its read began, counts)
        self._entries: OrderedDict[Key, tuple[int, ThreadCounts]] = OrderedDict()
        self._generation = 0
        #: Last generation at which a write touched each key.
        self._touched = ChangeTracker(0, max_keys=max_entries)
        #: Last generation of a write that touched every key (e.g. a redaction).
        self._all_touched = 0
        #: Told the keys a committed write changed (None: every key), for other processes.
        self.on_change: Callable[[list[Key] | None], None] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------------ reads

    def generation(self) -> int:
        """Note this before reading the database; pass it to :meth:`store`."""
        return self._generation

    def get(self, user_id: str, room_id: str) -> ThreadCounts | None:
        entry = self._entries.get((user_id, room_id))
        if entry is None:
            return None
        self._entries.move_to_end((user_id, room_id))
        return entry[1]

    def store(self, user_id: str, room_id: str, counts: ThreadCounts, read_at: int) -> None:
        """Remember counts read from the database, unless a write overlapped the read."""
        key = (user_id, room_id)
        if self._all_touched > read_at or self._touched.changed_since(_key_name(key), read_at):
            return
        self._entries[key] = (read_at, dict(counts))
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    # ----------------------------------------------------------------- writes

    def add(self, txn: Transaction, deltas: dict[Key, dict[str, tuple[int, int]]]) -> None:
        """New notifications written in ``txn``: counted once it commits."""
        started = self._touch(deltas)

        def apply() -> None:
            self._touch(deltas)
            for key, threads in deltas.items():
                entry = self._entries.get(key)
                if entry is None:
                    continue
                if entry[0] >= started:
                    # Read after the write began: it may already count these rows.
                    del self._entries[key]
                    continue
                counts = entry[1]
                for thread, (notes, highlights) in threads.items():
                    old = counts.get(thread, (0, 0))
                    counts[thread] = (old[0] + notes, old[1] + highlights)
            self._changed(list(deltas))

        txn.after_commit(apply)

    def invalidate(self, txn: Transaction, keys: Iterable[Key]) -> None:
        """Counts of these keys change in ``txn`` in a way only a read can tell."""
        chosen = list(keys)

        def drop() -> None:
            self._touch(chosen)
            for key in chosen:
                self._entries.pop(key, None)

        drop()
        txn.after_commit(lambda: (drop(), self._changed(chosen)))

    def invalidate_all(self, txn: Transaction) -> None:
        """Every key may change in ``txn`` (a redaction un-notifies a whole room)."""

        def drop() -> None:
            self._generation += 1
            self._all_touched = self._generation
            self._entries.clear()

        drop()
        txn.after_commit(lambda: (drop(), self._changed(None)))

    def forget(self, keys: list[Key] | None) -> None:
        """Another process changed these keys' counts (None: every key)."""
        self._generation += 1
        if keys is None:
            self._all_touched = self._generation
            self._entries.clear()
            return
        for key in keys:
            self._touched.record(_key_name(key), self._generation)
            self._entries.pop(key, None)

    def _changed(self, keys: list[Key] | None) -> None:
        if self.on_change is not None:
            self.on_change(keys)

    def _touch(self, keys: Iterable[Key]) -> int:
        self._generation += 1
        for key in keys:
            self._touched.record(_key_name(key), self._generation)
        return self._generation
