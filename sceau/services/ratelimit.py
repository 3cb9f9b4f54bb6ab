"""Token-bucket rate limiting, keyed by user or client IP."""

from collections import OrderedDict

from sceau.clock import Clock
from sceau.config import Rate, RateLimitConfig
from sceau.errors import limit_exceeded


class RateLimiter:
    """Buckets live in memory, bounded: the oldest idle ones are dropped first."""

    MAX_BUCKETS = 100_000

    def __init__(self, config: RateLimitConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def check(self, action: str, key: str) -> None:
        """Spend one token for ``action`` by ``key``; raise M_LIMIT_EXCEEDED when empty."""
        if not self._config.enabled:
            return
        rate: Rate = getattr(self._config, action)
        now = self._clock.monotonic()
        bucket_key = (action, key)
        tokens, last = self._buckets.pop(bucket_key, (float(rate.burst), now))
        tokens = min(float(rate.burst), tokens + (now - last) * rate.per_second)
        if tokens < 1.0:
            self._buckets[bucket_key] = (tokens, now)
            wait_s = (1.0 - tokens) / rate.per_second
            raise limit_exceeded(max(1, int(wait_s * 1000)))
        self._buckets[bucket_key] = (tokens - 1.0, now)
        while len(self._buckets) > self.MAX_BUCKETS:
            self._buckets.popitem(last=False)
