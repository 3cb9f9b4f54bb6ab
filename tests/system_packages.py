"""The Debian packages the test suite needs, listed in ``scripts/apt-packages``.

One list and one install command for both sides: ``./scripts/test`` runs this
file to learn what is missing (and installs it as root, or prints the command),
and the tests that need a package skip with that same command, or fail under
CI=true. Standard library only: it runs before the virtualenv exists.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

LIST = Path(__file__).resolve().parent.parent / "scripts" / "apt-packages"


def listed(path: Path = LIST) -> list[str]:
    """The package names of the list, without comments and blank lines."""
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    return names


def installed(package: str) -> bool:
    """Whether dpkg knows ``package`` as installed (False where there is no dpkg)."""
    if shutil.which("dpkg-query") is None:
        return False
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Abbrev}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and result.stdout.startswith("ii")


def missing(path: Path = LIST) -> list[str]:
    return [name for name in listed(path) if not installed(name)]


def install_command(packages: list[str], as_root: bool | None = None) -> str:
    """The exact command that installs ``packages`` (with sudo unless run as root)."""
    if as_root is None:
        as_root = os.geteuid() == 0
    sudo = "" if as_root else "sudo "
    names = " ".join(packages)
    return f"{sudo}apt-get update && {sudo}apt-get install -y --no-install-recommends {names}"


def main(argv: list[str]) -> int:
    """``missing``: print the missing packages; ``command [--root|--user]``: the command
    installing them, for root or for a user (default: whoever runs this)."""
    args = argv[1:]
    as_root = None
    if "--root" in args or "--user" in args:
        as_root = "--root" in args
        args = [arg for arg in args if arg not in ("--root", "--user")]
    path = Path(args[1]) if len(args) > 1 else LIST
    absent = missing(path)
    if args[:1] == ["missing"]:
        print(" ".join(absent))
    elif args[:1] == ["command"]:
        print(install_command(absent, as_root) if absent else "")
    else:
        print("usage: system_packages.py missing|command [--root|--user] [LIST]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
