"""Starting the real process: first start, and refusing a bad config with a clear message.

A bad config must stop ``sceau serve`` with a message that names the key and
no Python traceback; the first start without a config writes a commented one
and a private signing key.
"""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sceau.config import load_config
from tests.e2e.server import REPO

pytestmark = pytest.mark.e2e


def serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sceau", "serve", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


GOOD = {"server_name": "startup.test", "listeners": [{"bind_address": "127.0.0.1", "port": 1}]}

BAD_CONFIGS = {
    "unknown key": ({**GOOD, "sever_name": "typo"}, "sever_name"),
    "missing server_name": ({"listeners": GOOD["listeners"]}, "server_name"),
    "listeners not a list": ({**GOOD, "listeners": 5}, "listeners"),
    "port out of range": (
        {**GOOD, "listeners": [{"bind_address": "127.0.0.1", "port": 70000}]},
        "listeners.0.port",
    ),
    "unknown database backend": ({**GOOD, "database": {"backend": "mysql"}}, "database.backend"),
    "unknown registration mode": ({**GOOD, "registration": {"mode": "maybe"}}, "registration.mode"),
    "negative rate": (
        {**GOOD, "rate_limits": {"message": {"per_second": -1, "burst": 5}}},
        "rate_limits.message.per_second",
    ),
    "presence switch not a boolean": ({**GOOD, "presence": {"enabled": "sometimes"}}, "presence"),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_a_bad_config_stops_start_up_with_a_message_naming_the_key(tmp_path: Path, case: str):
    raw, key = BAD_CONFIGS[case]
    config = tmp_path / "sceau.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = serve("--config", str(config))
    assert result.returncode != 0, result.stderr
    assert key in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def test_a_config_that_is_not_yaml_is_refused_without_a_traceback(tmp_path: Path):
    config = tmp_path / "sceau.yaml"
    config.write_text("server_name: [unclosed\n", encoding="utf-8")
    result = serve("--config", str(config))
    assert result.returncode != 0
    assert str(config) in result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def test_an_unreachable_postgresql_stops_start_up_without_a_traceback(tmp_path: Path):
    config = tmp_path / "sceau.yaml"
    raw = {**GOOD, "database": {"backend": "postgresql", "dsn": "postgresql://x@127.0.0.1:1/x"}}
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = serve("--config", str(config))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert "cannot start" in result.stderr or "database" in result.stderr, result.stderr


def test_the_first_start_writes_a_commented_config_and_a_private_signing_key(tmp_path: Path):
    data = tmp_path / "data"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sceau",
            "serve",
            "--data-dir",
            str(data),
            "--server-name",
            "a.test",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    key = data / "signing.key"
    try:
        deadline = time.monotonic() + 30
        while not key.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert key.exists(), stderr
    text = (data / "sceau.yaml").read_text(encoding="utf-8")
    assert text.lstrip().startswith("#"), "the generated config has no comments"
    config = load_config(data / "sceau.yaml")
    assert config.server_name == "a.test"
    assert config.registration.mode == "closed"
    assert config.database.backend == "sqlite"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert "Traceback" not in stderr, stderr
