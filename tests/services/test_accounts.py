"""AccountService, DeviceService and ProfileService called directly: hooks and admin operations."""

from typing import Any

import pytest

from sceau.errors import MatrixError
from sceau.services.accounts import AccountHooks, RegistrationRequest, Session
from sceau.services.auth import Requester

PASSWORD = "correct horse battery"
DUMMY = {"type": "m.login.dummy"}


class Recorder:
    """Registers on every hook and remembers the calls in order."""

    def __init__(self, hooks: AccountHooks) -> None:
        self.calls: list[tuple[Any, ...]] = []
        hooks.device_created.append(self._record("device_created"))
        hooks.devices_deleted.append(self._record("devices_deleted"))
        hooks.deactivated.append(self._record("deactivated"))
        hooks.profile_changed.append(self._record("profile_changed"))

    def _record(self, name: str):
        async def callback(*args: Any) -> None:
            self.calls.append((name, *args))

        return callback


@pytest.fixture
def recorder(services) -> Recorder:
    return Recorder(services.account_hooks)


async def register(services, username: str, device_id: str | None = None) -> Session:
    request = RegistrationRequest(
        username=username, password=PASSWORD, device_id=device_id, auth=DUMMY
    )
    session = await services.accounts.register(request, "user", "127.0.0.1")
    assert isinstance(session, Session)
    return session


def requester_of(session: Session) -> Requester:
    return Requester(session.user_id, session.device_id, token_hash="")


async def test_registration_and_login_fire_device_created_once_per_new_device(services, recorder):
    alice = await register(services, "alice", device_id="ONE")
    await services.accounts.login("alice", PASSWORD, "TWO", None, "127.0.0.1")
    await services.accounts.login("alice", PASSWORD, "TWO", None, "127.0.0.1")
    assert recorder.calls == [
        ("device_created", alice.user_id, "ONE"),
        ("device_created", alice.user_id, "TWO"),
    ]


async def test_logout_and_logout_all_fire_devices_deleted(services, recorder):
    alice = await register(services, "alice", device_id="ONE")
    await services.accounts.login("alice", PASSWORD, "TWO", None, "127.0.0.1")
    three = await services.accounts.login("alice", PASSWORD, "THREE", None, "127.0.0.1")
    recorder.calls.clear()
    await services.accounts.logout(requester_of(alice))
    await services.accounts.logout_all(requester_of(three))
    assert recorder.calls == [
        ("devices_deleted", alice.user_id, ["ONE"]),
        ("devices_deleted", alice.user_id, ["THREE", "TWO"]),
    ]


async def test_deactivation_fires_devices_deleted_then_deactivated(services, recorder):
    alice = await register(services, "alice", device_id="ONE")
    recorder.calls.clear()
    await services.accounts.deactivate_user(alice.user_id)
    assert recorder.calls == [
        ("devices_deleted", alice.user_id, ["ONE"]),
        ("deactivated", alice.user_id),
    ]
    user = await services.stores.accounts.get_user(alice.user_id)
    assert user is not None and user.deactivated


async def test_profile_changes_fire_profile_changed_only_when_the_value_changes(services, recorder):
    alice = await register(services, "alice")
    recorder.calls.clear()
    who = requester_of(alice)
    await services.profile.set_field(who, alice.user_id, "displayname", "Alice")
    await services.profile.set_field(who, alice.user_id, "displayname", "Alice")
    await services.profile.set_field(who, alice.user_id, "avatar_url", "mxc://test.local/a")
    assert recorder.calls == [
        ("profile_changed", alice.user_id),
        ("profile_changed", alice.user_id),
    ]


async def test_a_failing_hook_neither_fails_the_request_nor_undoes_the_change(services):
    async def broken(user_id: str) -> None:
        raise RuntimeError("room service is down")

    services.account_hooks.deactivated.insert(0, broken)
    alice = await register(services, "alice")
    await services.accounts.deactivate_user(alice.user_id)
    user = await services.stores.accounts.get_user(alice.user_id)
    assert user is not None and user.deactivated
    with pytest.raises(MatrixError) as err:
        await services.accounts.login("alice", PASSWORD, None, None, "127.0.0.1")
    assert err.value.errcode == "M_USER_DEACTIVATED"


async def test_device_deletion_through_the_device_service_fires_devices_deleted(services, recorder):
    alice = await register(services, "alice", device_id="ONE")
    await services.accounts.login("alice", PASSWORD, "TWO", None, "127.0.0.1")
    recorder.calls.clear()
    auth = {"type": "m.login.password", "user": "alice", "password": PASSWORD}
    await services.devices.delete_many(requester_of(alice), ["TWO", "NOPE"], auth)
    assert recorder.calls == [("devices_deleted", alice.user_id, ["TWO"])]
    assert [d.device_id for d in await services.devices.list_devices(alice.user_id)] == ["ONE"]


async def test_admin_create_user_makes_an_account_without_a_session(services):
    user_id = await services.accounts.create_user("Root", PASSWORD, is_admin=True)
    assert user_id == "@root:test.local"
    user = await services.stores.accounts.get_user(user_id)
    assert user is not None and user.is_admin
    assert await services.stores.accounts.get_devices(user_id) == []
    session = await services.accounts.login("root", PASSWORD, None, None, "127.0.0.1")
    assert session.user_id == user_id
    with pytest.raises(MatrixError) as err:
        await services.accounts.create_user("root", PASSWORD, is_admin=False)
    assert err.value.errcode == "M_USER_IN_USE"


async def test_admin_reset_password_ends_every_session(services):
    alice = await register(services, "alice")
    await services.accounts.reset_password(alice.user_id, "brand new")
    assert await services.stores.accounts.get_devices(alice.user_id) == []
    with pytest.raises(MatrixError):
        await services.auth.authenticate(alice.access_token)
    session = await services.accounts.login("alice", "brand new", None, None, "127.0.0.1")
    assert session.user_id == alice.user_id


async def test_admin_operations_on_unknown_users_are_not_found(services):
    for operation in (
        services.accounts.reset_password("@ghost:test.local", "x"),
        services.accounts.deactivate_user("@ghost:test.local"),
    ):
        with pytest.raises(MatrixError) as err:
            await operation
        assert err.value.errcode == "M_NOT_FOUND"


async def test_a_deactivated_users_password_cannot_be_reset(services):
    alice = await register(services, "alice")
    await services.accounts.deactivate_user(alice.user_id)
    with pytest.raises(MatrixError) as err:
        await services.accounts.reset_password(alice.user_id, "again")
    assert err.value.errcode == "M_FORBIDDEN"


@pytest.mark.parametrize(
    ("username", "expected"),
    [("alice", "@alice:test.local"), ("ALICE", "@alice:test.local"), ("a.b_c=d-e/f+g", None)],
)
def test_user_id_for_lowercases_and_accepts_the_strict_grammar(services, username, expected):
    assert services.accounts.user_id_for(username) == (expected or f"@{username}:test.local")


@pytest.mark.parametrize("username", ["", "a b", "a:b", "ä", "x" * 250])
def test_user_id_for_refuses_invalid_localparts(services, username):
    with pytest.raises(MatrixError) as err:
        services.accounts.user_id_for(username)
    assert err.value.errcode == "M_INVALID_USERNAME"
