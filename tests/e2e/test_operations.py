"""What an admin sees of the real process: /health, the metrics listener and the access log."""

import re
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port
from tests.e2e.server import ServerFactory

pytestmark = pytest.mark.e2e


def scrape(url: str) -> dict[str, float]:
    """Every sample of /metrics, keyed by name and sorted labels."""
    deadline = time.monotonic() + 30
    while True:
        try:
            response = httpx.get(url, timeout=5)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def test_health_metrics_listener_and_access_log_of_the_real_server(make_server: ServerFactory):
    metrics_port = free_port()
    server = make_server(
        metrics={"enabled": True, "bind_address": "127.0.0.1", "port": metrics_port}
    )
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"

    health = httpx.get(server.url + "/health", timeout=10)
    assert (health.status_code, health.text) == (200, "OK")
    assert httpx.get(server.url + "/metrics", timeout=10).status_code == 404

    before = scrape(metrics_url)
    register = httpx.post(
        server.url + "/_matrix/client/v3/register",
        json={"username": "ops", "password": "Ops-pw-2026!x", "auth": {"type": "m.login.dummy"}},
        timeout=30,
    ).json()
    token = register["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    room = httpx.post(
        server.url + "/_matrix/client/v3/createRoom", json={}, headers=headers, timeout=30
    ).json()["room_id"]
    sent = httpx.put(
        f"{server.url}/_matrix/client/v3/rooms/{room}/send/m.room.message/t1",
        json={"msgtype": "m.text", "body": "hello"},
        headers=headers,
        timeout=30,
    )
    assert sent.status_code == 200
    httpx.get(
        server.url + "/_matrix/client/v3/sync",
        params={"access_token": token, "timeout": "0"},
        timeout=30,
    )
    after = scrape(metrics_url)

    assert after["sceau_events_persisted_total{}"] > before.get("sceau_events_persisted_total{}", 0)
    put_ok = "sceau_http_requests_total{group=rooms,method=PUT,status=200}"
    assert after[put_ok] - before.get(put_ok, 0) == 1
    assert "sceau_event_batch_size_count{}" in after
    assert "sceau_db_query_duration_seconds_count{kind=transaction}" in after
    assert "sceau_job_queue_length{queue=email}" in after

    log = server.log_text()
    assert token not in log
    assert "GET /_matrix/client/v3/sync?access_token=<redacted>&timeout=0 200" in log
    # The served process writes its access lines itself, as the logger would.
    assert re.search(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO sceau\.access: 127\.0\.0\.1 GET "
        r"/_matrix/client/v3/sync\?access_token=<redacted>&timeout=0 200 [\d.]+ms @ops:e2e\.test$",
        log,
        re.MULTILINE,
    )
    assert f"PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/t1 200" in log
    assert "@ops:e2e.test" in log
    assert f"metrics: http://127.0.0.1:{metrics_port}/metrics" in log
