"""Federation plugged into the core: the transport, the queue, EDUs and queries.

Called once from :func:`sceau.homeserver.build_services`, after every other
service exists, since federation feeds and reads nearly all of them.
"""

from typing import TYPE_CHECKING

from sceau.services.federation import build_transport

if TYPE_CHECKING:
    from sceau.homeserver import Services


def add_federation(services: "Services") -> None:
    """Build the federation services; with federation disabled they refuse everything."""
    config = services.config
    services.federation = build_transport(
        config=config,
        clock=services.clock,
        db=services.stores.db,
        signing_key=services.signing_key,
    )
