"""Accounts: register, log in and out, whoami, password change and deactivation."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import missing_param, unknown
from sceau.http.app import CLIENT_PREFIXES, client_routes
from sceau.http.common import (
    access_token,
    client_ip,
    get_field,
    json_response,
    read_json,
    requester,
    services,
)
from sceau.services.accounts import RegistrationRequest, Session


def _session_json(request: Request, session: Session) -> dict[str, object]:
    body: dict[str, object] = {
        "user_id": session.user_id,
        "access_token": session.access_token,
        "device_id": session.device_id,
        "home_server": services(request).config.server_name,
    }
    if session.refresh_token is not None:
        body["refresh_token"] = session.refresh_token
        body["expires_in_ms"] = session.expires_in_ms
    return body


async def register(request: Request) -> Response:
    """POST /_matrix/client/v3/register

    User-interactive: m.login.dummy (open mode) or m.login.registration_token
    (token mode), m.login.email.identity (email mode). ``refresh_token: true``
    gets an expiring access token and a refresh token.
    """
    body = await read_json(request)
    registration = RegistrationRequest(
        username=get_field(body, "username", str),
        password=get_field(body, "password", str),
        device_id=get_field(body, "device_id", str),
        initial_device_display_name=get_field(body, "initial_device_display_name", str),
        inhibit_login=get_field(body, "inhibit_login", bool, default=False),
        auth=get_field(body, "auth", dict),
        refresh_token=get_field(body, "refresh_token", bool, default=False),
    )
    kind = request.query_params.get("kind", "user")
    result = await services(request).accounts.register(registration, kind, client_ip(request))
    if isinstance(result, Session):
        return json_response(_session_json(request, result))
    return json_response({"user_id": result, "home_server": services(request).config.server_name})


async def register_available(request: Request) -> Response:
    """GET /_matrix/client/v3/register/available"""
    username = request.query_params.get("username")
    if not username:
        raise missing_param("username")
    await services(request).accounts.check_username_available(username, client_ip(request))
    return json_response({"available": True})


async def registration_token_validity(request: Request) -> Response:
    """GET /_matrix/client/v1/register/m.login.registration_token/validity"""
    token = request.query_params.get("token")
    if token is None:
        raise missing_param("token")
    valid = services(request).accounts.registration_token_valid(token, client_ip(request))
    return json_response({"valid": valid})


async def login_flows(_request: Request) -> Response:
    """GET /_matrix/client/v3/login"""
    return json_response({"flows": [{"type": "m.login.password"}]})


async def login(request: Request) -> Response:
    """POST /_matrix/client/v3/login

    m.login.password with an m.id.user identifier, or the legacy ``user``
    field (either a localpart, any case, or a full user ID), or an
    m.id.thirdparty identifier naming a bound email address.
    """
    body = await read_json(request)
    login_type = get_field(body, "type", str, required=True)
    legacy_user = get_field(body, "user", str)
    identifier = get_field(body, "identifier", dict)
    password = get_field(body, "password", str)
    device_id = get_field(body, "device_id", str)
    display_name = get_field(body, "initial_device_display_name", str)
    refreshable = get_field(body, "refresh_token", bool, default=False)
    if login_type != "m.login.password":
        raise unknown("Unsupported login type")
    hs = services(request)
    if identifier is not None:
        identifier_type = get_field(identifier, "type", str, required=True)
        if identifier_type == "m.id.user":
            user = get_field(identifier, "user", str, required=True)
        elif identifier_type == "m.id.thirdparty":
            medium = get_field(identifier, "medium", str, required=True)
            address = get_field(identifier, "address", str, required=True)
            user = await hs.accounts.user_for_threepid(medium, address)
        else:
            raise unknown("Unsupported identifier type")
    elif legacy_user is not None:
        user = legacy_user
    else:
        raise missing_param("identifier")
    if password is None:
        raise missing_param("password")
    session = await hs.accounts.login(
        user, password, device_id, display_name, client_ip(request), refreshable
    )
    return json_response(
        {
            **_session_json(request, session),
            "well_known": {"m.homeserver": {"base_url": hs.config.base_url}},
        }
    )


async def logout(request: Request) -> Response:
    """POST /_matrix/client/v3/logout"""
    who = await requester(request, allow_expired=True)
    await read_json(request, required=False)
    await services(request).accounts.logout(who)
    return json_response({})


async def logout_all(request: Request) -> Response:
    """POST /_matrix/client/v3/logout/all"""
    who = await requester(request, allow_expired=True)
    await read_json(request, required=False)
    await services(request).accounts.logout_all(who)
    return json_response({})


async def whoami(request: Request) -> Response:
    """GET /_matrix/client/v3/account/whoami"""
    who = await requester(request)
    return json_response(
        {"user_id": who.user_id, "device_id": who.device_id, "is_guest": who.is_guest}
    )


async def change_password(request: Request) -> Response:
    """POST /_matrix/client/v3/account/password (UIA m.login.password)

    With ``logout_devices`` (the default) every other device is logged out.
    Without an access token it is a reset by email (m.login.email.identity).
    """
    who = await requester(request) if access_token(request) is not None else None
    body = await read_json(request)
    new_password = get_field(body, "new_password", str, required=True)
    logout_devices = get_field(body, "logout_devices", bool, default=True)
    auth = get_field(body, "auth", dict)
    accounts = services(request).accounts
    if who is None:
        await accounts.reset_password_by_email(new_password, logout_devices, auth)
    else:
        await accounts.change_password(who, new_password, logout_devices, auth)
    return json_response({})


async def deactivate(request: Request) -> Response:
    """POST /_matrix/client/v3/account/deactivate (UIA m.login.password)"""
    who = await requester(request)
    body = await read_json(request)
    auth = get_field(body, "auth", dict)
    erase = get_field(body, "erase", bool, default=False)
    get_field(body, "id_server", str)
    await services(request).accounts.deactivate(who, auth, erase)
    return json_response({"id_server_unbind_result": "no-support"})


async def password_policy(request: Request) -> Response:
    """GET /_matrix/client/v3/password_policy (also unstable; no token: shown before registering)"""
    return json_response(services(request).accounts.password_policy.describe())


async def refresh(request: Request) -> Response:
    """POST /_matrix/client/v3/refresh (no access token: it may have expired)"""
    body = await read_json(request)
    token = get_field(body, "refresh_token", str, required=True)
    session = await services(request).accounts.refresh(token)
    return json_response(
        {
            "access_token": session.access_token,
            "refresh_token": session.refresh_token,
            "expires_in_ms": session.expires_in_ms,
        }
    )


def routes() -> list[BaseRoute]:
    return [
        *client_routes(
            [
                ("POST", "/register", register),
                ("GET", "/register/available", register_available),
                ("GET", "/login", login_flows),
                ("POST", "/login", login),
                ("POST", "/logout", logout),
                ("POST", "/refresh", refresh),
                ("POST", "/logout/all", logout_all),
                ("GET", "/account/whoami", whoami),
                ("POST", "/account/password", change_password),
                ("POST", "/account/deactivate", deactivate),
            ]
        ),
        *client_routes(
            [("GET", "/register/m.login.registration_token/validity", registration_token_validity)],
            versions=("/_matrix/client/v1",),
        ),
        *client_routes(
            [("GET", "/password_policy", password_policy)],
            versions=(*CLIENT_PREFIXES, "/_matrix/client/unstable"),
        ),
    ]
