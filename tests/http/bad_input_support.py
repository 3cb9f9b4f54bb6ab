"""What the bad-input tests need: the routes to attack, valid requests to spoil, a world.

Routes come from ``sceau.homeserver.all_routes()`` at collection time, so an
endpoint added by anyone is attacked by the next test run without edits here.
Valid bodies for known endpoints live in :data:`TEMPLATES`; an endpoint with
no template still gets every generic attack.
"""

import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from starlette.routing import BaseRoute, Mount, Route

from sceau.homeserver import Services, all_routes
from tests.conftest import MatrixUser, create_local_user

PARAM = re.compile(r"{([A-Za-z_]+)(?::[a-z]+)?}")

#: Endpoints that answer without an access token (the spec's ``security`` allows none).
PUBLIC = {
    ("GET", "/_matrix/client/versions"),
    ("GET", "/.well-known/matrix/client"),
    ("GET", "/.well-known/matrix/support"),
    ("GET", "/_matrix/client/v3/login"),
    ("POST", "/_matrix/client/v3/login"),
    ("POST", "/_matrix/client/v3/register"),
    ("GET", "/_matrix/client/v3/register/available"),
    ("POST", "/_matrix/client/v3/refresh"),
    ("GET", "/_matrix/client/v3/publicRooms"),
    ("GET", "/_matrix/client/v3/directory/room/{}"),
    ("GET", "/_matrix/client/v3/directory/list/room/{}"),
    ("GET", "/_matrix/client/v3/profile/{}"),
    ("GET", "/_matrix/client/v3/profile/{}/{}"),
    ("GET", "/_matrix/client/v1/register/m.login.registration_token/validity"),
    ("GET", "/_matrix/client/v1/auth_metadata"),
    # A token is optional: without one, only public or world-readable rooms are summarised.
    ("GET", "/_matrix/client/v1/room_summary/{}"),
    ("GET", "/_matrix/client/unstable/im.nheko.summary/summary/{}"),
    ("POST", "/_matrix/client/v3/register/email/requestToken"),
    ("POST", "/_matrix/client/v3/account/password/email/requestToken"),
    ("GET", "/_matrix/client/unstable/registration/email/submit_token"),
    ("GET", "/_matrix/client/unstable/password_reset/email/submit_token"),
    ("GET", "/_matrix/client/unstable/add_threepid/email/submit_token"),
    ("GET", "/_sceau/v1/email_server"),
    ("GET", "/_matrix/client/v3/password_policy"),
    ("GET", "/_matrix/client/unstable/password_policy"),
    ("GET", "/_matrix/client/unstable/account_validity/renew"),
    ("GET", "/_matrix/identity/api/v1/info"),
    ("GET", "/_matrix/identity/api/v1/internal-info"),
    ("GET", "/_sceau/v1/email_notifications/unsubscribe"),
    ("GET", "/_matrix/identity/v2/pubkey/isvalid"),
    ("GET", "/_matrix/identity/v2/pubkey/{}"),
}
#: The spec lets these run under UIA alone (``security: [{}, bearer]``).
UIA_WITHOUT_TOKEN = {
    ("POST", "/_matrix/client/v3/account/deactivate"),
    ("POST", "/_matrix/client/v3/account/password"),
}
#: Endpoints whose body is not JSON (media uploads).
RAW_BODY_PREFIXES = ("/_matrix/media/",)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as registered, e.g. /_matrix/client/v3/rooms/{room}/send/{event_type}/{txn_id}

    @property
    def shape(self) -> str:
        """The path with every parameter written ``{}``: comparable with the spec's paths."""
        return PARAM.sub("{}", self.path)

    @property
    def params(self) -> list[str]:
        return PARAM.findall(self.path)

    @property
    def takes_body(self) -> bool:
        return self.method in ("POST", "PUT") and not self.path.startswith(RAW_BODY_PREFIXES)

    @property
    def public(self) -> bool:
        return (self.method, self.shape) in PUBLIC

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _flatten(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, set[str]]]:
    """``(full path, methods)`` of every route, looking inside mounts."""
    flat: list[tuple[str, set[str]]] = []
    for route in routes:
        if isinstance(route, Mount):
            flat.extend(_flatten(list(route.routes), prefix + route.path))
        elif isinstance(route, Route):
            flat.append((prefix + route.path, set(route.methods or ())))
    return flat


