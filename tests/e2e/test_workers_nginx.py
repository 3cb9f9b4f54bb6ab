"""The nginx layout of docs/deployment.md, with a real nginx in front of real workers.

The nginx config is read from the document itself (only the ports, the
``listen`` line and the upstream servers of instances this test does not
start change), so the documented layout is the tested one.
"""

import asyncio
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, require_postgres, require_system_package
from tests.e2e.workers_support import Cluster, RedisServer, has_body, register, sync_until

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
ROLES = {
    "main": ["main"],
    "writer1": ["event_writer"],
    "sync1": ["sync"],
    "media1": ["media"],
}


def documented_config(cluster: Cluster, port: int, prefix: Path) -> str:
    """The document's nginx block, pointed at this cluster, wrapped in a runnable nginx.conf."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- nginx-config-begin -->", 1)[1].split("<!-- nginx-config-end -->")[0]
    server_block = block.split("```nginx", 1)[1].split("```", 1)[0]

    def upstream(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in cluster.workers:
            return ""
        return f"server 127.0.0.1:{cluster.workers[name].port};  # {name}"

    server_block = re.sub(r"server 127\.0\.0\.1:\d+;\s+# (\w+)", upstream, server_block)
    server_block = server_block.replace("listen 80;", f"listen 127.0.0.1:{port};")
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
daemon off;
user root;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{ worker_connections 512; }}
http {{
    access_log {prefix / "access.log"};
{temp}
{server_block}
}}
"""


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator[tuple[str, Cluster]]:
    require_postgres()
    binary = require_system_package("nginx", "nginx")
    redis = RedisServer(require_system_package("redis-server", "redis-server"), tmp_path)
    redis.start()
    cluster = Cluster(tmp_path, redis.url, ROLES)
    process = None
    try:
        cluster.start()
        prefix = tmp_path / "nginx"
        prefix.mkdir()
        port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(documented_config(cluster, port, prefix), encoding="utf-8")
        process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(conf)])
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/_matrix/client/versions").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (prefix / "error.log").read_text()
            time.sleep(0.1)
        yield url, cluster
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        cluster.stop()
        redis.stop()


def served(cluster: Cluster, name: str, request: str) -> bool:
    """Whether instance ``name``'s access log shows ``request`` (e.g. 'GET /_matrix/...').

    A process writes its access-log line once the response has gone, so the
    line may come a moment after the client got its answer: wait for it a while.
    """
    deadline = time.monotonic() + 10
    while request not in cluster.workers[name].log_text():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_nginx_routes_each_endpoint_to_its_workers_as_documented(
    nginx_in_front: tuple[str, Cluster],
) -> None:
    url, cluster = nginx_in_front

    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            alice = await register(http, url, "alice")
            bob = await register(http, url, "bob")
            room = await alice.ok(url, "POST", "/createRoom", json={"preset": "public_chat"})
            room_id = room["room_id"]
            await bob.ok(url, "POST", f"/join/{room_id}", json={})
            first = await bob.ok(url, "GET", "/sync")
            held = asyncio.create_task(
                sync_until(bob, url, first["next_batch"], room_id, has_body("through nginx"))
            )
            await asyncio.sleep(0.5)
            sent = await alice.ok(
                url,
                "PUT",
                f"/rooms/{room_id}/send/m.room.message/n1",
                json={"msgtype": "m.text", "body": "through nginx"},
            )
            seen, _ = await held
            assert sent["event_id"] in [event["event_id"] for event in seen]
            history = await bob.ok(url, "GET", f"/rooms/{room_id}/messages", params={"dir": "b"})
            assert sent["event_id"] in [event["event_id"] for event in history["chunk"]]
            upload = await http.post(
                url + "/_matrix/media/v3/upload",
                content=b"hello",
                headers={"Authorization": f"Bearer {alice.token}", "Content-Type": "text/plain"},
            )
            assert upload.status_code == 200, upload.text

    try:
        asyncio.run(scenario())
    except BaseException:
        print(cluster.logs())
        raise
    # Main logs this request after every request of the scenario it served:
    # once it is there, what main's log lacks, main did not serve.
    assert httpx.get(url + "/_matrix/client/versions?probe=last").status_code == 200
    assert served(cluster, "main", "GET /_matrix/client/versions?probe=last")
    assert "GET /_matrix/client/v3/sync" not in cluster.workers["main"].log_text()
    assert served(cluster, "main", "POST /_matrix/client/v3/register")
    assert served(cluster, "sync1", "GET /_matrix/client/v3/sync")
    assert served(cluster, "sync1", "/messages?dir=b 200")
    assert served(cluster, "writer1", "/send/m.room.message/n1 200")
    assert served(cluster, "media1", "POST /_matrix/media/v3/upload")
