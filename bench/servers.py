"""Start Sceau and Synapse on loopback with equivalent settings.

Both get: server name ``bench.local``, one plain-HTTP client listener on a free
127.0.0.1 port, rate limits out of the way, presence on, open registration,
no federation, and either SQLite or a fresh C-collated PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench import postgres

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work"
SYNAPSE_VENV = WORK / "synapse-venv"
SERVER_NAME = "bench.local"
HIGH = {"per_second": 1_000_000, "burst_count": 1_000_000}


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_synapse_venv() -> Path:
    """Create Synapse's own virtualenv once; later runs reuse it."""
    python = SYNAPSE_VENV / "bin" / "python"
    probe = [str(python), "-c", "import synapse, psycopg2"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print("bench: installing matrix-synapse into", SYNAPSE_VENV, "(takes minutes once)")
    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(SYNAPSE_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "matrix-synapse[postgres]"], check=True
    )
    return python


def synapse_version(python: Path) -> str:
    """The installed Synapse release, from its package metadata.

    ``synapse.__version__`` is not used: it appends the branch and commit of any
    git checkout around the virtualenv, which here is Sceau's own.
    """
    code = "import importlib.metadata as m; print(m.version('matrix-synapse'))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def sceau_version() -> str:
    """Sceau's package version plus the commit it was run from."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", "import sceau; print(getattr(sceau, '__version__', '?'))"],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
        ).stdout.strip()
    except subprocess.CalledProcessError:
        out = "not importable"
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    return f"{out} ({rev or 'no commit'})"


@dataclass
class Server:
    """One homeserver under test, with its process and data directory."""

    name: str
    db: str
    directory: Path
    port: int = field(default_factory=free_port)
    #: Where the push workload's gateway listens (the server must allow it).
    push_gateway_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    db_name: str | None = None
    version: str = "?"
    #: Top-level config keys set over the defaults (e.g. cheaper password hashing).
    overrides: dict[str, Any] = field(default_factory=dict)
    #: Cores the server process may run on (``None``: any). Pinning it to one core
    #: measures "on one core" honestly on a machine shared with the load generator.
    cpus: set[int] | None = None

    @property
    def base_url(self) -> str:
        """The client API base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def push_gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.push_gateway_port}/_matrix/push/v1/notify"

    def command(self) -> list[str]:
        """The argv that runs the server; overridden by subclasses."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Write config (and keys); overridden by subclasses."""
        raise NotImplementedError

    def _database(self) -> str | None:
        if self.db != "postgresql":
            return None
        self.db_name = f"bench_{self.name}_{os.getpid()}_{secrets.token_hex(3)}"
        return postgres.create_database(self.db_name)

    async def start(self, timeout: float = 180.0) -> None:
        """Launch the process and wait until /versions answers."""
        self.prepare()
        log = (self.directory / "server.log").open("wb")
        argv = self.command()
        if self.cpus is not None:  # every thread the server starts inherits the mask
            argv = ["taskset", "-c", ",".join(map(str, sorted(self.cpus))), *argv]
        self.process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start-up: {self.log_tail()}")
                try:
                    async with http.get(self.base_url + "/_matrix/client/versions") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer within {timeout}s: {self.log_tail()}")

    def log_tail(self, chars: int = 1500) -> str:
        """The end of the server's own output, for failure reports."""
        try:
            return (self.directory / "server.log").read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Terminate the process group, then drop its database."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.db_name:
            postgres.drop_database(self.db_name)


def _write_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False))