#: Paths of the Server-Server API (other servers call them, signed with X-Matrix).
SERVER_SERVER_PREFIXES = ("/_matrix/federation/", "/_matrix/key/")
#: The content scanner answers in its own error format (``reason``/``info``), off by
#: default: tests/http/test_content_scanner.py feeds it bad bodies with a real clamd.
OWN_FORMAT_PREFIXES = ("/_matrix/media_proxy/",)


def endpoints() -> list[Endpoint]:
    """Every API (method, path) the app registers, once (the r0 aliases of v3 are skipped).

    The web client's pages (``/``, ``/config.json``) are no API: tests/http/test_web_client.py
    covers them. The Server-Server API authenticates servers, not users:
    tests/http/test_federation_bad_input.py feeds its endpoints the same way.
    """
    found = {
        Endpoint(method, path)
        for path, methods in _flatten(all_routes())
        if path.startswith(("/_", "/.well-known/"))
        and not path.startswith(
            ("/_matrix/client/r0/", *SERVER_SERVER_PREFIXES, *OWN_FORMAT_PREFIXES)
        )
        for method in methods
        if method != "HEAD"
    }
    return sorted(found, key=lambda e: (e.path, e.method))


# A valid body for known endpoints. ``typed`` names the fields whose JSON type
# the spec fixes: giving them another type must be answered with M_BAD_JSON.
@dataclass(frozen=True)
class Template:
    body: dict[str, Any]
    typed: tuple[str, ...] = ()


