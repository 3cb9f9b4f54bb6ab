"""Typing expiry and presence idleness follow the injected clock, not the wall clock."""

import pytest

from sceau.clock import FakeClock
from sceau.homeserver import build_services
from sceau.protocol.signing import generate_signing_key
from tests.conftest import FAST_HASHER, make_config

ALICE = "@alice:test.local"
BOB = "@bob:test.local"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
async def hs(db, tmp_path, clock):
    return await build_services(
        make_config(tmp_path),
        clock=clock,
        db=db,
        signing_key=generate_signing_key(b"\x02" * 32, "test"),
        password_hasher=FAST_HASHER,
    )


async def _room_with_bob(hs):
    room = await hs.rooms.create_room(ALICE, {"preset": "public_chat"})
    await hs.rooms.join(BOB, room)
    return room


async def test_typing_expires_when_the_clock_passes_its_timeout(hs, clock):
    room = await _room_with_bob(hs)
    await hs.typing.set_typing(ALICE, room, True, 5000)
    started = hs.typing.position()
    clock.advance(4)
    assert hs.typing.typing_users(room) == [ALICE]
    clock.advance(2)
    assert hs.typing.typing_users(room) == []
    waiter = hs.notifier.register(BOB, [room])
    hs.typing.expire_due()
    assert waiter.woken
    assert hs.typing.position() == started + 1
    hs.typing.expire_due()
    assert hs.typing.position() == started + 1


async def test_typing_timeout_is_capped(hs, clock):
    room = await _room_with_bob(hs)
    await hs.typing.set_typing(ALICE, room, True, 10_000_000)
    clock.advance(121)
    assert hs.typing.typing_users(room) == []


async def test_idle_user_reads_offline_then_a_sync_brings_them_back(hs, clock):
    await _room_with_bob(hs)
    await hs.presence.on_sync(ALICE, "DEV", None)
    assert (await hs.presence.get_status(BOB, ALICE))["presence"] == "online"
    clock.advance(30)
    status = await hs.presence.get_status(BOB, ALICE)
    assert status["currently_active"] is True
    assert status["last_active_ago"] == 30_000
    clock.advance(90)
    assert (await hs.presence.get_status(BOB, ALICE))["currently_active"] is False
    clock.advance(10 * 60)
    assert (await hs.presence.get_status(BOB, ALICE))["presence"] == "offline"
    before = hs.stream.current()
    waiter = hs.notifier.register(BOB, [])
    await hs.presence.on_sync(ALICE, "DEV", None)
    assert hs.stream.current() > before
    assert waiter.woken
    assert (await hs.presence.get_status(BOB, ALICE))["presence"] == "online"


async def test_syncing_again_while_online_writes_nothing(hs, clock):
    await hs.presence.on_sync(ALICE, "DEV", None)
    before = hs.stream.current()
    for _ in range(5):
        clock.advance(60)
        await hs.presence.on_sync(ALICE, "DEV", "online")
    assert hs.stream.current() == before
    assert (await hs.presence.get_status(ALICE, ALICE))["last_active_ago"] == 0
