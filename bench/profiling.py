"""Optional py-spy profiles of a server while the workloads run.

py-spy attaches to the running server (it is not the server's parent), so the
server's own cost figures stay those of the server alone; py-spy's sampling
does slow the profiled process a little, so a profiled run's figures are for
finding hot spots, not for the comparison table.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path


def py_spy() -> str:
    """The py-spy binary, installed into this virtualenv on first use."""
    local = Path(sys.prefix) / "bin" / "py-spy"
    if local.exists():
        return str(local)
    found = shutil.which("py-spy")
    if found:
        return found
    print("bench: installing py-spy into", sys.prefix)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
    return str(local)


class Profiler:
    """A py-spy recording of one process tree: a flame graph SVG, or ``raw`` collapsed stacks."""

    def __init__(self, pid: int, output: Path, fmt: str = "flamegraph") -> None:
        self.output = output
        self.process = subprocess.Popen(
            [
                py_spy(),
                "record",
                "--pid",
                str(pid),
                "--subprocesses",
                "--rate",
                "50",
                "--format",
                fmt,
                "--output",
                str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> Path | None:
        """Ask py-spy to write its output (as Ctrl-C would) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output if self.output.exists() else None
