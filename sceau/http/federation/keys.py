"""Server keys: our own, and the notary endpoints answering from the key cache."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.errors import bad_json
from sceau.http.common import json_response, query_int, read_json, services
from sceau.protocol.federation import parse_server_name


async def server_keys(request: Request) -> Response:
    """GET /_matrix/key/v2/server"""
    return json_response(services(request).federation.keys.own_keys())


async def query_one(request: Request) -> Response:
    """GET /_matrix/key/v2/query/{serverName}"""
    server = request.path_params["server_name"]
    _check_name(server)
    minimum = query_int(request, "minimum_valid_until_ts", 0)
    answer = await services(request).federation.keys.notary_query(
        {server: {"": {"minimum_valid_until_ts": minimum}}} if minimum else {server: {}}
    )
    return json_response(answer)


async def query_many(request: Request) -> Response:
    """POST /_matrix/key/v2/query"""
    body = await read_json(request)
    wanted = body.get("server_keys")
    if not isinstance(wanted, dict):
        raise bad_json("'server_keys' must be an object")
    checked: dict[str, dict[str, Any]] = {}
    for server, key_ids in wanted.items():
        _check_name(server)
        if not isinstance(key_ids, dict) or not all(isinstance(v, dict) for v in key_ids.values()):
            raise bad_json("'server_keys' must map server names to {key ID: criteria}")
        checked[server] = key_ids
    if len(checked) > 100:
        raise bad_json("at most 100 servers per query")
    return json_response(await services(request).federation.keys.notary_query(checked))


def _check_name(server: str) -> None:
    try:
        parse_server_name(server)
    except ValueError:
        raise bad_json(f"{server!r} is not a server name") from None


def routes() -> list[BaseRoute]:
    return [
        Route("/_matrix/key/v2/server", server_keys, methods=["GET"]),
        Route("/_matrix/key/v2/query/{server_name}", query_one, methods=["GET"]),
        Route("/_matrix/key/v2/query", query_many, methods=["POST"]),
    ]
