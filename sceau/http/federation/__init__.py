"""The Server-Server API endpoints (``/_matrix/federation`` and ``/_matrix/key``)."""

from starlette.routing import BaseRoute

from sceau.http.federation import (
    keys,
    membership,
    openid,
    queries,
    room_reads,
    transactions,
    version,
)


def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for module in (keys, openid, queries, transactions, version, room_reads, membership):
        found.extend(module.routes())
    return found