V3 = "/_matrix/client/v3"
ROOM = V3 + "/rooms/{}"
TEMPLATES: dict[tuple[str, str], Template] = {
    ("POST", V3 + "/createRoom"): Template(
        {"name": "n", "topic": "t", "preset": "private_chat", "is_direct": False, "invite": []},
        ("name", "topic", "preset", "is_direct", "invite"),
    ),
    ("POST", ROOM + "/invite"): Template({"user_id": "@bob:test.local"}, ("user_id",)),
    ("POST", ROOM + "/kick"): Template(
        {"user_id": "@bob:test.local", "reason": "r"}, ("user_id", "reason")
    ),
    ("POST", ROOM + "/ban"): Template(
        {"user_id": "@bob:test.local", "reason": "r"}, ("user_id", "reason")
    ),
    ("POST", ROOM + "/unban"): Template({"user_id": "@bob:test.local"}, ("user_id",)),
    ("POST", ROOM + "/leave"): Template({"reason": "r"}, ("reason",)),
    ("POST", V3 + "/join/{}"): Template({"reason": "r"}, ("reason",)),
    ("POST", ROOM + "/join"): Template({"reason": "r"}, ("reason",)),
    ("PUT", ROOM + "/send/{}/{}"): Template({"msgtype": "m.text", "body": "hello"}),
    ("PUT", ROOM + "/state/{}"): Template({"topic": "t"}),
    ("PUT", ROOM + "/state/{}/{}"): Template({"topic": "t"}),
    ("PUT", ROOM + "/redact/{}/{}"): Template({"reason": "r"}, ("reason",)),
    ("PUT", V3 + "/directory/room/{}"): Template({"room_id": "!r:test.local"}, ("room_id",)),
    ("PUT", ROOM + "/typing/{}"): Template(
        {"typing": True, "timeout": 1000}, ("typing", "timeout")
    ),
    ("POST", ROOM + "/read_markers"): Template(
        {"m.fully_read": "$e", "m.read": "$e"}, ("m.fully_read", "m.read")
    ),
    ("POST", ROOM + "/receipt/{}/{}"): Template({"thread_id": "main"}, ("thread_id",)),
    ("PUT", V3 + "/presence/{}/status"): Template(
        {"presence": "online", "status_msg": "s"}, ("presence", "status_msg")
    ),
    ("PUT", V3 + "/profile/{}/displayname"): Template({"displayname": "d"}, ("displayname",)),
    ("PUT", V3 + "/profile/{}/avatar_url"): Template(
        {"avatar_url": "mxc://test.local/a"}, ("avatar_url",)
    ),
    ("PUT", V3 + "/devices/{}"): Template({"display_name": "d"}, ("display_name",)),
    ("POST", V3 + "/user/{}/filter"): Template({"room": {"timeline": {"limit": 5}}}, ("room",)),
    ("POST", V3 + "/login"): Template(
        {"type": "m.login.password", "user": "alice", "password": "p"},
        ("type", "user", "password"),
    ),
    ("POST", V3 + "/register"): Template(
        {"username": "zed", "password": "p", "auth": {"type": "m.login.dummy"}},
        ("username", "password", "auth"),
    ),
    ("POST", V3 + "/user_directory/search"): Template(
        {"search_term": "a", "limit": 5}, ("search_term", "limit")
    ),
    ("POST", V3 + "/publicRooms"): Template({"limit": 5}, ("limit",)),
    ("POST", V3 + "/register/email/requestToken"): Template(
        {"client_secret": "s", "email": "a@b.fr", "send_attempt": 1},
        ("client_secret", "email", "send_attempt"),
    ),
    ("POST", V3 + "/account/password/email/requestToken"): Template(
        {"client_secret": "s", "email": "a@b.fr", "send_attempt": 1},
        ("client_secret", "email", "send_attempt"),
    ),
    ("POST", V3 + "/search"): Template(
        {"search_categories": {"room_events": {"search_term": "hello"}}}, ("search_categories",)
    ),
    ("POST", ROOM + "/upgrade"): Template({"new_version": "11"}, ("new_version",)),
    ("PUT", V3 + "/user/{}/rooms/{}/tags/{}"): Template({"order": 0.5}, ("order",)),
    ("POST", V3 + "/pushers/set"): Template(
        {
            "pushkey": "k",
            "kind": "http",
            "app_id": "a",
            "app_display_name": "A",
            "device_display_name": "D",
            "lang": "fr",
            "data": {"url": "https://push.test/_matrix/push/v1/notify"},
        },
        ("pushkey", "kind", "app_id", "data"),
    ),
    ("POST", V3 + "/knock/{}"): Template({"reason": "r"}, ("reason",)),
    ("PUT", V3 + "/directory/list/room/{}"): Template({"visibility": "public"}, ("visibility",)),
    ("PUT", V3 + "/sendToDevice/{}/{}"): Template(
        {"messages": {"@alice:test.local": {"*": {"a": 1}}}}, ("messages",)
    ),
    ("PUT", V3 + "/pushrules/global/{}/{}"): Template(
        {
            "actions": ["notify"],
            "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.room.message"}],
        },
        ("actions", "conditions"),
    ),
    # Under UIA the server may ask for authentication before it looks at the
    # other fields, so only the bodies are given here, not their types.
    ("POST", V3 + "/account/password"): Template({"new_password": "n3w pass!"}),
    ("POST", V3 + "/account/deactivate"): Template({"erase": False}),
    ("POST", V3 + "/delete_devices"): Template({"devices": ["NOSUCHDEVICE"]}),
    ("PUT", V3 + "/user/{}/account_data/{}"): Template({"colour": "bleu"}),
    ("PUT", V3 + "/user/{}/rooms/{}/account_data/{}"): Template({"colour": "bleu"}),
    ("POST", ROOM + "/report/{}"): Template({"reason": "r", "score": -50}, ("reason", "score")),
    ("POST", ROOM + "/report"): Template({"reason": "r"}, ("reason",)),
    ("POST", V3 + "/users/{}/report"): Template({"reason": "r"}, ("reason",)),
    ("PUT", V3 + "/pushrules/global/{}/{}/enabled"): Template({"enabled": False}, ("enabled",)),
    ("PUT", V3 + "/pushrules/global/{}/{}/actions"): Template(
        {"actions": ["notify"]}, ("actions",)
    ),
}

