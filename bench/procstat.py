"""Server cost read straight from /proc: RSS and CPU of a process tree.

The tree matters because a server may fork workers; a process that has already
exited is still charged through its parent's cutime/cstime.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _read_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces; everything after the last ')' is fixed.
    return raw[raw.rfind(")") + 2 :].split()


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(root: int) -> list[int]:
    """The root pid and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _read_stat(int(entry))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cost(root: int) -> tuple[float, int]:
    """(CPU seconds, RSS KiB) of a process tree right now."""
    cpu_ticks, rss = 0, 0
    for pid in process_tree(root):
        fields = _read_stat(pid)
        if fields is None:
            continue
        # utime, stime, cutime, cstime are fields 14-17 of stat (index 11-14 here).
        cpu_ticks += sum(int(v) for v in fields[11:15])
        rss += _rss_kib(pid)
    return cpu_ticks / _TICKS, rss


@dataclass
class CostSampler:
    """Samples a process tree in the background; keeps peak and last values."""

    pid: int
    interval: float = 0.25
    peak_rss_kib: int = 0
    #: Peak since the last ``reset_window()``: one workload's own peak.
    window_peak_kib: int = 0
    last_rss_kib: int = 0
    cpu_seconds: float = 0.0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def sample(self) -> tuple[float, int]:
        """Take one sample now and return (cpu seconds, rss KiB)."""
        cpu, rss = tree_cost(self.pid)
        if rss:
            self.last_rss_kib = rss
            self.peak_rss_kib = max(self.peak_rss_kib, rss)
            self.window_peak_kib = max(self.window_peak_kib, rss)
            self.cpu_seconds = max(self.cpu_seconds, cpu)
        return self.cpu_seconds, rss

    def reset_window(self) -> None:
        """Start a new window for ``window_peak_kib`` at the current RSS."""
        self.window_peak_kib = self.last_rss_kib

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        """Begin background sampling on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop sampling after one final sample."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.sample()
