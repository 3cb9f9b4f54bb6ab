"""The server_name is explained on first start and changes only before the first user."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from sceau.cli import _load, apply_server_name, build_parser, main
from sceau.config import load_config
from sceau.server_name import ServerNameLocked

REPO = Path(__file__).resolve().parent.parent


def serve_args(data_dir: Path, *extra: str):
    return build_parser().parse_args(["serve", "--data-dir", str(data_dir), *extra])


def test_first_start_says_which_server_name_it_chose_and_how_to_choose_another(tmp_path, capsys):
    config = _load(serve_args(tmp_path))
    err = capsys.readouterr().err
    assert config.server_name == "localhost"
    assert "server_name 'localhost'" in err
    assert "cannot change once the first user exists" in err
    assert "./scripts/serve --server-name your.domain.example" in err


def test_the_notice_is_printed_only_on_first_start(tmp_path, capsys):
    _load(serve_args(tmp_path))
    capsys.readouterr()
    _load(serve_args(tmp_path))
    assert "first start" not in capsys.readouterr().err


def test_first_start_with_server_name_uses_it(tmp_path, capsys):
    config = _load(serve_args(tmp_path, "--server-name", "interieur.example"))
    assert config.server_name == "interieur.example"
    assert "server_name 'interieur.example'" in capsys.readouterr().err
    assert load_config(tmp_path / "sceau.yaml").server_name == "interieur.example"


def test_server_name_changes_while_no_user_exists(tmp_path, capsys):
    config = _load(serve_args(tmp_path))
    args = serve_args(tmp_path, "--server-name", "justice.example")
    changed = asyncio.run(apply_server_name(args, config))
    assert changed.server_name == "justice.example"
    assert load_config(tmp_path / "sceau.yaml").server_name == "justice.example"
    assert "changed from 'localhost' to 'justice.example'" in capsys.readouterr().err
    # The rest of the generated file, comments included, is untouched.
    text = (tmp_path / "sceau.yaml").read_text()
    assert "# The domain in your users' IDs" in text


def test_server_name_is_refused_once_a_user_exists(tmp_path):
    main(
        [
            "admin",
            "create-user",
            "alice",
            "--password",
            "S3cret-pw-2026",
            "--data-dir",
            str(tmp_path),
        ]
    )
    config = load_config(tmp_path / "sceau.yaml")
    args = serve_args(tmp_path, "--server-name", "justice.example")
    with pytest.raises(ServerNameLocked) as refused:
        asyncio.run(apply_server_name(args, config))
    message = str(refused.value)
    assert "cannot change to 'justice.example'" in message
    assert "accounts already exist" in message
    assert load_config(tmp_path / "sceau.yaml").server_name == "localhost"


def test_serve_stops_with_the_message_when_the_name_is_locked(tmp_path):
    main(
        [
            "admin",
            "create-user",
            "alice",
            "--password",
            "S3cret-pw-2026",
            "--data-dir",
            str(tmp_path),
        ]
    )
    result = subprocess.run(
        [
            *(sys.executable, "-m", "sceau", "serve", "--data-dir", str(tmp_path)),
            *("--server-name", "justice.example", "--port", "1"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot change to 'justice.example'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_server_name_is_refused_before_the_file_changes(tmp_path):
    config = _load(serve_args(tmp_path))
    before = (tmp_path / "sceau.yaml").read_text()
    with pytest.raises(SystemExit):
        asyncio.run(apply_server_name(serve_args(tmp_path, "--server-name", "bad name"), config))
    assert (tmp_path / "sceau.yaml").read_text() == before
