"""Harness for the spec-shape tests: the spec's schemas, a small world, request cases."""

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
from tests.conftest import MatrixUser, create_local_user, spec_file

V3 = "/_matrix/client/v3"
V1 = "/_matrix/client/v1"


@cache
def _spec(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def spec() -> dict[str, Any]:
    return _spec(spec_file("client-server.json"))


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
    if response.status_code in (404, 405) and errcode(response) == "M_UNRECOGNIZED":
        pytest.fail(f"the server does not implement {method} {spec_path} yet")
    errors = sorted(
        validator_for(spec_path, method, response.status_code).iter_errors(response.json()),
        key=lambda e: list(e.absolute_path),
    )
    details = "\n".join(
        f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:15]
    )
    assert not errors, f"{method} {spec_path} -> {response.status_code}: spec violations\n{details}"


def errcode(response: httpx.Response) -> Any:
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


async def ok(user: MatrixUser, method: str, path: str, **kwargs: Any) -> Any:
    """``user.ok``, but a skip when the endpoint a setup step needs does not exist yet."""
    response = await user.request(method, path, **kwargs)
    if response.status_code in (404, 405) and errcode(response) == "M_UNRECOGNIZED":
        pytest.fail(f"the server does not implement {method} {path} yet (needed for set-up)")
    assert response.status_code == 200, (method, path, response.status_code, response.text)
    return response.json()


async def bob_banned(w: World) -> None:
    await ok(w.alice, "POST", f"/rooms/{w.room}/ban", json={"user_id": w.bob.user_id})


async def bob_left(w: World) -> None:
    await ok(w.bob, "POST", f"/rooms/{w.room}/leave", json={})


async def knock_room(w: World) -> None:
    await ok(
        w.alice, "PUT", f"/rooms/{w.room}/state/m.room.join_rules/", json={"join_rule": "knock"}
    )


async def get_stored_filter(w: World) -> httpx.Response:
    body = {"room": {"timeline": {"limit": 5}}}
    stored = await ok(w.alice, "POST", f"/user/{w.alice.user_id}/filter", json=body)
    return await w.alice.request("GET", f"/user/{w.alice.user_id}/filter/{stored['filter_id']}")


async def pushrule_stored(w: World) -> None:
    body = {"pattern": "réunion", "actions": ["notify"]}
    await ok(w.alice, "PUT", "/pushrules/global/content/org.example.mot", json=body)


async def room_account_data_stored(w: World) -> None:
    path = f"/user/{w.alice.user_id}/rooms/{w.room}/account_data/org.example"
    await ok(w.alice, "PUT", path, json={"vue": "compacte"})


async def tagged(w: World) -> None:
    path = f"/user/{w.alice.user_id}/rooms/{w.room}/tags/u.work"
    await ok(w.alice, "PUT", path, json={"order": 0.5})


async def displayname_set(w: World) -> None:
    path = f"/profile/{w.alice.user_id}/displayname"
    await ok(w.alice, "PUT", path, json={"displayname": "Alice Dupont"})


async def account_data_stored(w: World) -> None:
    path = f"/user/{w.alice.user_id}/account_data/org.example"
    await ok(w.alice, "PUT", path, json={"colour": "bleu"})


async def register_taken(w: World) -> httpx.Response:
    localpart = w.alice.user_id[1:].split(":")[0]
    body = {"username": localpart, "password": "p4ssword!", "auth": {"type": "m.login.dummy"}}
    return await w.http.post(V3 + "/register", json=body)


async def incremental_sync(w: World) -> httpx.Response:
    first = await ok(w.alice, "GET", "/sync?timeout=0")
    await w.bob.ok(
        "PUT",
        f"/rooms/{w.room}/send/m.room.message/t{secrets.token_hex(3)}",
        json={"msgtype": "m.text", "body": "nouveau"},
    )
    await w.bob.request(
        "PUT", f"/rooms/{w.room}/typing/{w.bob.user_id}", json={"typing": True, "timeout": 5000}
    )
    await w.bob.request("POST", f"/rooms/{w.room}/receipt/m.read/{w.message}", json={})
    await w.bob.request("PUT", f"/presence/{w.bob.user_id}/status", json={"presence": "online"})
    me = w.alice.user_id
    await w.alice.request("PUT", f"/user/{me}/account_data/org.example", json={"a": 1})
    await w.alice.request("PUT", f"/user/{me}/rooms/{w.room}/tags/u.work", json={"order": 0.5})
    await w.alice.request("PUT", f"/user/{me}/rooms/{w.room}/account_data/org.ex", json={"b": 2})
    # A room alice is invited to, and one she has left: the invite and leave sections.
    invited = await w.bob.ok("POST", "/createRoom", json={"invite": [me], "name": "Invitation"})
    left = (await w.bob.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await w.alice.ok("POST", f"/join/{left}", json={})
    await w.alice.ok("POST", f"/rooms/{left}/leave", json={})
    response = await w.alice.request(
        "GET",
        "/sync",
        params={
            "timeout": "0",
            "since": first["next_batch"],
            "filter": '{"room": {"include_leave": true}}',
        },
    )
    rooms = response.json().get("rooms", {})
    assert invited["room_id"] in rooms.get("invite", {}), "the invite is missing from /sync"
    assert left in rooms.get("leave", {}), "the left room is missing from /sync"
    return response


async def register(w: World) -> httpx.Response:
    body = {
        "username": "new" + secrets.token_hex(3),
        "password": "a long password",
        "auth": {"type": "m.login.dummy"},
    }
    return await w.http.post(V3 + "/register", json=body)


async def login(w: World) -> httpx.Response:
    registered = await register(w)
    if registered.status_code != 200:
        pytest.fail(f"cannot register a user to log in with: {registered.text}")
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": registered.json()["user_id"]},
        "password": "a long password",
    }
    return await w.http.post(V3 + "/login", json=body)


def _fill_body(body: Any, w: World) -> Any:
    if isinstance(body, str):
        return w.fill(body) if "{" in body else body
    if isinstance(body, dict):
        return {k: _fill_body(v, w) for k, v in body.items()}
    return body
