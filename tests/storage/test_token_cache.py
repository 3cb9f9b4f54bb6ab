"""Access-token owners are cached, and the cache never outlives a deletion."""

import pytest

from sceau.storage.accounts import AccountStore


async def _user_with_token(store: AccountStore, db, user_id: str, token_hash: str) -> None:
    async with db.transaction() as txn:
        await store.insert_user(txn, user_id, None, 1)
        await store.upsert_device(txn, user_id, "DEV", None, 1)
        await store.insert_token(txn, token_hash, user_id, "DEV", 1)


async def test_a_cached_token_owner_is_served_without_a_query(db):
    store = AccountStore(db)
    await _user_with_token(store, db, "@a:test.local", "h1")
    assert (await store.get_token_owner("h1")).user_id == "@a:test.local"
    # Removed behind the store's back: the cached answer still stands, which
    # shows the second look-up did not reach the database.
    async with db.transaction() as txn:
        await txn.execute("DELETE FROM access_tokens WHERE token_hash = ?", "h1")
    assert (await store.get_token_owner("h1")).user_id == "@a:test.local"


async def test_a_deleted_token_stops_working_once_the_deletion_commits(db):
    store = AccountStore(db)
    await _user_with_token(store, db, "@a:test.local", "h1")
    assert await store.get_token_owner("h1") is not None
    async with db.transaction() as txn:
        await store.delete_token(txn, "h1")
    assert await store.get_token_owner("h1") is None


async def test_a_rolled_back_deletion_leaves_the_token_working(db):
    store = AccountStore(db)
    await _user_with_token(store, db, "@a:test.local", "h1")
    assert await store.get_token_owner("h1") is not None
    with pytest.raises(RuntimeError):
        async with db.transaction() as txn:
            await store.delete_tokens_for_user(txn, "@a:test.local")
            raise RuntimeError("boom")
    assert (await store.get_token_owner("h1")).device_id == "DEV"


async def test_a_read_that_overlaps_a_deletion_is_not_cached(db):
    store = AccountStore(db)
    await _user_with_token(store, db, "@a:test.local", "h1")
    read = store._read_token_owner

    async def read_then_delete(token_hash: str):
        owner = await read(token_hash)  # the row as it was before the deletion
        async with db.transaction() as txn:
            await store.delete_token(txn, token_hash)
        return owner

    store._read_token_owner = read_then_delete
    assert await store.get_token_owner("h1") is not None
    store._read_token_owner = read
    assert await store.get_token_owner("h1") is None


async def test_deactivation_invalidates_cached_owners(db):
    store = AccountStore(db)
    await _user_with_token(store, db, "@a:test.local", "h1")
    assert not (await store.get_token_owner("h1")).deactivated
    async with db.transaction() as txn:
        await store.set_deactivated(txn, "@a:test.local")
    assert (await store.get_token_owner("h1")).deactivated
