"""Two (or more) real ``sceau serve`` processes federating over TLS on loopback.

A CA is made for the run with ``trustme``; each server gets a certificate for
``IP:127.0.0.1``, a federation listener on its own port, and is named
``127.0.0.1:<federation port>`` (an IP literal with a port: no DNS, no
.well-known). Each trusts the run's CA (``federation.ca_file``) and allows
the others by name. Loopback is reachable because the servers are listed
explicitly in ``federation.allow``.
"""

import os
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import trustme

from tests.conftest import free_port
from tests.e2e.server import ServerError, ServerProcess, server_config

#: How long the catch-up tests keep a server down. Half a second is enough for
#: the sender to fail, back off and retry (retries every 0.2 s to 1 s here);
#: nothing in the queue depends on the length, which stays stored and capped by
#: ``max_retry_interval_ms``. ``SCEAU_E2E_OUTAGE_S=120`` runs the issue's two minutes.
OUTAGE_S = float(os.environ.get("SCEAU_E2E_OUTAGE_S", "0.5"))


@dataclass
class FederatedServer:
    name: str
    federation_url: str
    data_dir: Path
    config: dict[str, Any]
    process: ServerProcess | None = None

    @property
    def client_url(self) -> str:
        assert self.process is not None, "not started"
        return self.process.url


class FederationLab:
    """Makes servers that know each other; ``start_all`` once they are all declared."""

    def __init__(self, folder: Path, backend: str = "sqlite") -> None:
        self.folder = folder
        self.backend = backend
        folder.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA()
        self.ca_path = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        self.servers: list[FederatedServer] = []

    def declare(self, **overrides: Any) -> FederatedServer:
        """A server allowing every other declared one, plus ``federation.allow`` given here."""
        index = len(self.servers)
        data_dir = self.folder / f"fed{index}"
        data_dir.mkdir(parents=True)
        fed_port = free_port()
        name = f"127.0.0.1:{fed_port}"
        leaf = self.ca.issue_cert("127.0.0.1")
        leaf.private_key_pem.write_to_path(str(data_dir / "tls.key"))
        leaf.cert_chain_pems[0].write_to_path(str(data_dir / "tls.crt"))
        federation = {
            "enabled": True,
            "allow": [],
            "listen": {
                "bind_address": "127.0.0.1",
                "port": fed_port,
                "tls_certificate_path": "tls.crt",
                "tls_private_key_path": "tls.key",
            },
            "ca_file": str(self.ca_path),
            "min_retry_interval_ms": 200,
            "max_retry_interval_ms": 1000,
            "request_timeout_s": 10,
        }
        federation.update(overrides.pop("federation", {}))
        config = server_config(
            self.backend, free_port(), None, server_name=name, federation=federation, **overrides
        )
        server = FederatedServer(name, f"https://127.0.0.1:{fed_port}", data_dir, config)
        self.servers.append(server)
        return server

    def start_all(self, mutual: bool = True) -> None:
        """Start every server; with ``mutual``, each also allows every other one."""
        for server in self.servers:
            others = [s.name for s in self.servers if s is not server] if mutual else []
            allow = server.config["federation"]["allow"]
            server.config["federation"]["allow"] = sorted(set(allow) | set(others))
            server.process = ServerProcess(server.data_dir, server.config)
            server.process.start()
        for server in self.servers:
            wait_for_federation_listener(server, self.ca_path)

    def stop_all(self) -> None:
        for server in self.servers:
            if server.process is not None:
                server.process.stop()

    def logs(self) -> Iterator[tuple[str, str]]:
        for server in self.servers:
            if server.process is not None:
                yield server.name, server.process.log_text()


def wait_for_federation_listener(
    server: FederatedServer, ca_path: Path, timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.get(
                server.federation_url + "/_matrix/federation/v1/version",
                verify=ssl.create_default_context(cafile=str(ca_path)),
                timeout=2,
            )
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise ServerError(f"the federation listener of {server.name} did not answer")
