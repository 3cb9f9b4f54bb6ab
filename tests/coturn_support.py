"""A real coturn for the relay tests, configured as docs/calls.md tells administrators to.

The peer restrictions (``denied-peer-ip``, ``no-multicast-peers``...) are read
from the coturn block of docs/calls.md, so the documented hardening is the one
tested. On top of it the tests add the one exemption they need: everything
runs on loopback, so the relay may reach 127.0.0.1 (and only that address of
127.0.0.0/8). Without coturn installed the tests skip, unless CI=true, where
they fail.
"""

import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port, require_system_package
from tests.turn_client import stun_binding_answers

DOCS = Path(__file__).resolve().parent.parent / "docs" / "calls.md"
REALM = "turn.e2e.test"
STARTUP_TIMEOUT_S = 30.0
#: Lines of the documented config that restrict who the relay may reach.
_PEER_RULE = re.compile(r"(denied-peer-ip=\S+|no-multicast-peers|no-tcp-relay)")


@dataclass(frozen=True)
class Coturn:
    host: str
    port: int
    secret: str
    log: Path

    @property
    def uri(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=udp"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def turnserver_binary() -> str:
    """turnserver's path; skips (or fails under CI=true) when coturn is not installed."""
    return require_system_package("coturn", "turnserver")


def documented_peer_rules() -> list[str]:
    """The peer restrictions of the coturn config shown in docs/calls.md."""
    rules = [
        line.strip()
        for line in DOCS.read_text(encoding="utf-8").splitlines()
        if _PEER_RULE.fullmatch(line.strip())
    ]
    assert any(rule.startswith("denied-peer-ip=10.") for rule in rules), "docs/calls.md changed?"
    return rules


def _write_config(folder: Path, port: int, secret: str) -> Path:
    config = folder / "turnserver.conf"
    lines = [
        "listening-ip=127.0.0.1",
        f"listening-port={port}",
        "relay-ip=127.0.0.1",
        "use-auth-secret",
        f"static-auth-secret={secret}",
        f"realm={REALM}",
        "fingerprint",
        "no-tls",
        "no-dtls",
        "no-cli",
        "no-software-attribute",
        f"userdb={folder / 'turndb'}",
        f"pidfile={folder / 'turnserver.pid'}",
        f"log-file={folder / 'turn.log'}",
        "simple-log",
        *documented_peer_rules(),
        # The test exemption: peers listen on 127.0.0.1, which the documented rules deny.
        "allow-loopback-peers",
        "allowed-peer-ip=127.0.0.1",
    ]
    config.write_text("\n".join(lines) + "\n")
    return config


@pytest.fixture(scope="session")
def coturn() -> Iterator[Coturn]:
    """One coturn for the whole run on a free loopback port, stopped at the end."""
    binary = turnserver_binary()
    folder = Path(tempfile.mkdtemp(prefix="sceau-coturn-"))
    port, secret = free_port(), secrets.token_urlsafe(24)
    config = _write_config(folder, port, secret)
    process = subprocess.Popen(
        [binary, "-c", str(config), "--no-stdout-log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Coturn("127.0.0.1", port, secret, folder / "turn.log")
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not stun_binding_answers((server.host, port)):
            if process.poll() is not None:
                pytest.fail(f"turnserver exited with {process.returncode}:\n{server.log_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"turnserver did not answer within {STARTUP_TIMEOUT_S} s")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
