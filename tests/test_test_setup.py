"""The test command sets up what the suite needs (scripts/lib.sh, tests/system_packages.py).

The shell steps are run for real in bash, in a copy of the files they read;
commands that would change the machine (apt-get, pip, npm) are replaced by
shell functions that record how they were called.
"""

import asyncio
import os
import secrets
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests import system_packages
from tests.conftest import (
    PG_DSN,
    _create_database_if_missing,
    require_postgres,
    require_system_package,
)

REPO = Path(__file__).resolve().parent.parent


def bash(script: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> str:
    """Run ``script`` after sourcing scripts/lib.sh; its stdout and stderr together."""
    full = f"set -euo pipefail\n. {REPO / 'scripts' / 'lib.sh'}\n{script}"
    result = subprocess.run(
        ["bash", "-c", full], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


# --- the one list of Debian packages -----------------------------------------


def test_the_package_list_names_what_the_suite_needs():
    names = system_packages.listed()
    assert "clamav-daemon" in names
    assert "postgresql-client" in names
    assert not (REPO / ".ci" / "apt-packages").exists()


def test_the_list_ignores_comments_and_blank_lines(tmp_path):
    path = tmp_path / "apt-packages"
    path.write_text("# what the tests need\n\nchromium  # browser tests\ncoturn\n")
    assert system_packages.listed(path) == ["chromium", "coturn"]


def test_the_install_command_uses_sudo_only_when_not_root():
    assert system_packages.install_command(["a", "b"], as_root=True) == (
        "apt-get update && apt-get install -y --no-install-recommends a b"
    )
    assert system_packages.install_command(["a"], as_root=False) == (
        "sudo apt-get update && sudo apt-get install -y --no-install-recommends a"
    )


def test_a_package_dpkg_does_not_know_is_missing(tmp_path):
    path = tmp_path / "apt-packages"
    path.write_text("sceau-no-such-package\n")
    assert system_packages.missing(path) == ["sceau-no-such-package"]


def test_a_test_needing_an_absent_package_skips_with_the_command(monkeypatch):
    monkeypatch.setattr("tests.conftest.IN_CI", False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_system_package("sceau-no-such-package", "sceau-no-such-binary")
    assert "apt-get install -y --no-install-recommends" in str(skipped.value)
    assert "sceau-no-such-package" in str(skipped.value) or system_packages.missing()


def test_with_ci_a_test_needing_an_absent_package_fails(monkeypatch):
    monkeypatch.setattr("tests.conftest.IN_CI", True)
    with pytest.raises(pytest.fail.Exception) as failed:
        require_system_package("sceau-no-such-package", "sceau-no-such-binary")
    assert str(failed.value).startswith("CI=true but sceau-no-such-binary is missing")


def test_as_root_the_script_installs_the_missing_packages_with_apt_get(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "scripts").mkdir()
    (tmp_path / "tests" / "system_packages.py").write_text(
        (REPO / "tests" / "system_packages.py").read_text()
    )
    (tmp_path / "scripts" / "apt-packages").write_text("sceau-no-such-package\n")
    out = bash(
        'id() { echo 0; }\napt-get() { echo "apt-get $*" >> calls; }\nsystem_packages_ready\ncat calls',
        cwd=tmp_path,
    )
    assert "apt-get update -qq" in out
    assert "apt-get install -y -qq --no-install-recommends sceau-no-such-package" in out


def test_as_a_user_the_script_prints_the_command_and_goes_on(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "scripts").mkdir()
    (tmp_path / "tests" / "system_packages.py").write_text(
        (REPO / "tests" / "system_packages.py").read_text()
    )
    (tmp_path / "scripts" / "apt-packages").write_text("sceau-no-such-package\n")
    out = bash(
        'id() { echo 1000; }\napt-get() { echo "CALLED"; }\nsystem_packages_ready\necho went-on',
        cwd=tmp_path,
    )
    assert "CALLED" not in out
    assert (
        "install them with: sudo apt-get update && sudo apt-get install -y"
        " --no-install-recommends sceau-no-such-package"
    ) in out
    assert "went-on" in out


# --- PostgreSQL: found or made -------------------------------------------------


def test_the_suite_creates_its_database_when_missing():
    require_postgres()
    name = "sceau_created_" + secrets.token_hex(4)
    dsn = urlunsplit(urlsplit(PG_DSN)._replace(path="/" + name))

    async def scenario() -> tuple[bool, bool]:
        import asyncpg

        try:
            first = await _create_database_if_missing(dsn)
            second = await _create_database_if_missing(dsn)
            conn = await asyncpg.connect(dsn)
            assert await conn.fetchval("SELECT current_database()") == name
            await conn.close()
            return first, second
        finally:
            admin = await asyncpg.connect(urlunsplit(urlsplit(PG_DSN)._replace(path="/postgres")))
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.close()

    assert asyncio.run(scenario()) == (True, False)


def test_a_postgresql_that_does_not_answer_is_reported(tmp_path):
    dsn = "postgresql://postgres@127.0.0.1:1/test"
    outside_ci = {**os.environ, "CI": "false"}
    out = bash(
        f"SCEAU_TEST_PG_DSN={dsn}\nid() {{ echo 1000; }}\npostgres_ready; echo rc=$?",
        env=outside_ci,
    )
    assert "no PostgreSQL answers on 127.0.0.1:1" in out
    assert "rc=0" in out
    result = subprocess.run(
        ["bash", "-c", ". scripts/lib.sh\nid() { echo 1000; }\npostgres_ready"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CI": "true", "SCEAU_TEST_PG_DSN": dsn},
        check=False,
    )
    assert result.returncode != 0
    assert "CI=true: the PostgreSQL tests cannot run" in result.stderr


# --- the fast path ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "selected"),
    [
        ("", True),
        ("-k sync", True),
        ("tests/protocol", False),
        ("tests/protocol/test_events.py::test_x -x -q", False),
        ("tests/http tests/protocol", False),
        ("tests/e2e/test_jssdk.py", True),
        ("tests", True),
        (".", True),
        ("tests/e2e/jssdk", True),
    ],
)
def test_npm_runs_only_when_the_selected_tests_include_e2e(args, selected):
    out = bash(f"pytest_selects tests/e2e {args} && echo yes || echo no")
    assert out.strip() == ("yes" if selected else "no")


def test_npm_ci_runs_once_per_package_lock(tmp_path):
    (tmp_path / "package-lock.json").write_text('{"lockfileVersion": 3}')
    script = (
        'npm() { echo "npm $*" >> calls; mkdir -p node_modules; }\n'
        "npm_ready .\nnpm_ready .\n"
        'echo \'{"lockfileVersion": 3, "x": 1}\' > package-lock.json\nnpm_ready .\ncat calls'
    )
    out = bash(script, cwd=tmp_path)
    assert out.count("npm ci --no-audit") == 2


def test_pip_runs_only_when_pyproject_or_the_lock_changed(tmp_path):
    for name in ("pyproject.toml", "requirements.lock"):
        (tmp_path / name).write_text((REPO / name).read_text())
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    python = tmp_path / ".venv" / "bin" / "python"
    python.write_text('#!/bin/sh\necho "python $*" >> calls\n')
    python.chmod(0o755)
    script = (
        "python_env_ready test\npython_env_ready test\npython_env_ready\n"
        "echo 'x==1' >> requirements.lock\npython_env_ready\ncat calls"
    )
    calls = bash(script, cwd=tmp_path).splitlines()
    installs = [line for line in calls if line.startswith("python -m pip install")]
    assert installs == [
        "python -m pip install --quiet -c requirements.lock -e .[test]",
        "python -m pip install --quiet -c requirements.lock -e .",
    ]
