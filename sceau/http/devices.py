"""Devices: the requester's own sessions; deletion needs UIA m.login.password."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import missing_param
from sceau.http.app import client_routes
from sceau.http.common import get_field, get_str_list, json_response, read_json, requester, services
from sceau.storage.accounts import DeviceRecord


def device_json(device: DeviceRecord) -> dict[str, object]:
    """The spec's Device object: unset optional fields are left out, not null."""
    data: dict[str, object] = {"device_id": device.device_id}
    if device.display_name is not None:
        data["display_name"] = device.display_name
    if device.last_seen_ip is not None:
        data["last_seen_ip"] = device.last_seen_ip
    if device.last_seen_ts is not None:
        data["last_seen_ts"] = device.last_seen_ts
    return data


async def list_devices(request: Request) -> Response:
    """GET /_matrix/client/v3/devices"""
    who = await requester(request)
    devices = await services(request).devices.list_devices(who.user_id)
    return json_response({"devices": [device_json(d) for d in devices]})


async def get_device(request: Request) -> Response:
    """GET /_matrix/client/v3/devices/{deviceId}"""
    who = await requester(request)
    device = await services(request).devices.get(who.user_id, request.path_params["device_id"])
    return json_response(device_json(device))


async def rename_device(request: Request) -> Response:
    """PUT /_matrix/client/v3/devices/{deviceId}"""
    who = await requester(request)
    body = await read_json(request)
    display_name = get_field(body, "display_name", str)
    await services(request).devices.rename(
        who.user_id, request.path_params["device_id"], display_name
    )
    return json_response({})


async def delete_device(request: Request) -> Response:
    """DELETE /_matrix/client/v3/devices/{deviceId} (UIA m.login.password)"""
    who = await requester(request)
    body = await read_json(request, required=False)
    auth = get_field(body, "auth", dict)
    await services(request).devices.delete_one(who, request.path_params["device_id"], auth)
    return json_response({})


async def delete_devices(request: Request) -> Response:
    """POST /_matrix/client/v3/delete_devices (UIA m.login.password)"""
    who = await requester(request)
    body = await read_json(request)
    if body.get("devices") is None:
        raise missing_param("devices")
    device_ids = get_str_list(body, "devices")
    auth = get_field(body, "auth", dict)
    await services(request).devices.delete_many(who, device_ids, auth)
    return json_response({})


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("GET", "/devices", list_devices),
            ("GET", "/devices/{device_id}", get_device),
            ("PUT", "/devices/{device_id}", rename_device),
            ("DELETE", "/devices/{device_id}", delete_device),
            ("POST", "/delete_devices", delete_devices),
        ]
    )