class SceauServer(Server):
    """Sceau from this checkout, run with the project's own virtualenv."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "sceau", "serve", "--config", str(self.config_path)]

    @property
    def config_path(self) -> Path:
        return self.directory / "sceau.yaml"

    def prepare(self) -> None:
        self.version = sceau_version()
        database: dict[str, Any] = {"backend": self.db}
        dsn = self._database()
        if dsn is None:
            database["path"] = str(self.directory / "sceau.db")
        else:
            database["dsn"] = dsn
        _write_yaml(
            self.config_path,
            {
                "server_name": SERVER_NAME,
                "public_baseurl": self.base_url + "/",
                "listeners": [{"bind_address": "127.0.0.1", "port": self.port}],
                "database": database,
                "signing_key_path": str(self.directory / "signing.key"),
                "registration": {"mode": "open"},
                "rate_limits": {"enabled": False},
                "presence": {"enabled": True},
                "push": {"allowed_gateways": [self.push_gateway_url]},
                **self.overrides,
            },
        )


def synapse_rate_limits() -> dict[str, Any]:
    """Every client-facing Synapse limiter, raised out of reach."""
    return {
        "rc_message": HIGH,
        "rc_registration": HIGH,
        "rc_registration_token_validity": HIGH,
        "rc_login": {"address": HIGH, "account": HIGH, "failed_attempts": HIGH},
        "rc_joins": {"local": HIGH, "remote": HIGH},
        "rc_joins_per_room": HIGH,
        "rc_invites": {"per_room": HIGH, "per_user": HIGH, "per_issuer": HIGH},
        "rc_3pid_validation": HIGH,
        "rc_key_requests": HIGH,
        "rc_admin_redaction": HIGH,
        "rc_third_party_invite": HIGH,
        "rc_media_create": HIGH,
        "rc_presence": {"per_user": HIGH},
        "rc_delayed_event_mgmt": HIGH,
        "rc_room_creation": HIGH,
        "rc_reports": HIGH,
        "rc_user_directory": HIGH,
        "rc_profile": HIGH,
    }


class SynapseServer(Server):
    """matrix-synapse from PyPI in its own virtualenv."""

    python: Path = SYNAPSE_VENV / "bin" / "python"

    @property
    def config_path(self) -> Path:
        return self.directory / "homeserver.yaml"

    def command(self) -> list[str]:
        return [str(self.python), "-m", "synapse.app.homeserver", "-c", str(self.config_path)]

    def prepare(self) -> None:
        self.python = ensure_synapse_venv()
        self.version = synapse_version(self.python)
        dsn = self._database()
        if dsn is None:
            database = {
                "name": "sqlite3",
                "args": {"database": str(self.directory / "homeserver.db")},
            }
        else:
            database = {
                "name": "psycopg2",
                "args": {
                    "user": postgres.USER,
                    "host": postgres.HOST,
                    "port": postgres.PORT,
                    "database": self.db_name,
                    "cp_min": 5,
                    "cp_max": 10,
                },
            }
        log_config = self.directory / "log.yaml"
        _write_yaml(
            log_config,
            {
                "version": 1,
                "formatters": {
                    "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
                },
                "handlers": {
                    "file": {
                        "class": "logging.FileHandler",
                        "formatter": "plain",
                        "filename": str(self.directory / "synapse.log"),
                    }
                },
                "root": {"level": "WARNING", "handlers": ["file"]},
                "disable_existing_loggers": False,
            },
        )
        config: dict[str, Any] = {
            "server_name": SERVER_NAME,
            "public_baseurl": self.base_url + "/",
            "pid_file": str(self.directory / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "tls": False,
                    "type": "http",
                    "x_forwarded": False,
                    "bind_addresses": ["127.0.0.1"],
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": database,
            "log_config": str(log_config),
            "media_store_path": str(self.directory / "media"),
            "signing_key_path": str(self.directory / "signing.key"),
            "macaroon_secret_key": secrets.token_hex(32),
            "form_secret": secrets.token_hex(32),
            "report_stats": False,
            "enable_metrics": False,
            "enable_registration": True,
            "enable_registration_without_verification": True,
            "presence": {"enabled": True},
            "federation_domain_whitelist": [],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            # The push workload's gateway listens on loopback, which Synapse blocks by default.
            "ip_range_whitelist": ["127.0.0.1"],
            **synapse_rate_limits(),
            **self.overrides,
        }
        _write_yaml(self.config_path, config)
        subprocess.run(
            [*self.command(), "--generate-keys"],
            check=True,
            capture_output=True,
            cwd=self.directory,
        )


def make_server(kind: str, db: str, root: Path) -> Server:
    """Build (not start) a server of ``kind`` ('sceau' or 'synapse')."""
    directory = root / f"{kind}-{db}"
    directory.mkdir(parents=True, exist_ok=True)
    cls = SceauServer if kind == "sceau" else SynapseServer
    return cls(name=kind, db=db, directory=directory)
