"""Server discovery (spec: "Resolving server names"), behind injectable look-ups.

A server name becomes the address to connect to, the Host header and the
name its TLS certificate must carry. The two network look-ups (the
``/.well-known/matrix/server`` file and SRV records) are passed in, so tests
exercise every branch without DNS or HTTPS.
"""

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sceau.clock import Clock
from sceau.protocol.federation import parse_server_name

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8448
#: How long a resolution is reused; well-known answers are meant to be cached.
_CACHE_MS = 3_600_000
_CACHE_SIZE = 1024

WellKnownFetch = Callable[[str], Awaitable[Any]]
SrvLookup = Callable[[str], Awaitable[list[tuple[str, int]]]]


@dataclass(frozen=True)
class Destination:
    """Where to connect for a server name, and what to present there."""

    #: Address to connect to (host name or IP literal, IPv6 without brackets).
    host: str
    port: int
    #: The Host header: the server name, or the delegated name.
    host_header: str
    #: The name the certificate must be valid for (SNI).
    tls_name: str


class ServerResolver:
    def __init__(self, *, clock: Clock, well_known: WellKnownFetch, srv_lookup: SrvLookup) -> None:
        self._clock = clock
        self._well_known = well_known
        self._srv = srv_lookup
        self._cache: OrderedDict[str, tuple[int, Destination]] = OrderedDict()

    async def resolve(self, server_name: str) -> Destination:
        """The spec's steps in order; ValueError for a name that is not a server name."""
        cached = self._cache.get(server_name)
        now = self._clock.time_ms()
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await self._resolve(server_name)
        self._cache[server_name] = (now + _CACHE_MS, found)
        self._cache.move_to_end(server_name)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return found

    async def _resolve(self, server_name: str) -> Destination:
        name = parse_server_name(server_name)
        if name.is_ip_literal or name.port is not None:
            return _direct(server_name)
        delegated = await self._delegated(name.host)
        if delegated is not None:
            try:
                target = parse_server_name(delegated)
            except ValueError:
                logger.warning("ignoring invalid m.server %r of %s", delegated, server_name)
            else:
                if target.is_ip_literal or target.port is not None:
                    return _direct(delegated)
                srv = await self._srv_records(target.host)
                if srv is not None:
                    return Destination(srv[0], srv[1], delegated, target.host)
                return Destination(target.host, DEFAULT_PORT, delegated, target.host)
        srv = await self._srv_records(name.host)
        if srv is not None:
            return Destination(srv[0], srv[1], server_name, name.host)
        return Destination(name.host, DEFAULT_PORT, server_name, name.host)

    async def _delegated(self, host: str) -> str | None:
        try:
            body = await self._well_known(host)
        except Exception as exc:  # any failure means "no delegation"
            logger.info("no .well-known/matrix/server for %s: %s", host, exc)
            return None
        if isinstance(body, dict) and isinstance(body.get("m.server"), str):
            return str(body["m.server"])
        return None

    async def _srv_records(self, host: str) -> tuple[str, int] | None:
        for prefix in ("_matrix-fed._tcp.", "_matrix._tcp."):
            try:
                records = await self._srv(prefix + host)
            except Exception as exc:
                logger.info("SRV %s%s failed: %s", prefix, host, exc)
                records = []
            if records:
                return records[0]
        return None


def _direct(server_name: str) -> Destination:
    name = parse_server_name(server_name)
    host = name.host[1:-1] if name.host.startswith("[") else name.host
    return Destination(host, name.port or DEFAULT_PORT, server_name, host)


async def dns_srv_lookup(query: str) -> list[tuple[str, int]]:
    """SRV records by priority (then weight), via dnspython; empty when there are none."""
    import dns.asyncresolver
    import dns.exception
    import dns.resolver

    try:
        answer = await dns.asyncresolver.resolve(query, "SRV", lifetime=5)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:
        logger.info("SRV look-up %s failed: %s", query, exc)
        return []
    records = sorted(answer, key=lambda r: (r.priority, -r.weight))
    return [(str(r.target).rstrip("."), int(r.port)) for r in records if str(r.target) != "."]
