"""The metrics of a server that does not expose them (``metrics.enabled: false``).

Nothing would ever read the series, so nothing records them: the server
skips prometheus-client (1.3 MiB resident once imported) and the per-request
and per-query bookkeeping. Same interface as :class:`sceau.metrics.Metrics`.
"""

from collections.abc import Callable

Reading = Callable[[], float]


class NoMetrics:
    """Drops every observation and registration."""

    enabled = False
    registry = None

    def observe_request(self, group: str, method: str, status: int, seconds: float) -> None:
        """Not recorded: no listener would serve it."""

    def observe_batch(self, events: int) -> None:
        """Not recorded."""

    def observe_query(self, kind: str, seconds: float) -> None:
        """Not recorded."""

    def register_gauge(self, name: str, doc: str, read: Reading) -> None:
        """Never read."""

    def register_counter(self, name: str, doc: str, read: Reading) -> None:
        """Never read."""

    def register_cache(self, cache: str, size: Reading) -> None:
        """Never read."""

    def register_queue(self, queue: str, length: Reading) -> None:
        """Never read."""

    def register_pool(self, in_use: Reading, size: Reading) -> None:
        """Never read."""