#: Values that a JSON field of each type must not take.
WRONG_TYPES: list[Any] = ["text", 7, True, ["a"], {"a": 1}]


def wrong_values_for(value: Any) -> list[Any]:
    """Values of a different JSON type than ``value`` (a float 0.5 counts as a number)."""

    def kind(v: Any) -> str:
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, int | float):
            return "number"
        return type(v).__name__

    return [w for w in WRONG_TYPES if kind(w) != kind(value)]


ODD_STRINGS = [
    "a\u0000b",  # NUL
    "\u202eRTL override\u200f\u061c",  # bidi controls
    "e\u0301\u0308 \U0001f389 \ufeff\ufffe\uffff",  # combining marks, emoji, BOM, nonchars
    "\U000e0001\U0010ffff",  # tag and last code point
    " " * 3 + "\t\n\r",
]


@dataclass
class World:
    """A user with a room, an event in it, and everything paths refer to."""

    alice: MatrixUser
    bob: MatrixUser
    room_id: str
    event_id: str
    alias: str
    values: dict[str, str] = field(default_factory=dict)
    #: Alice's token for the identity service API (its own accounts, from OpenID).
    identity_token: str = ""

    def path_value(self, name: str) -> str:
        """A valid value for a path parameter, guessed from its name."""
        lowered = name.lower()
        for key, value in self.values.items():
            if key in lowered:
                return value
        return "x"

    def fill(self, endpoint: Endpoint, overrides: dict[str, str] | None = None) -> str:
        overrides = overrides or {}

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in overrides:
                return overrides[name]  # already percent-encoded
            return quote(self.path_value(name), safe="")

        return PARAM.sub(value, endpoint.path)


async def build_world(services: Services, http: httpx.AsyncClient) -> World:
    suffix = secrets.token_hex(3)
    alice = await create_local_user(services, http, "alice" + suffix)
    bob = await create_local_user(services, http, "bob" + suffix)
    room = await alice.ok("POST", "/createRoom", json={"invite": [bob.user_id]})
    room_id = room["room_id"]
    await bob.ok("POST", f"/join/{room_id}", json={})
    sent = await alice.ok(
        "PUT", f"/rooms/{room_id}/send/m.room.message/t0", json={"msgtype": "m.text", "body": "x"}
    )
    alias = f"#a{suffix}:{services.config.server_name}"
    await alice.ok("PUT", f"/directory/room/{quote(alias)}", json={"room_id": room_id})
    values = {
        # Order matters: the first key found in the parameter's name wins.
        "event_type": "m.room.topic",
        "eventtype": "m.room.topic",
        "receipt": "m.read",
        "event": sent["event_id"],
        "state_key": "",
        "statekey": "",
        "alias": alias,
        "room": room_id,
        "txn": "txn" + secrets.token_hex(4),
        "user": alice.user_id,
        "device": alice.device_id,
        "filter": "0",
        "tag": "u.work",
        "kind": "override",
        "rule": ".m.rule.master",
        "server": services.config.server_name,
        "media": "nosuchmedia",
        "key_name": "displayname",
        "keyname": "displayname",
        "protocol": "irc",
        "type": "org.example.data",
        "version": "1",
        "session": "nosuchsession",
    }
    openid = await alice.ok("POST", f"/user/{quote(alice.user_id)}/openid/request_token", json={})
    identity = await http.post("/_matrix/identity/v2/account/register", json=openid)
    identity_token = identity.json()["token"]
    return World(alice, bob, room_id, sent["event_id"], alias, values, identity_token)
