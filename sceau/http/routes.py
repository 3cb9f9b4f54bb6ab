"""Gathers the routes of every endpoint module."""

from starlette.routing import BaseRoute


def collect() -> list[BaseRoute]:
    from sceau.http import discovery

    routes: list[BaseRoute] = []
    for module in (discovery,):
        routes.extend(module.routes())
    return routes
