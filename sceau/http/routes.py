"""Gathers the routes of every endpoint module."""

from starlette.routing import BaseRoute


def collect() -> list[BaseRoute]:
    from sceau.http import discovery, rooms

    routes: list[BaseRoute] = []
    for module in (discovery, rooms):
        routes.extend(module.routes())
    return routes
