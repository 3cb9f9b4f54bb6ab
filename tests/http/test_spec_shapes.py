"""Response bodies match the Matrix spec's own schemas (``../shared/matrix-spec/client-server.json``).

Each case calls one endpoint in-process, in a small world with real rooms,
messages, an edit, a reaction and a thread, and validates the body against
the schema the spec gives for that path, method and status. Cases whose
endpoint the server does not serve yet are skipped, so the list can run ahead
of the implementation.
"""

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sceau.homeserver import Services
from tests.conftest import MatrixUser, create_local_user, require_shared

V3 = "/_matrix/client/v3"
V1 = "/_matrix/client/v1"


@cache
def _spec(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def spec() -> dict[str, Any]:
    return _spec(require_shared() / "matrix-spec" / "client-server.json")


#: The standard error body, for statuses an endpoint's spec entry does not list.
ERROR_SCHEMA = {
    "type": "object",
    "required": ["errcode"],
    "properties": {"errcode": {"type": "string", "pattern": "^M_"}, "error": {"type": "string"}},
}


def validator_for(spec_path: str, method: str, status: int) -> Draft202012Validator:
    """A validator for the JSON body the spec gives ``method spec_path`` at ``status``.

    The document itself is the root resource, so ``$ref``s like
    ``#/components/...`` resolve inside it.
    """
    document = spec()
    operation = document["paths"].get(spec_path, {}).get(method.lower())
    assert operation, f"the spec has no {method} {spec_path}"
    response = operation["responses"].get(str(status))
    if response is None and status >= 400:
        return Draft202012Validator(ERROR_SCHEMA)
    assert response, f"the spec gives {method} {spec_path} no {status} response"
    assert "application/json" in response.get("content", {}), f"{spec_path} {status}: not JSON"
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in ("paths", spec_path, method.lower(), "responses", str(status))
    )
    root = {**document, "$ref": f"#/{pointer}/content/application~1json/schema"}
    resource = Resource.from_contents(root, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource("urn:matrix-spec", resource)
    return Draft202012Validator({"$ref": "urn:matrix-spec"}, registry=registry)


def check_shape(spec_path: str, method: str, response: httpx.Response) -> None:
    if response.status_code in (404, 405) and _errcode(response) == "M_UNRECOGNIZED":
        pytest.skip(f"the server does not implement {method} {spec_path} yet")
    errors = sorted(
        validator_for(spec_path, method, response.status_code).iter_errors(response.json()),
        key=lambda e: list(e.absolute_path),
    )
    details = "\n".join(
        f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:15]
    )
    assert not errors, f"{method} {spec_path} -> {response.status_code}: spec violations\n{details}"


