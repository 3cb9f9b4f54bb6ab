"""GET /health, and the Prometheus series of one homeserver (read from its own registry).

The listener that serves them is tested on the real process in
tests/e2e/test_operations.py; here the registry is read directly.
"""

import asyncio

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

SERIES = [
    "sceau_http_requests_total",
    "sceau_http_request_duration_seconds_bucket",
    "sceau_events_persisted_total",
    "sceau_event_batch_size_bucket",
    "sceau_sync_waiting",
    "sceau_sync_wakes_total",
    "sceau_sync_room_computed_total",
    "sceau_sync_room_shared_total",
    "sceau_db_pool_connections",
    "sceau_db_query_duration_seconds_count",
    "sceau_cache_entries",
    "sceau_job_queue_length",
]


@pytest.fixture
def config_overrides() -> dict[str, object]:
    """The series are recorded only when a metrics listener would serve them."""
    return {"metrics": {"enabled": True}}


def samples(services) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = prometheus_client.generate_latest(services.metrics.registry).decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def total(found, name: str, **labels: str) -> float:
    """The sum over every label set that includes ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= set(ls))


async def test_health_answers_ok(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.text == "OK"


async def test_health_answers_503_when_the_database_does_not(client, services, monkeypatch):
    async def broken() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(services.stores.db, "ping", broken)
    response = await client.get("/health")
    assert response.status_code == 503


async def test_metrics_are_not_served_on_the_public_port(client):
    response = await client.get("/metrics")
    assert response.status_code == 404


async def test_every_named_series_is_exposed(services, client):
    await client.get("/health")
    names = {name for name, _labels in samples(services)}
    missing = [name for name in SERIES if name not in names]
    assert not missing, sorted(names)
    found = samples(services)
    for cache in ("access_tokens", "recent_events", "unread_counts"):
        assert ("sceau_cache_entries", (("cache", cache),)) in found
    assert ("sceau_job_queue_length", (("queue", "email"),)) in found
    assert ("sceau_job_queue_length", (("queue", "federation"),)) in found


async def test_the_series_move_after_a_message_is_sent(services, user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    since = (await alice.ok("GET", "/sync", params={"timeout": "0"}))["next_batch"]
    before = samples(services)

    waiting = asyncio.create_task(
        alice.request("GET", "/sync", params={"since": since, "timeout": "30000"})
    )
    for _ in range(200):
        if services.notifier.waiting_count():
            break
        await asyncio.sleep(0.01)
    assert value(samples(services), "sceau_sync_waiting") == 1
    await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/t1", json={"msgtype": "m.text", "body": "hi"}
    )
    assert (await waiting).status_code == 200
    after = samples(services)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("sceau_events_persisted_total") == 1
    assert moved("sceau_event_batch_size_count") == 1
    assert moved("sceau_event_batch_size_sum") == 1
    assert moved("sceau_sync_wakes_total") >= 1
    assert value(after, "sceau_sync_waiting") == 0
    assert moved("sceau_http_requests_total", group="rooms", method="PUT", status="200") == 1
    assert moved("sceau_http_request_duration_seconds_count", group="sync") == 1
    assert moved("sceau_db_query_duration_seconds_count", kind="transaction") >= 1
    assert value(after, "sceau_cache_entries", cache="recent_events") >= 1
    assert value(after, "sceau_cache_entries", cache="access_tokens") >= 1
    assert value(after, "sceau_db_pool_connections", state="size") >= 1


async def test_each_homeserver_has_its_own_registry_never_the_global_one(services, client):
    await client.get("/health")
    assert total(samples(services), "sceau_http_requests_total", group="health") == 1
    global_names = {m.name for m in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith("sceau") for name in global_names)


def test_metrics_may_not_share_the_public_port(tmp_path):
    from sceau.config import ConfigError
    from tests.conftest import make_config

    with pytest.raises(ConfigError, match=r"metrics\.port"):
        make_config(tmp_path, metrics={"enabled": True, "port": 8008})
    assert make_config(tmp_path, metrics={"enabled": True, "port": 9108}).metrics.enabled
    assert make_config(tmp_path).metrics.enabled is False


async def test_a_path_with_an_encoded_slash_is_counted_in_its_endpoint_group(
    services, user_factory
):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    before = samples(services)
    response = await alice.request("GET", f"/rooms/{room}/event/$abc%2Fdef")
    assert response.status_code == 404
    after = samples(services)
    assert (
        total(after, "sceau_http_requests_total", group="rooms", status="404")
        - total(before, "sceau_http_requests_total", group="rooms", status="404")
        == 1
    )


async def test_with_metrics_disabled_nothing_is_recorded_or_registered(tmp_path):
    from sceau.homeserver import new_metrics
    from tests.conftest import make_config

    off = new_metrics(make_config(tmp_path))
    on = new_metrics(make_config(tmp_path, metrics={"enabled": True}))
    assert (off.enabled, off.registry) == (False, None)
    assert on.enabled and on.registry is not None
