"""Gathers the routes of every endpoint module (one import per module)."""

from types import ModuleType

from starlette.routing import BaseRoute

from sceau.http import (
    account_data,
    account_validity,
    accounts,
    admin,
    content_scanner,
    dehydrated,
    devices,
    directory,
    discovery,
    federation,
    health,
    identity,
    keys,
    media,
    notifications,
    presence,
    profile,
    push,
    receipts,
    relations,
    reports,
    room_keys,
    room_upgrade,
    rooms,
    search,
    sliding_sync,
    spaces,
    synapse_admin,
    sync,
    threepid,
    timestamp,
    to_device,
    typing,
    voip,
    web_client,
)


def endpoint_modules() -> list[ModuleType]:
    return [
        health,
        discovery,
        # First: the router tries routes in order, and every client long-polls /sync.
        sync,
        rooms,
        sliding_sync,
        relations,
        search,
        directory,
        spaces,
        room_upgrade,
        accounts,
        account_validity,
        threepid,
        identity,
        devices,
        profile,
        keys,
        to_device,
        room_keys,
        dehydrated,
        account_data,
        presence,
        push,
        receipts,
        typing,
        voip,
        media,
        content_scanner,
        timestamp,
        reports,
        notifications,
        admin,
        synapse_admin,
        federation,
        # Last: its catch-all for client routes must not shadow any API route.
        web_client,
    ]


def collect() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for module in endpoint_modules():
        routes.extend(module.routes())
    return routes
