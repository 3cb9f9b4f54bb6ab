"""The server_name: chosen once, explained on first start, changeable only before any user.

Every user ID (``@alice:SERVER_NAME``), room alias and signature names the
server, so once accounts exist the name is part of them: changing it would
orphan every account. Before the first user exists, ``sceau serve
--server-name NAME`` rewrites it in the config; afterwards it refuses.
"""

import re
from pathlib import Path

from sceau.config import Config, ConfigError, load_config, parse_config

DEFAULT_SERVER_NAME = "localhost"
_LINE = re.compile(r"^server_name:.*$", re.MULTILINE)


class ServerNameLocked(Exception):
    """The server_name cannot change: accounts already exist (message says what to do)."""


def first_start_notice(config_path: Path, server_name: str) -> str:
    """What ``sceau serve`` prints when it has just written the config."""
    return (
        f"Sceau: first start. Wrote {config_path} with server_name {server_name!r}.\n"
        f"  The server_name is the domain of every user ID (@alice:{server_name}) and room\n"
        "  alias. It cannot change once the first user exists.\n"
        "  To choose another, do it now, before creating any user: stop the server and run\n"
        "      ./scripts/serve --server-name your.domain.example\n"
        "  (or `sceau serve --server-name ...`; it rewrites server_name in the config)."
    )


def rewrite_server_name(config_path: Path, config: Config, new_name: str) -> Config:
    """Write ``new_name`` into the config file and return the config read back."""
    text = config_path.read_text(encoding="utf-8")
    if not _LINE.search(text):
        raise ConfigError(f"{config_path} has no top-level 'server_name:' line to change")
    changed = _LINE.sub(f'server_name: "{new_name}"', text, count=1)
    import yaml

    parse_config(yaml.safe_load(changed), config.data_dir)  # refuse a bad name before writing
    config_path.write_text(changed, encoding="utf-8")
    return load_config(config_path)


def locked_message(current: str, requested: str) -> str:
    return (
        f"sceau: server_name is {current!r} and cannot change to {requested!r}: accounts "
        f"already exist, and their user IDs (@name:{current}) contain it.\n"
        "  Start without --server-name to keep it, or give a new data folder "
        "(--data-dir) to start another server with the new name."
    )
