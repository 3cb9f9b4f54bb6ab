"""A real Synapse (matrix-synapse from PyPI) federating over TLS, for interoperability tests.

It lives in the benchmark's own virtualenv (``bench/.work/synapse-venv``).
Outside CI the tests skip when it is not installed; with CI=true it is
installed on first use (``bench.servers.ensure_synapse_venv``). The settings
are those of ``../shared/federation-notes.md``: an IP-literal name with its
port, the run's CA trusted, loopback not blocked, keys fetched directly.
"""

import fcntl
import secrets
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sceau.protocol.signing import encode_signing_key_file, generate_signing_key
from tests.conftest import IN_CI, free_port
from tests.e2e.federation_servers import FederatedServer, FederationLab

REPO = Path(__file__).resolve().parents[2]
SYNAPSE_PYTHON = REPO / "bench" / ".work" / "synapse-venv" / "bin" / "python"
INSTALL_LOCK = REPO / "bench" / ".work" / "synapse-venv.lock"


def synapse_python() -> Path:
    probe = [str(SYNAPSE_PYTHON), "-c", "import synapse"]
    if SYNAPSE_PYTHON.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return SYNAPSE_PYTHON
    if not IN_CI:
        pytest.skip("matrix-synapse is not installed in bench/.work/synapse-venv")
    from bench.servers import ensure_synapse_venv

    # Both test processes may get here at once (pytest-xdist): one installs while
    # the other waits, then finds the virtualenv ready.
    INSTALL_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with INSTALL_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return ensure_synapse_venv()


class SynapseProcess:
    def __init__(
        self,
        folder: Path,
        port: int,
        ca,
        allow: list[str],
        federation: dict[str, Any] | None = None,
    ) -> None:
        """``federation`` overrides settings of Synapse's ``federation`` section."""
        self.folder = folder
        self.port = port
        self.name = f"127.0.0.1:{port}"
        self.url = f"https://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_path = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        leaf = ca.issue_cert("127.0.0.1")
        leaf.private_key_pem.write_to_path(str(folder / "tls.key"))
        leaf.cert_chain_pems[0].write_to_path(str(folder / "tls.crt"))
        self.config_path = folder / "homeserver.yaml"
        self.log_path = folder / "synapse.log"
        high = {"per_second": 1_000_000, "burst_count": 1_000_000}
        log_config = folder / "log.yaml"
        log_config.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "formatters": {
                        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
                    },
                    "handlers": {
                        "file": {
                            "class": "logging.FileHandler",
                            "formatter": "plain",
                            "filename": str(self.log_path),
                        }
                    },
                    "root": {"level": "INFO", "handlers": ["file"]},
                    "disable_existing_loggers": False,
                }
            )
        )
        config: dict[str, Any] = {
            "server_name": self.name,
            "public_baseurl": self.url + "/",
            "pid_file": str(folder / "homeserver.pid"),
            "listeners": [
                {
                    "port": port,
                    "tls": True,
                    "type": "http",
                    "bind_addresses": ["127.0.0.1"],
                    "resources": [{"names": ["client", "federation"], "compress": False}],
                }
            ],
            "tls_certificate_path": str(folder / "tls.crt"),
            "tls_private_key_path": str(folder / "tls.key"),
            "federation_custom_ca_list": [str(self.ca_path)],
            "federation_verify_certificates": True,
            "federation_ip_range_blacklist": [],
            "ip_range_blacklist": [],
            "federation_domain_whitelist": allow,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "database": {"name": "sqlite3", "args": {"database": str(folder / "homeserver.db")}},
            "log_config": str(log_config),
            "media_store_path": str(folder / "media"),
            "signing_key_path": str(folder / "signing.key"),
            "macaroon_secret_key": secrets.token_hex(32),
            "form_secret": secrets.token_hex(32),
            "report_stats": False,
            "enable_metrics": False,
            "enable_registration": True,
            "enable_registration_without_verification": True,
            "presence": {"enabled": True},
            "rc_message": high,
            "rc_registration": high,
            "rc_login": {"address": high, "account": high, "failed_attempts": high},
            # Retries as prompt as Sceau's in the tests (0.2-1 s): a peer back from an
            # outage is retried within a second or two, not after Synapse's default 60 s.
            "federation": {
                "destination_min_retry_interval": "2s",
                "destination_max_retry_interval": "30s",
                "max_long_retry_delay": "2s",
                **(federation or {}),
            },
        }
        self.config_path.write_text(yaml.safe_dump(config))
        # Synapse reads the same one-line format; written here, it saves a run of
        # ``--generate-keys`` (seconds of imports) before each start.
        key = generate_signing_key(secrets.token_bytes(32), "a_" + secrets.token_hex(2))
        (folder / "signing.key").write_text(encode_signing_key_file(key))

    def set_whitelist(self, servers: list[str]) -> None:
        """Rewrite ``federation_domain_whitelist`` (before :meth:`start`)."""
        config = yaml.safe_load(self.config_path.read_text())
        config["federation_domain_whitelist"] = servers
        self.config_path.write_text(yaml.safe_dump(config))

    def start(self, timeout: float = 90) -> None:
        """Start Synapse and wait until its client API answers."""
        self.launch()
        self.wait_until_ready(timeout)

    def launch(self) -> None:
        """Start the process without waiting (several servers can then boot at once)."""
        python = synapse_python()
        command = [str(python), "-m", "synapse.app.homeserver", "-c", str(self.config_path)]
        out = (self.folder / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            command, cwd=self.folder, stdout=out, stderr=subprocess.STDOUT
        )
        out.close()

    def wait_until_ready(self, timeout: float = 90) -> None:
        """Wait until the launched process answers ``/versions``; stop it if it never does."""
        assert self.process is not None, "not launched"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("synapse exited:\n" + self.log_text())
            try:
                if (
                    httpx.get(
                        self.url + "/_matrix/client/versions",
                        verify=ssl.create_default_context(cafile=str(self.ca_path)),
                        timeout=2,
                    ).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("synapse did not start:\n" + self.log_text())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20_000:]
        except OSError:
            return "(no log)"


@dataclass
class SynapsePair:
    """Sceau and Synapse allowing each other, plus two Sceau servers each off one side's list.

    ``unknown_to_synapse`` allows Synapse and ``sceau`` but is on neither's
    list; ``closed_to_synapse`` is in Synapse's whitelist but its own
    ``federation.allow`` is empty.
    """

    lab: FederationLab
    synapse: SynapseProcess

    @property
    def sceau(self) -> FederatedServer:
        return self.lab.servers[0]

    @property
    def unknown_to_synapse(self) -> FederatedServer:
        return self.lab.servers[1]

    @property
    def closed_to_synapse(self) -> FederatedServer:
        return self.lab.servers[2]


@contextmanager
def sceau_and_synapse(folder: Path) -> Iterator[SynapsePair]:
    """The servers of :class:`SynapsePair` on loopback over TLS (one CA for the run)."""
    synapse_python()
    lab = FederationLab(folder / "sceau")
    synapse = SynapseProcess(folder / "synapse", free_port(), lab.ca, allow=[])
    sceau = lab.declare(federation={"allow": [synapse.name]})
    lab.declare(federation={"allow": [synapse.name, sceau.name]})
    closed = lab.declare()
    synapse.set_whitelist([sceau.name, closed.name])
    try:
        lab.start_all(mutual=False)
        synapse.start()
        yield SynapsePair(lab, synapse)
    finally:
        lab.stop_all()
        synapse.stop()
