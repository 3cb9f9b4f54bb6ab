"""Device keys, one-time keys, cross-signing and device-list changes (/keys/...)."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import bad_json, missing_param
from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services
from sceau.services.tokens import parse_sync_token


async def upload_keys(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/upload"""
    user = await requester(request)
    body = await read_json(request)
    counts = await services(request).e2ee.keys.upload(user.user_id, user.device_id, body)
    return json_response({"one_time_key_counts": counts})


async def query_keys(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/query"""
    user = await requester(request)
    body = await read_json(request)
    if "device_keys" not in body:
        raise missing_param("device_keys")
    result = await services(request).e2ee.keys.query(user.user_id, body["device_keys"])
    return json_response(result)


async def claim_keys(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/claim"""
    await requester(request)
    body = await read_json(request)
    if "one_time_keys" not in body:
        raise missing_param("one_time_keys")
    return json_response(await services(request).e2ee.keys.claim(body["one_time_keys"]))


async def key_changes(request: Request) -> Response:
    """GET /_matrix/client/v3/keys/changes"""
    user = await requester(request)
    raw_from = request.query_params.get("from")
    raw_to = request.query_params.get("to")
    if not raw_from:
        raise missing_param("from")
    if not raw_to:
        raise missing_param("to")
    hs = services(request)
    since = parse_sync_token(raw_from).stream
    upto = min(parse_sync_token(raw_to).stream, hs.stream.current())
    memberships = await hs.stores.state.rooms_for_user(user.user_id, ("join",))
    changes = await hs.e2ee.device_lists.changes(
        user.user_id, [m.room_id for m in memberships], since, upto, past_range=True
    )
    return json_response(changes.to_json())


async def upload_device_signing(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/device_signing/upload (UIA unless first upload)."""
    user = await requester(request)
    body = await read_json(request)
    hs = services(request)
    if await hs.e2ee.cross_signing.needs_auth(user.user_id, body):

        async def check(stage: str, auth: dict[str, Any]) -> None:
            await hs.uia.check_password_stage(user.user_id, auth)

        await hs.uia.run(
            body.get("auth"),
            [["m.login.password"]],
            check,
            fingerprint=f"device_signing:{user.user_id}",
        )
    await hs.e2ee.cross_signing.upload_keys(user.user_id, body)
    return json_response({})


async def upload_signatures(request: Request) -> Response:
    """POST /_matrix/client/v3/keys/signatures/upload"""
    user = await requester(request)
    body = await read_json(request)
    if not all(isinstance(v, dict) for v in body.values()):
        raise bad_json("Each user must map key IDs to signed objects")
    result = await services(request).e2ee.cross_signing.upload_signatures(user.user_id, body)
    return json_response(result)


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("POST", "/keys/upload", upload_keys),
            ("POST", "/keys/query", query_keys),
            ("POST", "/keys/claim", claim_keys),
            ("GET", "/keys/changes", key_changes),
            ("POST", "/keys/device_signing/upload", upload_device_signing),
            ("POST", "/keys/signatures/upload", upload_signatures),
        ]
    )
