"""Cached unread counts follow every committed write and never count a row twice."""

from sceau.storage.push import PushAction, PushStore
from sceau.storage.unread_cache import UnreadCountCache

ALICE, ROOM = "@alice:test.local", "!r:test.local"


class _Txn:
    """Just enough of a transaction to collect and fire after-commit callbacks."""

    def __init__(self) -> None:
        self.callbacks = []

    def after_commit(self, callback) -> None:
        self.callbacks.append(callback)

    def commit(self) -> None:
        for callback in self.callbacks:
            callback()


def test_a_committed_notification_is_added_to_counts_read_before_it():
    cache = UnreadCountCache()
    cache.store(ALICE, ROOM, {"main": (2, 0)}, cache.generation())
    txn = _Txn()
    cache.add(txn, {(ALICE, ROOM): {"main": (1, 1)}})
    assert cache.get(ALICE, ROOM) == {"main": (2, 0)}  # not before the commit
    txn.commit()
    assert cache.get(ALICE, ROOM) == {"main": (3, 1)}


def test_a_rolled_back_notification_changes_nothing():
    cache = UnreadCountCache()
    cache.store(ALICE, ROOM, {}, cache.generation())
    cache.add(_Txn(), {(ALICE, ROOM): {"main": (1, 0)}})  # never commits
    assert cache.get(ALICE, ROOM) == {}


def test_a_read_that_overlaps_a_write_is_not_cached():
    cache = UnreadCountCache()
    read_at = cache.generation()
    txn = _Txn()
    cache.add(txn, {(ALICE, ROOM): {"main": (1, 0)}})
    cache.store(ALICE, ROOM, {"main": (1, 0)}, read_at)
    assert cache.get(ALICE, ROOM) is None


def test_counts_read_while_a_write_is_in_flight_are_dropped_at_its_commit():
    cache = UnreadCountCache()
    txn = _Txn()
    cache.add(txn, {(ALICE, ROOM): {"main": (1, 0)}})
    # This read began after the write: it may or may not include the new row.
    cache.store(ALICE, ROOM, {"main": (1, 0)}, cache.generation())
    txn.commit()
    assert cache.get(ALICE, ROOM) is None


def test_an_invalidation_drops_counts_now_and_at_commit():
    cache = UnreadCountCache()
    cache.store(ALICE, ROOM, {"main": (4, 0)}, cache.generation())
    txn = _Txn()
    read_at = cache.generation()
    cache.invalidate(txn, [(ALICE, ROOM)])
    assert cache.get(ALICE, ROOM) is None
    cache.store(ALICE, ROOM, {"main": (4, 0)}, read_at)  # overlapped: refused
    assert cache.get(ALICE, ROOM) is None
    cache.store(ALICE, ROOM, {"main": (4, 0)}, cache.generation())  # pre-commit view
    txn.commit()
    assert cache.get(ALICE, ROOM) is None


def test_a_room_wide_invalidation_drops_every_user():
    cache = UnreadCountCache()
    cache.store(ALICE, ROOM, {"main": (1, 0)}, cache.generation())
    cache.store("@bob:test.local", "!other:test.local", {}, cache.generation())
    read_at = cache.generation()
    cache.invalidate_all(_Txn())
    assert (
        cache.get(ALICE, ROOM) is None and cache.get("@bob:test.local", "!other:test.local") is None
    )
    cache.store(ALICE, ROOM, {}, read_at)
    assert cache.get(ALICE, ROOM) is None


async def test_push_store_counts_stay_right_across_inserts_and_clears(db):
    store = PushStore(db)
    assert await store.unread_counts(ALICE, [ROOM]) == {}
    async with db.transaction() as txn:
        await store.insert_actions(
            txn,
            [PushAction(ALICE, ROOM, 10, "main", False), PushAction(ALICE, ROOM, 11, "$t", True)],
        )
    assert store.unread.get(ALICE, ROOM) == {"main": (1, 0), "$t": (1, 1)}
    assert await store.unread_counts(ALICE, [ROOM]) == {ROOM: {"main": (1, 0), "$t": (1, 1)}}
    await store.forget_room_actions(ALICE, ROOM)
    assert await store.unread_counts(ALICE, [ROOM]) == {}
