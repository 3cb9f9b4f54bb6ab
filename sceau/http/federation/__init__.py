"""The Server-Server API endpoints (``/_matrix/federation`` and ``/_matrix/key``)."""

from starlette.routing import BaseRoute

from sceau.http.federation import (
    keys,
    media,
    membership,
    openid,
    queries,
    room_reads,
    third_party_invites,
    transactions,
    version,
)

#: One module per line, so that adding one never conflicts with adding another.
MODULES = (
    keys,
    media,
    membership,
    openid,
    queries,
    room_reads,
    third_party_invites,
    transactions,
    version,
)


def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for module in MODULES:
        found.extend(module.routes())
    return found
