"""Prometheus series of one homeserver, on a registry of its own.

The composition root (:func:`sceau.homeserver.build_services`) creates one
:class:`Metrics` per homeserver with a fresh ``CollectorRegistry`` and passes
it in; nothing uses prometheus-client's global default registry, so several
homeservers (tests) never mix their figures. ``sceau serve`` exposes the
registry on a listener of its own when ``metrics.enabled`` (never the public one).

Hot paths only call :meth:`Metrics.observe_request`, :meth:`observe_batch` and
:meth:`observe_query`. Everything that is a size or a running count elsewhere
(waiting /sync requests, caches, job queues, the database pool) is read at
scrape time through the ``register_*`` functions, so the services keep plain
counters and never import this library.
"""

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

Reading = Callable[[], float]

#: Request latency buckets (seconds): from fast reads to a full /sync long-poll.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
#: Group-commit batch sizes: events written in one transaction.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: Database read and transaction times (seconds).
QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)


class _Readings(Collector):
    """Series whose values are read from the services when Prometheus scrapes."""

    def __init__(self) -> None:
        self.gauges: dict[str, tuple[str, str, dict[str, Reading]]] = {}
        self.counters: dict[str, tuple[str, Reading]] = {}

    def add_gauge(self, name: str, doc: str, label: str, key: str, read: Reading) -> None:
        self.gauges.setdefault(name, (doc, label, {}))[2][key] = read

    def collect(self) -> Iterator[Metric]:
        for name, (doc, label, readings) in self.gauges.items():
            family = GaugeMetricFamily(name, doc, labels=[label] if label else [])
            for key, read in readings.items():
                family.add_metric([key] if label else [], float(read()))
            yield family
        for name, (doc, read) in self.counters.items():
            counter = CounterMetricFamily(name, doc)
            counter.add_metric([], float(read()))
            yield counter


class Metrics:
    """The homeserver's series. Names are documented in docs/operations.md."""

    #: Recording (see :class:`sceau.metrics_off.NoMetrics` for the disabled case).
    enabled = True

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.http_requests = Counter(
            "sceau_http_requests",
            "HTTP requests answered, by endpoint group, method and status",
            ["group", "method", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "sceau_http_request_duration_seconds",
            "Time to answer an HTTP request, by endpoint group (includes /sync long-polls)",
            ["group"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.events_persisted = Counter(
            "sceau_events_persisted", "Room events written to the database", registry=registry
        )
        self.event_batch_size = Histogram(
            "sceau_event_batch_size",
            "Events written per transaction by the group commit (one room per batch)",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.db_query_duration = Histogram(
            "sceau_db_query_duration_seconds",
            "Database time: one-off reads (kind=read) and whole transactions (kind=transaction)",
            ["kind"],
            buckets=QUERY_BUCKETS,
            registry=registry,
        )
        self._readings = _Readings()
        registry.register(self._readings)

    # ------------------------------------------------------------- hot paths

    def observe_request(self, group: str, method: str, status: int, seconds: float) -> None:
        self.http_requests.labels(group, method, str(status)).inc()
        self.http_duration.labels(group).observe(seconds)

    def observe_batch(self, events: int) -> None:
        self.events_persisted.inc(events)
        self.event_batch_size.observe(events)

    def observe_query(self, kind: str, seconds: float) -> None:
        self.db_query_duration.labels(kind).observe(seconds)

    # ----------------------------------------------- read at scrape time

    def register_gauge(self, name: str, doc: str, read: Reading) -> None:
        """A gauge without labels, e.g. waiting /sync requests."""
        self._readings.add_gauge(name, doc, "", "", read)

    def register_counter(self, name: str, doc: str, read: Reading) -> None:
        """A counter kept by a service as a plain int (exposed as ``name_total``)."""
        self._readings.counters[name] = (doc, read)

    def register_cache(self, cache: str, size: Reading) -> None:
        """An in-memory cache's entry count, as ``sceau_cache_entries{cache=...}``."""
        self._readings.add_gauge(
            "sceau_cache_entries", "Entries held by each in-memory cache", "cache", cache, size
        )

    def register_queue(self, queue: str, length: Reading) -> None:
        """A background job queue's length, as ``sceau_job_queue_length{queue=...}``.

        Registration point for every queue of background work: email today;
        push and federation sending register theirs the same way.
        """
        self._readings.add_gauge(
            "sceau_job_queue_length",
            "Background jobs waiting or running, by queue",
            "queue",
            queue,
            length,
        )

    def register_pool(self, in_use: Reading, size: Reading) -> None:
        """The database pool: connections in use and the pool's size."""
        self._readings.add_gauge(
            "sceau_db_pool_connections",
            "Database connections, in use and in the pool",
            "state",
            "in_use",
            in_use,
        )
        self._readings.add_gauge(
            "sceau_db_pool_connections",
            "Database connections, in use and in the pool",
            "state",
            "size",
            size,
        )
