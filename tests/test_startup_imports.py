"""A default ``sceau serve`` leaves optional capabilities unimported until first used.

Each of these libraries costs megabytes of resident memory once imported
(httpx with its TLS context about 6 MiB, aiohttp 10, cryptography 9,
prometheus-client 1.3), so a
server whose configuration never needs them must not load them at start-up.
"""

import json
import subprocess
import sys
from pathlib import Path

from sceau.config import render_default_config

#: Built and started as ``sceau serve`` does, then stopped; prints sys.modules.
SCRIPT = """
import asyncio, json, sys
from pathlib import Path
from sceau.config import load_config
from sceau.homeserver import build_app, build_services

async def main():
    services = await build_services(load_config(Path(sys.argv[1])))
    build_app(services)
    await services.start()
    await services.stop()
    await services.stores.db.close()
    print(json.dumps(sorted(sys.modules)))

asyncio.run(main())
"""

#: Needed only by a capability the default configuration leaves off.
OPTIONAL = {
    "httpx": "federation and replication (made at the first outbound request)",
    "httpcore": "federation and replication",
    "asyncpg": "the PostgreSQL backend",
    "prometheus_client": "the metrics listener (metrics.enabled)",
    "aiohttp": "push delivery (the first pusher)",
    "PIL": "thumbnails (the first image upload)",
    "cryptography": "the content scanner",
    "vodozemac": "the content scanner",
}


def _modules_after_start(tmp_path: Path) -> set[str]:
    config = tmp_path / "sceau.yaml"
    config.write_text(render_default_config("startup.test"), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=True,
    )
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


def test_default_server_starts_without_importing_optional_libraries(tmp_path: Path) -> None:
    loaded = _modules_after_start(tmp_path)
    assert "sceau" in loaded
    assert {name: why for name, why in OPTIONAL.items() if name in loaded} == {}