def _errcode(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("errcode") if isinstance(body, dict) else None


@dataclass
class World:
    """Users and a room with history: enough for every endpoint to return something."""

    http: httpx.AsyncClient
    alice: MatrixUser
    bob: MatrixUser
    carol: MatrixUser
    room: str
    alias: str
    message: str
    edit: str
    thread_root: str

    def fill(self, template: str) -> str:
        return template.format(
            room=self.room,
            alias=quote(self.alias),
            event=self.message,
            thread=self.thread_root,
            alice=self.alice.user_id,
            bob=self.bob.user_id,
            carol=self.carol.user_id,
            device=self.alice.device_id,
            txn=secrets.token_hex(4),
        )


async def build_world(services: Services, http: httpx.AsyncClient) -> World:
    suffix = secrets.token_hex(3)
    alice = await create_local_user(services, http, "alice" + suffix)
    bob = await create_local_user(services, http, "bob" + suffix)
    carol = await create_local_user(services, http, "carol" + suffix)
    alias_name = "pub" + suffix
    room = (
        await alice.ok(
            "POST",
            "/createRoom",
            json={"preset": "public_chat", "room_alias_name": alias_name, "name": "Salle"},
        )
    )["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})

    async def send(user: MatrixUser, content: dict[str, Any], kind: str = "m.room.message") -> str:
        path = f"/rooms/{room}/send/{kind}/{secrets.token_hex(4)}"
        return str((await user.ok("PUT", path, json=content))["event_id"])

    message = await send(alice, {"msgtype": "m.text", "body": "bonjour le monde"})
    edit = await send(
        alice,
        {
            "msgtype": "m.text",
            "body": "* bonjour",
            "m.new_content": {"msgtype": "m.text", "body": "bonjour"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": message},
        },
    )
    await send(
        bob,
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": message, "key": "👍"}},
        "m.reaction",
    )
    root = await send(alice, {"msgtype": "m.text", "body": "fil de discussion"})
    await send(
        bob,
        {
            "msgtype": "m.text",
            "body": "réponse",
            "m.relates_to": {"rel_type": "m.thread", "event_id": root},
        },
    )
    alias = f"#{alias_name}:{services.config.server_name}"
    return World(http, alice, bob, carol, room, alias, message, edit, root)


@pytest.fixture
async def world(services: Services, client: httpx.AsyncClient) -> World:
    require_shared()
    return await build_world(services, client)


Call = Callable[[World], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Case:
    method: str
    spec_path: str
    call: Call
    status: int = 200


def simple(
    method: str, spec_path: str, path: str, body: Any = None, who: str = "alice", status: int = 200
) -> Case:
    """A case that is one request by ``who`` to ``path`` (a template filled from the world)."""

    async def call(w: World) -> httpx.Response:
        user: MatrixUser = getattr(w, who)
        return await user.request(method, w.fill(path), json=_fill_body(body, w))

    return Case(method, spec_path, call, status)


def anonymous(method: str, spec_path: str, path: str, body: Any = None, status: int = 200) -> Case:
    async def call(w: World) -> httpx.Response:
        return await w.http.request(method, w.fill(path), json=_fill_body(body, w))

    return Case(method, spec_path, call, status)


def after(setup: Callable[[World], Awaitable[Any]], case: Case) -> Case:
    """``case`` once ``setup`` has put the world in the state it needs."""

    async def call(w: World) -> httpx.Response:
        await setup(w)
        return await case.call(w)

    return Case(case.method, case.spec_path, call, case.status)


async def _ok(user: MatrixUser, method: str, path: str, **kwargs: Any) -> Any:
    """``user.ok``, but a skip when the endpoint a setup step needs does not exist yet."""
    response = await user.request(method, path, **kwargs)
    if response.status_code in (404, 405) and _errcode(response) == "M_UNRECOGNIZED":
        pytest.skip(f"the server does not implement {method} {path} yet (needed for set-up)")
    assert response.status_code == 200, (method, path, response.status_code, response.text)
    return response.json()


async def _bob_banned(w: World) -> None:
    await _ok(w.alice, "POST", f"/rooms/{w.room}/ban", json={"user_id": w.bob.user_id})


async def _bob_left(w: World) -> None:
    await _ok(w.bob, "POST", f"/rooms/{w.room}/leave", json={})


async def _knock_room(w: World) -> None:
    await _ok(
        w.alice, "PUT", f"/rooms/{w.room}/state/m.room.join_rules/", json={"join_rule": "knock"}
    )


async def _get_stored_filter(w: World) -> httpx.Response:
    body = {"room": {"timeline": {"limit": 5}}}
    stored = await _ok(w.alice, "POST", f"/user/{w.alice.user_id}/filter", json=body)
    return await w.alice.request("GET", f"/user/{w.alice.user_id}/filter/{stored['filter_id']}")


async def _tagged(w: World) -> None:
    path = f"/user/{w.alice.user_id}/rooms/{w.room}/tags/u.work"
    await _ok(w.alice, "PUT", path, json={"order": 0.5})


async def _displayname_set(w: World) -> None:
    path = f"/profile/{w.alice.user_id}/displayname"
    await _ok(w.alice, "PUT", path, json={"displayname": "Alice Dupont"})


async def _account_data_stored(w: World) -> None:
    path = f"/user/{w.alice.user_id}/account_data/org.example"
    await _ok(w.alice, "PUT", path, json={"colour": "bleu"})


async def _register_taken(w: World) -> httpx.Response:
    localpart = w.alice.user_id[1:].split(":")[0]
    body = {"username": localpart, "password": "p4ssword!", "auth": {"type": "m.login.dummy"}}
    return await w.http.post(V3 + "/register", json=body)


async def _incremental_sync(w: World) -> httpx.Response:
    first = await _ok(w.alice, "GET", "/sync?timeout=0")
    await w.bob.ok(
        "PUT",
        f"/rooms/{w.room}/send/m.room.message/t{secrets.token_hex(3)}",
        json={"msgtype": "m.text", "body": "nouveau"},
    )
    await w.bob.request(
        "PUT", f"/rooms/{w.room}/typing/{w.bob.user_id}", json={"typing": True, "timeout": 5000}
    )
    await w.bob.request("POST", f"/rooms/{w.room}/receipt/m.read/{w.message}", json={})
    return await w.alice.request("GET", f"/sync?timeout=0&since={first['next_batch']}")


async def _register(w: World) -> httpx.Response:
    body = {
        "username": "new" + secrets.token_hex(3),
        "password": "a long password",
        "auth": {"type": "m.login.dummy"},
    }
    return await w.http.post(V3 + "/register", json=body)


async def _login(w: World) -> httpx.Response:
    registered = await _register(w)
    if registered.status_code != 200:
        pytest.skip(f"cannot register a user to log in with: {registered.text}")
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": registered.json()["user_id"]},
        "password": "a long password",
    }
    return await w.http.post(V3 + "/login", json=body)


R = V3 + "/rooms/{roomId}"
CASES: dict[str, Case] = {
    "versions": anonymous("GET", "/_matrix/client/versions", "/_matrix/client/versions"),
    "well-known": anonymous("GET", "/.well-known/matrix/client", "/.well-known/matrix/client"),
    "capabilities": simple("GET", V3 + "/capabilities", V3 + "/capabilities"),
    "register": Case("POST", V3 + "/register", _register),
    "register challenge": anonymous(
        "POST",
        V3 + "/register",
        V3 + "/register",
        {"username": "x" + secrets.token_hex(3), "password": "p4ssword!"},
        401,
    ),
    "register/available": anonymous(
        "GET", V3 + "/register/available", V3 + "/register/available?username=free{txn}"
    ),
    "login flows": anonymous("GET", V3 + "/login", V3 + "/login"),
    "login": Case("POST", V3 + "/login", _login),
    "whoami": simple("GET", V3 + "/account/whoami", V3 + "/account/whoami"),
    "logout": simple("POST", V3 + "/logout", V3 + "/logout", {}),
    "logout/all": simple("POST", V3 + "/logout/all", V3 + "/logout/all", {}),
    "password challenge": simple(
        "POST",
        V3 + "/account/password",
        V3 + "/account/password",
        {"new_password": "n3w pass"},
        status=401,
    ),
    "devices": simple("GET", V3 + "/devices", V3 + "/devices"),
    "device": simple("GET", V3 + "/devices/{deviceId}", V3 + "/devices/{device}"),
    "rename device": simple(
        "PUT", V3 + "/devices/{deviceId}", V3 + "/devices/{device}", {"display_name": "tel"}
    ),
    "delete device challenge": simple(
        "DELETE", V3 + "/devices/{deviceId}", V3 + "/devices/{device}", {}, status=401
    ),
    "profile": simple("GET", V3 + "/profile/{userId}", V3 + "/profile/{alice}"),
    "set displayname": simple(
        "PUT",
        V3 + "/profile/{userId}/{keyName}",
        V3 + "/profile/{alice}/displayname",
        {"displayname": "Alice"},
    ),
    "createRoom": simple(
        "POST", V3 + "/createRoom", V3 + "/createRoom", {"name": "n", "topic": "t"}
    ),
    "join by alias": simple(
        "POST", V3 + "/join/{roomIdOrAlias}", V3 + "/join/{alias}", {}, "carol"
    ),
    "join by id": simple("POST", R + "/join", V3 + "/rooms/{room}/join", {}, "carol"),
    "knock": after(
        _knock_room,
        simple("POST", V3 + "/knock/{roomIdOrAlias}", V3 + "/knock/{room}", {}, "carol"),
    ),
    "invite": simple("POST", R + "/invite", V3 + "/rooms/{room}/invite", {"user_id": "{carol}"}),
    "leave": simple("POST", R + "/leave", V3 + "/rooms/{room}/leave", {}, "bob"),
    "forget": after(
        _bob_left, simple("POST", R + "/forget", V3 + "/rooms/{room}/forget", {}, "bob")
    ),
    "kick": simple("POST", R + "/kick", V3 + "/rooms/{room}/kick", {"user_id": "{bob}"}),
    "ban": simple("POST", R + "/ban", V3 + "/rooms/{room}/ban", {"user_id": "{carol}"}),
    "unban": after(
        _bob_banned, simple("POST", R + "/unban", V3 + "/rooms/{room}/unban", {"user_id": "{bob}"})
    ),
    "send": simple(
        "PUT",
        R + "/send/{eventType}/{txnId}",
        V3 + "/rooms/{room}/send/m.room.message/{txn}",
        {"msgtype": "m.text", "body": "hi"},
    ),
    "put state": simple(
        "PUT",
        R + "/state/{eventType}/{stateKey}",
        V3 + "/rooms/{room}/state/m.room.topic/",
        {"topic": "t"},
    ),
    "get state event": simple(
        "GET", R + "/state/{eventType}/{stateKey}", V3 + "/rooms/{room}/state/m.room.name/"
    ),
    "get state": simple("GET", R + "/state", V3 + "/rooms/{room}/state"),
    "event": simple("GET", R + "/event/{eventId}", V3 + "/rooms/{room}/event/{event}", who="bob"),
    "members": simple("GET", R + "/members", V3 + "/rooms/{room}/members"),
    "joined_members": simple("GET", R + "/joined_members", V3 + "/rooms/{room}/joined_members"),
    "joined_rooms": simple("GET", V3 + "/joined_rooms", V3 + "/joined_rooms"),
    "messages backwards": simple(
        "GET", R + "/messages", V3 + "/rooms/{room}/messages?dir=b&limit=20"
    ),
    "messages forwards": simple(
        "GET", R + "/messages", V3 + "/rooms/{room}/messages?dir=f&limit=3"
    ),
    "context": simple(
        "GET", R + "/context/{eventId}", V3 + "/rooms/{room}/context/{event}?limit=3"
    ),
    "redact": simple(
        "PUT",
        R + "/redact/{eventId}/{txnId}",
        V3 + "/rooms/{room}/redact/{event}/{txn}",
        {"reason": "r"},
    ),
    "resolve alias": anonymous(
        "GET", V3 + "/directory/room/{roomAlias}", V3 + "/directory/room/{alias}"
    ),
    "put alias": simple(
        "PUT",
        V3 + "/directory/room/{roomAlias}",
        V3 + "/directory/room/%23new{txn}%3Atest.local",
        {"room_id": "{room}"},
    ),
    "delete alias": simple(
        "DELETE", V3 + "/directory/room/{roomAlias}", V3 + "/directory/room/{alias}"
    ),
    "room aliases": simple("GET", R + "/aliases", V3 + "/rooms/{room}/aliases"),
    "publicRooms": anonymous("GET", V3 + "/publicRooms", V3 + "/publicRooms?limit=5"),
    "publicRooms search": simple(
        "POST",
        V3 + "/publicRooms",
        V3 + "/publicRooms",
        {"limit": 5, "filter": {"generic_search_term": "Salle"}},
    ),
    "upgrade": simple("POST", R + "/upgrade", V3 + "/rooms/{room}/upgrade", {"new_version": "12"}),
    "relations": simple(
        "GET", V1 + "/rooms/{roomId}/relations/{eventId}", V1 + "/rooms/{room}/relations/{event}"
    ),
    "relations by type": simple(
        "GET",
        V1 + "/rooms/{roomId}/relations/{eventId}/{relType}",
        V1 + "/rooms/{room}/relations/{event}/m.annotation",
    ),
    "threads": simple("GET", V1 + "/rooms/{roomId}/threads", V1 + "/rooms/{room}/threads"),
    "initial sync": simple("GET", V3 + "/sync", V3 + "/sync?timeout=0"),
    "incremental sync": Case("GET", V3 + "/sync", _incremental_sync),
    "create filter": simple(
        "POST",
        V3 + "/user/{userId}/filter",
        V3 + "/user/{alice}/filter",
        {"room": {"timeline": {"limit": 5}}},
    ),
    "get filter": Case("GET", V3 + "/user/{userId}/filter/{filterId}", _get_stored_filter),
    "put account data": simple(
        "PUT",
        V3 + "/user/{userId}/account_data/{type}",
        V3 + "/user/{alice}/account_data/org.example",
        {"a": 1},
    ),
    "tags": after(
        _tagged,
        simple(
            "GET", V3 + "/user/{userId}/rooms/{roomId}/tags", V3 + "/user/{alice}/rooms/{room}/tags"
        ),
    ),
    "put tag": simple(
        "PUT",
        V3 + "/user/{userId}/rooms/{roomId}/tags/{tag}",
        V3 + "/user/{alice}/rooms/{room}/tags/u.work",
        {"order": 0.2},
    ),
    "typing": simple(
        "PUT",
        R + "/typing/{userId}",
        V3 + "/rooms/{room}/typing/{alice}",
        {"typing": True, "timeout": 3000},
    ),
    "receipt": simple(
        "POST",
        R + "/receipt/{receiptType}/{eventId}",
        V3 + "/rooms/{room}/receipt/m.read/{event}",
        {},
        "bob",
    ),
    "read_markers": simple(
        "POST",
        R + "/read_markers",
        V3 + "/rooms/{room}/read_markers",
        {"m.fully_read": "{event}"},
        "bob",
    ),
    "set presence": simple(
        "PUT",
        V3 + "/presence/{userId}/status",
        V3 + "/presence/{alice}/status",
        {"presence": "online"},
    ),
    "get presence": simple(
        "GET", V3 + "/presence/{userId}/status", V3 + "/presence/{alice}/status", who="bob"
    ),
    "pushrules": simple("GET", V3 + "/pushrules/", V3 + "/pushrules/"),
    "pushrules global": simple("GET", V3 + "/pushrules/global/", V3 + "/pushrules/global/"),
    "pushrule": simple(
        "GET",
        V3 + "/pushrules/global/{kind}/{ruleId}",
        V3 + "/pushrules/global/override/.m.rule.master",
    ),
    "pushrule enabled": simple(
        "GET",
        V3 + "/pushrules/global/{kind}/{ruleId}/enabled",
        V3 + "/pushrules/global/override/.m.rule.master/enabled",
    ),
    "pushers": simple("GET", V3 + "/pushers", V3 + "/pushers"),
    "user directory": simple(
        "POST", V3 + "/user_directory/search", V3 + "/user_directory/search", {"search_term": "bob"}
    ),
    "search": simple(
        "POST",
        V3 + "/search",
        V3 + "/search",
        {
            "search_categories": {
                "room_events": {"search_term": "bonjour", "event_context": {"before_limit": 1}}
            }
        },
    ),
    # More reads and writes around the timeline.
    "get displayname": after(
        _displayname_set,
        simple("GET", V3 + "/profile/{userId}/{keyName}", V3 + "/profile/{alice}/displayname"),
    ),
    "get account data": after(
        _account_data_stored,
        simple(
            "GET",
            V3 + "/user/{userId}/account_data/{type}",
            V3 + "/user/{alice}/account_data/org.example",
        ),
    ),
    "delete tag": after(
        _tagged,
        simple(
            "DELETE",
            V3 + "/user/{userId}/rooms/{roomId}/tags/{tag}",
            V3 + "/user/{alice}/rooms/{room}/tags/u.work",
        ),
    ),
    "pushrule actions": simple(
        "GET",
        V3 + "/pushrules/global/{kind}/{ruleId}/actions",
        V3 + "/pushrules/global/override/.m.rule.master/actions",
    ),
    "members at a token": simple(
        "GET", R + "/members", V3 + "/rooms/{room}/members?membership=join&not_membership=leave"
    ),
    "messages with a filter": simple(
        "GET",
        R + "/messages",
        V3 + "/rooms/{room}/messages?dir=b&filter=%7B%22types%22%3A%5B%22m.room.message%22%5D%7D",
    ),
    "full-state sync": simple("GET", V3 + "/sync", V3 + "/sync?timeout=0&full_state=true"),
    "delete_devices challenge": simple(
        "POST",
        V3 + "/delete_devices",
        V3 + "/delete_devices",
        {"devices": ["{device}"]},
        status=401,
    ),
    "deactivate challenge": simple(
        "POST", V3 + "/account/deactivate", V3 + "/account/deactivate", {}, status=401
    ),
    # Errors have shapes too.
    "send to a room not joined": simple(
        "PUT",
        R + "/send/{eventType}/{txnId}",
        V3 + "/rooms/{room}/send/m.room.message/{txn}",
        {"body": "x"},
        who="carol",
        status=403,
    ),
    "unknown event": simple(
        "GET", R + "/event/{eventId}", V3 + "/rooms/{room}/event/%24nosuchevent", status=404
    ),
    "unknown alias": anonymous(
        "GET",
        V3 + "/directory/room/{roomAlias}",
        V3 + "/directory/room/%23nosuchalias%3Atest.local",
        status=404,
    ),
    "login with a wrong password": anonymous(
        "POST",
        V3 + "/login",
        V3 + "/login",
        {"type": "m.login.password", "user": "{alice}", "password": "wrong"},
        status=403,
    ),
    "register a taken name": Case("POST", V3 + "/register", _register_taken, status=400),
    "createRoom with an unknown version": simple(
        "POST", V3 + "/createRoom", V3 + "/createRoom", {"room_version": "999"}, status=400
    ),
    "thirdparty protocols": simple(
        "GET", V3 + "/thirdparty/protocols", V3 + "/thirdparty/protocols"
    ),
}


def _fill_body(body: Any, w: World) -> Any:
    if isinstance(body, str):
        return w.fill(body) if "{" in body else body
    if isinstance(body, dict):
        return {k: _fill_body(v, w) for k, v in body.items()}
    return body


#: Cases that fail because the server is wrong; each reason says how.
KNOWN_BUGS = {
    "joined_members": "server bug: GET /rooms/{roomId}/joined_members gives display_name and "
    "avatar_url as null for members without them; the spec types them as strings (omit them)",
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=False, reason=KNOWN_BUGS[n]))
        if n in KNOWN_BUGS
        else n
        for n in CASES
    ],
)
async def test_response_body_matches_the_spec_schema(world: World, name: str):
    case = CASES[name]
    response = await case.call(world)
    if response.status_code in (404, 405) and _errcode(response) == "M_UNRECOGNIZED":
        pytest.skip(f"the server does not implement {case.method} {case.spec_path} yet")
    assert response.status_code == case.status, (
        f"{case.method} {case.spec_path}: expected {case.status}, got "
        f"{response.status_code} {response.text[:500]}"
    )
    check_shape(case.spec_path, case.method, response)


def test_the_validator_rejects_a_body_that_breaks_the_spec():
    """A guard on the harness itself: a wrong body really fails validation."""
    require_shared()
    validator = validator_for(V3 + "/rooms/{roomId}/messages", "GET", 200)
    assert not list(validator.iter_errors({"chunk": [], "start": "s"}))
    assert list(validator.iter_errors({"chunk": [{"type": 5}], "start": "s"}))
    assert list(validator.iter_errors({"start": "s"}))
