"""Push rules and pushers."""

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sceau.errors import missing_param
from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services


async def get_all_rules(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/"""
    user = await requester(request)
    return json_response(await services(request).push.ruleset(user.user_id))


async def get_global_rules(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/"""
    user = await requester(request)
    return json_response((await services(request).push.ruleset(user.user_id))["global"])


async def get_rule(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    user = await requester(request)
    params = request.path_params
    rule = await services(request).push.get_rule(user.user_id, params["kind"], params["rule_id"])
    return json_response(rule)


async def put_rule(request: Request) -> Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    user = await requester(request)
    body = await read_json(request)
    params = request.path_params
    await services(request).push.put_rule(
        user.user_id,
        params["kind"],
        params["rule_id"],
        body,
        before=request.query_params.get("before"),
        after=request.query_params.get("after"),
    )
    return json_response({})


async def delete_rule(request: Request) -> Response:
    """DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
    user = await requester(request)
    params = request.path_params
    await services(request).push.delete_rule(user.user_id, params["kind"], params["rule_id"])
    return json_response({})


async def get_enabled(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled"""
    user = await requester(request)
    params = request.path_params
    rule = await services(request).push.get_rule(user.user_id, params["kind"], params["rule_id"])
    return json_response({"enabled": rule.get("enabled", True)})


async def put_enabled(request: Request) -> Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled"""
    user = await requester(request)
    body = await read_json(request)
    if "enabled" not in body:
        raise missing_param("enabled")
    params = request.path_params
    await services(request).push.set_enabled(
        user.user_id, params["kind"], params["rule_id"], body["enabled"]
    )
    return json_response({})


async def get_actions(request: Request) -> Response:
    """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions"""
    user = await requester(request)
    params = request.path_params
    rule = await services(request).push.get_rule(user.user_id, params["kind"], params["rule_id"])
    return json_response({"actions": rule.get("actions", [])})


async def put_actions(request: Request) -> Response:
    """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions"""
    user = await requester(request)
    body = await read_json(request)
    if "actions" not in body:
        raise missing_param("actions")
    params = request.path_params
    await services(request).push.set_actions(
        user.user_id, params["kind"], params["rule_id"], body["actions"]
    )
    return json_response({})


async def get_pushers(request: Request) -> Response:
    """GET /_matrix/client/v3/pushers"""
    user = await requester(request)
    return json_response({"pushers": await services(request).push.pushers(user.user_id)})


async def set_pusher(request: Request) -> Response:
    """POST /_matrix/client/v3/pushers/set"""
    user = await requester(request)
    body = await read_json(request)
    await services(request).push.set_pusher(user.user_id, body)
    return json_response({})


_RULE = "/pushrules/global/{kind}/{rule_id}"


_UNSUBSCRIBED = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Sceau</title></head>
<body><p>{fr}</p><p>{en}</p></body></html>
"""


async def unsubscribe(request: Request) -> Response:
    """GET /_sceau/v1/email_notifications/unsubscribe (the link in each notification email)"""
    params = request.query_params
    for name in ("user", "address", "token"):
        if not params.get(name):
            raise missing_param(name)
    done = await services(request).email_notifier.unsubscribe(
        params["user"], params["address"], params["token"]
    )
    if not done:
        page = _UNSUBSCRIBED.format(
            fr="Ce lien n'est plus valide.", en="This link is no longer valid."
        )
        return HTMLResponse(page, status_code=404)
    page = _UNSUBSCRIBED.format(
        fr="Vous ne recevrez plus ces courriels.", en="You will not receive these emails again."
    )
    return HTMLResponse(page)


def routes() -> list[BaseRoute]:
    unsubscribe_route = Route(
        "/_sceau/v1/email_notifications/unsubscribe", unsubscribe, methods=["GET"]
    )
    return [*_client_routes(), unsubscribe_route]


def _client_routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("GET", "/pushrules/", get_all_rules),
            ("GET", "/pushrules", get_all_rules),
            ("GET", "/pushrules/global/", get_global_rules),
            ("GET", _RULE, get_rule),
            ("PUT", _RULE, put_rule),
            ("DELETE", _RULE, delete_rule),
            ("GET", _RULE + "/enabled", get_enabled),
            ("PUT", _RULE + "/enabled", put_enabled),
            ("GET", _RULE + "/actions", get_actions),
            ("PUT", _RULE + "/actions", put_actions),
            ("GET", "/pushers", get_pushers),
            ("POST", "/pushers/set", set_pusher),
        ]
    )
