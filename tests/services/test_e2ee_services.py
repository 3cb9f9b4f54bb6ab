"""E2EE services below HTTP: restart safety, transaction-ID expiry, deactivation, hooks.

Built on the ``services`` fixture (both database backends) with a fake clock
where time matters.
"""

from pathlib import Path

from sceau.clock import FakeClock
from sceau.homeserver import build_services
from sceau.protocol.signing import generate_signing_key
from sceau.services.e2ee import to_device as to_device_module
from tests.conftest import FAST_HASHER, make_config
from tests.http.test_keys_helpers import ClientDevice, CrossSigning


async def _services_on(db, tmp_path: Path, clock=None):
    return await build_services(
        make_config(tmp_path),
        clock=clock or FakeClock(),
        db=db,
        signing_key=generate_signing_key(b"\x01" * 32, "test"),
        password_hasher=FAST_HASHER,
    )


async def _user(services, localpart: str) -> tuple[str, str]:
    user_id = f"@{localpart}:test.local"
    device_id = "DEV" + localpart.upper()
    async with services.stores.db.transaction() as txn:
        await services.stores.accounts.insert_user(txn, user_id, None, 0)
        await services.stores.accounts.upsert_device(txn, user_id, device_id, None, 0)
    return user_id, device_id


async def test_stream_resumes_above_to_device_and_device_list_positions(db, tmp_path):
    first = await _services_on(db, tmp_path)
    alice, alice_dev = await _user(first, "alice")
    bob, bob_dev = await _user(first, "bob")
    await first.e2ee.to_device.send(alice, alice_dev, "m.test", "t", {bob: {bob_dev: {"n": 1}}})
    await first.e2ee.device_lists.mark_changed([alice])
    written = first.stream.current()
    assert written >= 2
    # A restart: positions come back from the database, not from memory.
    second = await _services_on(db, tmp_path)
    assert second.stream.current() >= written


async def test_to_device_transaction_ids_expire_after_a_day(db, tmp_path):
    clock = FakeClock()
    services = await _services_on(db, tmp_path, clock)
    alice, alice_dev = await _user(services, "alice")
    bob, bob_dev = await _user(services, "bob")
    store = services.e2ee.to_device._store
    await services.e2ee.to_device.send(alice, alice_dev, "m.test", "once", {bob: {bob_dev: {}}})
    clock.advance(to_device_module.TXN_LIFETIME_MS / 1000 + 60)
    async with db.transaction() as txn:
        await store.forget_txns_before(txn, clock.time_ms() - to_device_module.TXN_LIFETIME_MS)
        assert await store.claim_txn(txn, alice, alice_dev, "m.test", "once", clock.time_ms())


async def test_devices_deleted_hook_drops_keys_and_inbox(db, tmp_path):
    services = await _services_on(db, tmp_path)
    alice, alice_dev = await _user(services, "alice")
    bob, bob_dev = await _user(services, "bob")
    device = ClientDevice(alice, alice_dev)
    await services.e2ee.keys.upload(
        alice,
        alice_dev,
        {"device_keys": device.device_keys(), "one_time_keys": device.one_time_keys(3)},
    )
    await services.e2ee.to_device.send(bob, bob_dev, "m.test", "x", {alice: {alice_dev: {}}})
    async with db.transaction() as txn:
        await services.stores.accounts.delete_device(txn, alice, alice_dev)
    await services.account_hooks.fire_devices_deleted(alice, [alice_dev])
    assert await services.e2ee.keys.one_time_key_counts(alice, alice_dev) == {
        "signed_curve25519": 0
    }
    assert not await services.e2ee.to_device._store.has_messages(alice, alice_dev)
    query = await services.e2ee.keys.query(bob, {alice: []})
    assert query["device_keys"][alice] == {}


async def test_deactivation_drops_cross_signing_keys_and_backups(db, tmp_path):
    services = await _services_on(db, tmp_path)
    alice, _dev = await _user(services, "alice")
    bob, _bob_dev = await _user(services, "bob")
    await services.e2ee.cross_signing.upload_keys(alice, CrossSigning(alice).upload_body())
    version = await services.e2ee.key_backup.create_version(
        alice, {"algorithm": "m.megolm_backup.v1.curve25519-aes-sha2", "auth_data": {}}
    )
    await services.account_hooks.fire_deactivated(alice)
    query = await services.e2ee.keys.query(bob, {alice: []})
    assert query["master_keys"] == {} and query["self_signing_keys"] == {}
    assert await services.e2ee.key_backup._store.get_version(alice, int(version)) is None


async def test_device_list_change_wakes_only_users_sharing_a_room(db, tmp_path):
    services = await _services_on(db, tmp_path)
    alice, _ = await _user(services, "alice")
    bob, _ = await _user(services, "bob")
    carol, _ = await _user(services, "carol")
    room = await services.rooms.create_room(alice, {"preset": "public_chat"})
    await services.rooms.join(bob, room, None)
    waiters = {u: services.notifier.register(u, []) for u in (alice, bob, carol)}
    await services.e2ee.device_lists.mark_changed([alice])
    assert waiters[alice].woken and waiters[bob].woken
    assert not waiters[carol].woken
