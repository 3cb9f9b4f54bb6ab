"""``sceau admin``: the shell commands create, list, reset and close accounts in the data folder."""

import asyncio
from pathlib import Path

import pytest

from sceau import admin_cli
from sceau.cli import main
from sceau.config import load_config
from sceau.homeserver import build_services


def admin(data_dir: Path, *args: str) -> None:
    main(["admin", *args, "--data-dir", str(data_dir), "--server-name", "cli.test"])


def account(data_dir: Path, user_id: str):
    """The stored user record, read through a fresh set of services."""

    async def read():
        services = await build_services(load_config(data_dir / "sceau.yaml"))
        try:
            return await services.stores.accounts.get_user(user_id)
        finally:
            await services.stores.db.close()

    return asyncio.run(read())


def can_log_in(data_dir: Path, user: str, password: str) -> bool:
    async def attempt() -> bool:
        services = await build_services(load_config(data_dir / "sceau.yaml"))
        try:
            await services.accounts.login(user, password, None, None, "127.0.0.1")
            return True
        except Exception:
            return False
        finally:
            await services.stores.db.close()

    return asyncio.run(attempt())


def test_create_user_with_password_and_admin_flag(tmp_path, capsys):
    admin(tmp_path, "create-user", "Alice", "--password", "S3cret-pw-2026", "--admin")
    assert "Created @alice:cli.test (admin)" in capsys.readouterr().out
    user = account(tmp_path, "@alice:cli.test")
    assert user is not None and user.is_admin and not user.deactivated
    assert can_log_in(tmp_path, "alice", "S3cret-pw-2026")


def test_create_user_prompts_for_the_password_twice(tmp_path, monkeypatch):
    answers = iter(["Typed-pw-2026", "Typed-pw-2026"])
    monkeypatch.setattr(admin_cli.getpass, "getpass", lambda _prompt: next(answers))
    admin(tmp_path, "create-user", "@bob:cli.test")
    assert can_log_in(tmp_path, "bob", "Typed-pw-2026")


def test_mismatched_prompted_passwords_create_nothing(tmp_path, monkeypatch, capsys):
    answers = iter(["one", "two"])
    monkeypatch.setattr(admin_cli.getpass, "getpass", lambda _prompt: next(answers))
    with pytest.raises(SystemExit) as exit_info:
        admin(tmp_path, "create-user", "carol")
    assert exit_info.value.code == 1
    assert "do not match" in capsys.readouterr().err
    assert account(tmp_path, "@carol:cli.test") is None


def test_create_user_refuses_taken_invalid_and_foreign_ids(tmp_path, capsys):
    admin(tmp_path, "create-user", "alice", "--password", "Agent-pw-2026")
    for name in ("alice", "not valid", "@alice:elsewhere.org"):
        with pytest.raises(SystemExit) as exit_info:
            admin(tmp_path, "create-user", name, "--password", "Agent-pw-2026")
        assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "M_USER_IN_USE" in err and "M_INVALID_USERNAME" in err and "not on this server" in err


def test_reset_password_replaces_the_old_one(tmp_path):
    admin(tmp_path, "create-user", "alice", "--password", "Old-pw-2026!")
    admin(tmp_path, "reset-password", "alice", "--password", "New-pw-2026!")
    assert can_log_in(tmp_path, "alice", "New-pw-2026!")
    assert not can_log_in(tmp_path, "alice", "Old-pw-2026!")


def test_deactivate_user_blocks_login_and_shows_in_the_list(tmp_path, capsys):
    admin(tmp_path, "create-user", "alice", "--password", "Agent-pw-2026")
    admin(tmp_path, "create-user", "bob", "--password", "Agent-pw-2026", "--admin")
    admin(tmp_path, "deactivate-user", "@alice:cli.test")
    assert not can_log_in(tmp_path, "alice", "Agent-pw-2026")
    capsys.readouterr()
    admin(tmp_path, "list-users")
    lines = capsys.readouterr().out.splitlines()
    # user ID, flags, then the display name (the localpart unless set otherwise)
    assert lines == ["@alice:cli.test\tdeactivated\talice", "@bob:cli.test\tadmin\tbob"]


def test_commands_on_unknown_users_fail_with_a_message(tmp_path, capsys):
    for command in (("deactivate-user", "ghost"), ("reset-password", "ghost", "--password", "x")):
        with pytest.raises(SystemExit) as exit_info:
            admin(tmp_path, *command)
        assert exit_info.value.code == 1
        assert "M_NOT_FOUND" in capsys.readouterr().err


def test_commands_that_leave_rooms_refuse_to_run_beside_a_server(tmp_path, capsys):
    admin(tmp_path, "create-user", "bob", "--password", "Pw-0123456789")
    from sceau.storage.database import SqliteDatabase

    async def hold_lock_and_run() -> int:
        server_db = SqliteDatabase(str(tmp_path / "sceau.db"))
        assert await server_db.take_writer_lock()
        try:
            with pytest.raises(SystemExit) as stopped:
                await asyncio.to_thread(admin, tmp_path, "deactivate-user", "bob")
            return int(stopped.value.code)
        finally:
            await server_db.close()

    assert asyncio.run(hold_lock_and_run()) == 2
    assert "stop it before this command" in capsys.readouterr().err
    assert account(tmp_path, "@bob:cli.test").deactivated is False
    admin(tmp_path, "deactivate-user", "bob")
    assert account(tmp_path, "@bob:cli.test").deactivated is True


def test_create_user_refuses_a_password_the_policy_rejects(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        admin(tmp_path, "create-user", "alice", "--password", "short")
    assert exit_info.value.code == 1
    assert "M_PASSWORD_TOO_SHORT" in capsys.readouterr().err
