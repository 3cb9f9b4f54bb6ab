"""A real clamd for the antivirus tests, started with a one-line signature database.

Virus signatures cannot be downloaded here (no freshclam), so the fixture
writes its own database: the MD5 of the EICAR test file, under the name
``Sceau.Test.EICAR``. clamd refuses to start without any database, and
this one is enough. It listens on a Unix socket in a temporary folder and
on a free TCP port, and accepts streams of at most ``STREAM_MAX_BYTES``.
Without clamd installed the tests skip, unless CI=true, where they fail.
"""

import hashlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port, require_system_package

#: The standard antivirus test file: harmless, detected by every scanner.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Sceau.Test.EICAR"
#: clamd's StreamMaxLength in the tests: larger streams are a scan failure.
STREAM_MAX_BYTES = 1024 * 1024
STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Clamd:
    unix_address: str
    tcp_address: str


def clamd_binary() -> str:
    """clamd's path; skips (or fails under CI=true) when clamav-daemon is not installed."""
    return require_system_package("clamav-daemon", "clamd")


def _write_config(folder: Path, socket_path: Path, port: int) -> Path:
    database = folder / "db"
    database.mkdir()
    md5 = hashlib.md5(EICAR).hexdigest()  # the .hdb format names files by MD5
    (database / "sceau-test.hdb").write_text(f"{md5}:{len(EICAR)}:{SIGNATURE}\n")
    (folder / "scan-tmp").mkdir()
    config = folder / "clamd.conf"
    config.write_text(
        f"LocalSocket {socket_path}\n"
        f"TCPSocket {port}\n"
        "TCPAddr 127.0.0.1\n"
        "Foreground yes\n"
        f"DatabaseDirectory {database}\n"
        f"TemporaryDirectory {folder / 'scan-tmp'}\n"
        f"LogFile {folder / 'clamd.log'}\n"
        f"StreamMaxLength {STREAM_MAX_BYTES}\n"
        "MaxThreads 2\n"
    )
    return config


def _pong(socket_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(socket_path))
            sock.sendall(b"zPING\x00")
            return sock.recv(16) == b"PONG\x00"
    except OSError:
        return False


def _wait_ready(process: subprocess.Popen[bytes], socket_path: Path, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text() if log.exists() else ""
            pytest.fail(f"clamd exited with {process.returncode}:\n{text[-2000:]}")
        if _pong(socket_path):
            return
        time.sleep(0.1)
    pytest.fail(f"clamd did not answer PING within {STARTUP_TIMEOUT_S} s")


@pytest.fixture(scope="session")
def clamd() -> Iterator[Clamd]:
    """One clamd for the whole run, stopped at the end."""
    binary = clamd_binary()
    # A short folder: Unix socket paths are limited to about 100 bytes.
    folder = Path(tempfile.mkdtemp(prefix="sceau-clamd-"))
    socket_path, port = folder / "clamd.sock", free_port()
    config = _write_config(folder, socket_path, port)
    process = subprocess.Popen(
        [binary, "--config-file", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(process, socket_path, folder / "clamd.log")
        yield Clamd(f"unix://{socket_path}", f"tcp://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
