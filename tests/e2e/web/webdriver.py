"""Drive Chromium from pytest: one Node 22 process running web/e2e/driver.mjs.

Commands are JSON lines; replies come back by id, so several commands may run
at once (``await web.acall(...)`` in ``asyncio.gather``), as when two users
confirm an emoji verification each in their own browser. The driver's log
(browser console, errors) goes to a file that a failing call quotes.
"""

import asyncio
import itertools
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, require_system_package
from tests.e2e.jssdk.jsclient import require_node

REPO = Path(__file__).resolve().parents[3]
DRIVER = REPO / "web" / "e2e" / "driver.mjs"
#: Screenshots and axe reports of the browser tests (git-ignored).
OUTPUT = REPO / "test-output" / "web"

#: Longer than the steps' own waits (20 s), so that their more precise error arrives first.
CALL_TIMEOUT_S = 60.0


class WebError(AssertionError):
    """A command failed in the browser driver."""


def require_chromium() -> Path:
    """Debian's chromium; skip (fail in CI) when scripts/apt-packages was not installed."""
    return Path(require_system_package("chromium", "chromium"))


def require_playwright() -> None:
    if (REPO / "node_modules" / "playwright-core").is_dir():
        return
    message = "node_modules/playwright-core is missing: run `npm ci` at the repository root"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


class WebDriver:
    """One ``node web/e2e/driver.mjs`` process holding one Chromium."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[threading.Event, list[Any]]] = {}
        self._reader: threading.Thread | None = None

    def start(
        self, base_url: str, output_dir: Path, browser_args: list[str] | None = None
    ) -> dict[str, Any]:
        chromium = require_chromium()
        require_playwright()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(require_node()), str(DRIVER)],
                cwd=REPO,
                env={**os.environ, "CHROMIUM": str(chromium)},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        ready = threading.Event()
        hello: list[Any] = []
        self._waiting[0] = (ready, hello)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not ready.wait(30):
            raise WebError(f"browser driver did not start\n{self.log_tail()}")
        args = {"browserArgs": browser_args} if browser_args else {}
        return dict(self.call("start", baseUrl=base_url, outputDir=str(output_dir), **args))

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            reply = json.loads(line)
            with self._lock:
                event, box = self._waiting.pop(reply["id"], (None, []))
            if event is not None:
                box.append(reply)
                event.set()
        with self._lock:  # node exited: wake every waiter
            for event, _box in self._waiting.values():
                event.set()
            self._waiting.clear()

    def call(self, cmd: str, timeout: float = CALL_TIMEOUT_S, **args: Any) -> Any:
        """Run one command and wait for its reply (raises WebError on failure)."""
        assert self._process is not None and self._process.stdin is not None
        request_id = next(self._ids)
        event = threading.Event()
        box: list[Any] = []
        with self._lock:
            self._waiting[request_id] = (event, box)
        line = json.dumps({"id": request_id, "cmd": cmd, "args": args}) + "\n"
        with self._lock:
            self._process.stdin.write(line.encode())
            self._process.stdin.flush()
        what = f"{cmd}({json.dumps(args)[:300]})"
        if not event.wait(timeout):
            raise WebError(f"browser {what}: no reply within {timeout}s\n{self.log_tail()}")
        if not box:
            raise WebError(f"browser {what}: the driver exited\n{self.log_tail()}")
        reply = box[0]
        if not reply["ok"]:
            raise WebError(f"browser {what} failed: {reply['error']}\n{self.log_tail()}")
        return reply["result"]

    async def acall(self, cmd: str, timeout: float = CALL_TIMEOUT_S, **args: Any) -> Any:
        """``call`` from a coroutine, without blocking the event loop (nio keeps running)."""
        return await asyncio.to_thread(self.call, cmd, timeout, **args)

    def log_tail(self, chars: int = 6000) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "--- browser driver log (tail) ---\n" + text[-chars:]

    def close(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
