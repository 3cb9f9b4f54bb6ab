"""``sceau admin ...``: account administration from a shell on the server.

Each command builds the same services as the running homeserver
(:func:`sceau.homeserver.build_services`), so an account made or closed here
goes through exactly the rules and hooks of the Client-Server API.
"""

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sceau.config import Config
from sceau.errors import MatrixError

Command = Callable[[Any, argparse.Namespace], Awaitable[None]]


def add_admin_commands(
    subparsers: Any,
    common_options: Callable[[], argparse.ArgumentParser],
    load_config_fn: Callable[[argparse.Namespace], Config],
) -> None:
    """Register ``sceau admin create-user|deactivate-user|reset-password|list-users``."""
    admin = subparsers.add_parser("admin", help="administer user accounts")
    commands = admin.add_subparsers(dest="admin_command", required=True)

    def add(
        name: str, help_text: str, command: Command, writes_rooms: bool = False
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(
            name, help=help_text, parents=[common_options()]
        )
        parser.set_defaults(func=lambda args: _run(args, load_config_fn, command, writes_rooms))
        return parser

    create = add("create-user", "create an account (asks for the password if not given)", _create)
    create.add_argument("username", help="localpart (alice) or full user ID (@alice:server)")
    create.add_argument("--password", help="the password (prompted for when absent)")
    create.add_argument("--admin", action="store_true", help="make the user a server admin")

    deactivate = add(
        "deactivate-user", "close an account: sessions end, rooms are left", _close, True
    )
    deactivate.add_argument("user", help="localpart or full user ID")
    deactivate.add_argument(
        "--erase", action="store_true", help="also clear the display name and avatar"
    )

    reset = add("reset-password", "set a new password and end every session", _reset, True)
    reset.add_argument("user", help="localpart or full user ID")
    reset.add_argument("--password", help="the new password (prompted for when absent)")

    add("list-users", "list every account", _list)


def _run(
    args: argparse.Namespace,
    load_config_fn: Callable[[argparse.Namespace], Config],
    command: Command,
    writes_rooms: bool = False,
) -> None:
    config = load_config_fn(args)

    async def main() -> None:
        from sceau.homeserver import build_services

        services = await build_services(config)
        try:
            # Commands that end sessions or leave rooms write stream positions,
            # which only one process may allocate: the server must be stopped.
            if writes_rooms and not await services.stores.db.take_writer_lock():
                print(
                    "sceau admin: the server is running on this database; "
                    "stop it before this command (create-user and list-users work while it runs)",
                    file=sys.stderr,
                )
                raise SystemExit(2)
            await command(services, args)
        finally:
            await services.stores.db.close()

    try:
        asyncio.run(main())
    except MatrixError as exc:
        print(f"sceau admin: {exc.error} ({exc.errcode})", file=sys.stderr)
        raise SystemExit(1) from None


def _user_id(services: Any, user: str) -> str:
    """A full user ID from ``alice`` or ``@alice:server``."""
    if user.startswith("@"):
        return user
    return f"@{user.lower()}:{services.config.server_name}"


def _password(given: str | None) -> str:
    """The ``--password`` value, or one typed twice at a hidden prompt."""
    if given is not None:
        return given
    first = getpass.getpass("Password: ")
    if getpass.getpass("Confirm password: ") != first:
        print("sceau admin: the passwords do not match", file=sys.stderr)
        raise SystemExit(1)
    return first


async def _create(services: Any, args: argparse.Namespace) -> None:
    username = args.username
    if username.startswith("@"):
        localpart, _, server_name = username[1:].partition(":")
        if server_name != services.config.server_name:
            print(
                f"sceau admin: {username} is not on this server ({services.config.server_name})",
                file=sys.stderr,
            )
            raise SystemExit(1)
        username = localpart
    user_id = await services.accounts.create_user(username, _password(args.password), args.admin)
    print(f"Created {user_id}{' (admin)' if args.admin else ''}")


async def _close(services: Any, args: argparse.Namespace) -> None:
    user_id = _user_id(services, args.user)
    await services.accounts.deactivate_user(user_id, erase=args.erase)
    print(f"Deactivated {user_id}")


async def _reset(services: Any, args: argparse.Namespace) -> None:
    user_id = _user_id(services, args.user)
    await services.accounts.reset_password(user_id, _password(args.password))
    print(f"Password reset for {user_id}; all of its sessions were logged out")


async def _list(services: Any, _args: argparse.Namespace) -> None:
    for user in await services.accounts.list_users():
        flags = [f for f, on in (("admin", user.is_admin), ("deactivated", user.deactivated)) if on]
        name = f"\t{user.displayname}" if user.displayname else ""
        print(f"{user.user_id}\t{','.join(flags) or '-'}{name}")
