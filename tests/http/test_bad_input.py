"""Every client endpoint, fed malformed input, answers with a Matrix error and writes nothing.

The endpoints are read from the app's routes at collection time. For each one
these tests send bodies that are not JSON, JSON of the wrong shape, huge or
deeply nested values, odd unicode and out-of-range numbers, spoil its path and
query parameters, and drop or forge its access token. Whatever happens:

* the server never answers 5xx;
* a 4xx carries a JSON object whose ``errcode`` starts with ``M_``;
* after a 4xx, no event was stored and the user's rooms are unchanged.

Checks that only concern the HTTP layer (body parsing, tokens, field types)
run on SQLite; the odd values, which travel down to SQL, run on both engines.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.http.bad_input_probe import Probe
from tests.http.bad_input_support import (
    ODD_STRINGS,
    TEMPLATES,
    UIA_WITHOUT_TOKEN,
    Endpoint,
    World,
    build_world,
    endpoints,
    wrong_values_for,
)

ENDPOINTS = endpoints()
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])


def ids(endpoint: Endpoint) -> str:
    return str(endpoint)


@pytest.fixture
async def probe(services, client, backend: str) -> Probe:
    return Probe(services, client, await build_world(services, client), backend)


def template_for(endpoint: Endpoint) -> dict[str, Any]:
    template = TEMPLATES.get((endpoint.method, endpoint.shape))
    return dict(template.body) if template else {}


NOT_JSON_BODIES = {
    "not json": b"{not json",
    "truncated": b'{"a": ',
    "invalid utf-8": b'{"a": "\xff\xfe"}',
    "trailing garbage": b'{"a": 1} x',
}
NOT_AN_OBJECT = {
    "array": b"[]",
    "array of objects": b'[{"a": 1}]',
    "string": b'"s"',
    "null": b"null",
    "number": b"42",
}


async def check_body_parsing(probe: Probe, endpoint: Endpoint) -> None:
    """Not JSON -> M_NOT_JSON; JSON but not an object -> M_BAD_JSON; too big -> M_TOO_LARGE."""
    for case, content in NOT_JSON_BODIES.items():
        response = await probe.send(endpoint, case, content=content)
        probe.expect(response, endpoint, case, 400, "M_NOT_JSON")
    for case, content in NOT_AN_OBJECT.items():
        response = await probe.send(endpoint, case, content=content)
        probe.expect(response, endpoint, case, 400, "M_BAD_JSON")
    lone = await probe.send(endpoint, "lone surrogate", content=b'{"a": "\\ud800"}')
    probe.expect(lone, endpoint, "lone surrogate", 400, "M_NOT_JSON", "M_BAD_JSON")
    deep = b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = await probe.send(endpoint, "nesting 5000 deep", content=deep)
    probe.expect(response, endpoint, "nesting 5000 deep", 400, "M_NOT_JSON", "M_BAD_JSON")
    huge = {"a": "x" * (probe.services.config.limits.max_request_bytes + 10)}
    response = await probe.send(endpoint, "body over the limit", body=huge)
    probe.expect(response, endpoint, "body over the limit", 413, "M_TOO_LARGE")


async def check_field_types(probe: Probe, endpoint: Endpoint) -> None:
    """Known fields of another JSON type, and floats where integers go, are refused.

    The spec describes both codes for a wrong type: M_BAD_JSON ("valid JSON, but
    malformed") and M_INVALID_PARAM ("expected an integer and instead received a string").
    """
    template = TEMPLATES.get((endpoint.method, endpoint.shape))
    if template is None:
        return
    for field in template.typed:
        value = template.body[field]
        wrongs = wrong_values_for(value)
        if isinstance(value, int) and not isinstance(value, bool):
            wrongs.append(1.5)
        for wrong in wrongs:
            case = f"{field}={wrong!r}"
            response = await probe.send(endpoint, case, body={**template.body, field: wrong})
            probe.expect(response, endpoint, case, 400, "M_BAD_JSON", "M_INVALID_PARAM")


async def check_tokens(probe: Probe, endpoint: Endpoint) -> None:
    """No token -> M_MISSING_TOKEN; a token the server never issued -> M_UNKNOWN_TOKEN."""
    if endpoint.public or not endpoint.path.startswith("/_matrix/client"):
        return
    uia_ok = (endpoint.method, endpoint.shape) in UIA_WITHOUT_TOKEN
    response = await probe.send(endpoint, "no token", token=None, body=template_for(endpoint))
    if not (uia_ok and response.status_code == 401):
        probe.expect(response, endpoint, "no token", 401, "M_MISSING_TOKEN")
    for token in ("sct_nosuchtoken", "a" * 5000, "sct_\x7f"):
        case = f"token={token[:10]!r}"
        response = await probe.send(endpoint, case, token=token)
        if uia_ok:
            continue
        probe.expect(response, endpoint, case, 401, "M_UNKNOWN_TOKEN")
        if response.json().get("soft_logout") is not False:
            probe.fail(endpoint, case, 401, f"soft_logout should be false: {response.text}")


@SQLITE_ONLY
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
async def test_malformed_bodies_wrong_types_and_bad_tokens_get_the_spec_errors(probe, endpoint):
    if endpoint.takes_body:
        await check_body_parsing(probe, endpoint)
        await check_field_types(probe, endpoint)
    await check_tokens(probe, endpoint)
    probe.verdict()


async def check_odd_bodies(probe: Probe, endpoint: Endpoint) -> None:
    base = template_for(endpoint)
    strings = [k for k, v in base.items() if isinstance(v, str)] or ["x"]
    for odd in ODD_STRINGS:
        for key in strings:
            await probe.send(endpoint, f"{key}={odd!r}", body={**base, key: odd})
    integers = [k for k, v in base.items() if isinstance(v, int) and not isinstance(v, bool)]
    for number in (2**53, 2**63, 2**64 - 1, -(2**63) - 1, 1e308, -0.0):
        await probe.send(endpoint, f"extra={number}", body={**base, "extra": number})
        for key in integers:
            await probe.send(endpoint, f"{key}={number}", body={**base, key: number})
    nested: Any = "leaf"
    for _ in range(900):
        nested = {"n": nested}
    await probe.send(endpoint, "nesting 900 deep", body={**base, "extra": nested})
    await probe.send(endpoint, "long key", body={**base, "k" * 70_000: 1})
    await probe.send(endpoint, "empty body", content=b"")


ODD_PATH_VALUES = {
    "NUL": "%00",
    "RTL": "%E2%80%AEevil",
    "lone surrogate (CESU-8)": "%ED%A0%80",
    "invalid utf-8": "%FF%FE",
    "long": "a" * 5000,
    "unknown room": "%21nosuchroom%3Atest.local",
    "unknown event": "%24nosuchevent",
    "dot dot": "..%2F..%2Fetc",
    "emoji": "%F0%9F%8E%89",
}


async def check_path_parameters(probe: Probe, endpoint: Endpoint) -> None:
    for name in endpoint.params:
        for case, raw in ODD_PATH_VALUES.items():
            path = probe.world.fill(endpoint, {name: raw})
            await probe.send(endpoint, f"{name}={case}", path=path, body=template_for(endpoint))


BAD_QUERIES = [
    {name: value}
    for name in ("limit", "timeout", "from", "to", "since", "at", "filter", "dir")
    for value in ("abc", "-1", str(2**63), "1.5", "\x00", "{bad")
] + [
    {"filter": '{"room": {"timeline": {"limit": "ten"}}}'},
    {"filter": '{"limit": 9223372036854775808}'},
    {"filter": '{"room": {"rooms": 5}}'},
    {"filter": '{"types": [1]}'},
    {"membership": "sleeping"},
    {"not_membership": "\x00"},
    {"format": "weird"},
    {"full_state": "maybe"},
    {"set_presence": "asleep"},
    {"server": "\x00"},
    {"user_id": "not-a-user"},
]


async def check_query_parameters(probe: Probe, endpoint: Endpoint) -> None:
    if endpoint.method != "GET":
        return
    for params in BAD_QUERIES:
        if endpoint.shape.endswith("/sync") and "timeout" not in params:
            # Never wait: a long-poll here would only slow the test down.
            params = {**params, "timeout": "0"}
        await probe.send(endpoint, f"?{params}", params=params)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
async def test_odd_unicode_huge_numbers_and_odd_parameters_never_break_the_server(probe, endpoint):
    if endpoint.takes_body:
        await check_odd_bodies(probe, endpoint)
    await check_path_parameters(probe, endpoint)
    await check_query_parameters(probe, endpoint)
    probe.verdict()


def _put_endpoint(shape: str) -> Endpoint:
    found = next((e for e in ENDPOINTS if e.shape == shape and e.method == "PUT"), None)
    if found is None:
        pytest.fail(f"the server has no PUT {shape} endpoint yet")
    return found


async def _timeline_ids(world: World) -> list[str]:
    page = await world.alice.ok("GET", f"/rooms/{world.room_id}/messages?dir=b&limit=50")
    return [e["event_id"] for e in page["chunk"]]


EVENT_LIMIT = 65_536
EVENT_PUTS = ["/_matrix/client/v3/rooms/{}/send/{}/{}", "/_matrix/client/v3/rooms/{}/state/{}/{}"]


@pytest.mark.parametrize("shape", EVENT_PUTS)
async def test_events_over_65536_bytes_get_too_large_and_are_not_stored(probe, shape):
    endpoint = _put_endpoint(shape)
    world = probe.world
    before = await _timeline_ids(world)
    key = "topic" if "state" in shape else "body"
    response = await probe.send(endpoint, "event over 64 KiB", body={key: "x" * EVENT_LIMIT})
    probe.expect(response, endpoint, "event over 64 KiB", 413, "M_TOO_LARGE")
    # Well under the limit, envelope included, still goes through.
    small = await probe.send(endpoint, "60 kB event", body={key: "x" * 60_000})
    assert small.status_code == 200, small.text
    assert before == (await _timeline_ids(world))[1:]
    probe.verdict()


OUTSIDE_CANONICAL_JSON = {"2**53": 2**53, "-(2**53)": -(2**53), "2**63": 2**63, "float": 1.5}


@pytest.mark.parametrize("shape", EVENT_PUTS)
async def test_event_content_outside_canonical_json_gets_bad_json(probe, shape):
    """Events must be canonical JSON: integers within ±(2**53 - 1), no floats."""
    endpoint = _put_endpoint(shape)
    for case, value in OUTSIDE_CANONICAL_JSON.items():
        body = {"msgtype": "m.text", "body": "n", "topic": "t", "n": {"deep": [value]}}
        response = await probe.send(endpoint, case, body=body)
        probe.expect(response, endpoint, case, 400, "M_BAD_JSON")
    probe.verdict()


CREATE_ROOM_FAILURES: dict[str, Callable[[World], dict[str, Any]]] = {
    "alias already taken": lambda w: {"room_alias_name": w.alias[1:].split(":")[0]},
    "invalid invitee": lambda w: {"invite": [w.bob.user_id, "not a user id"]},
    "unknown room version": lambda w: {"room_version": "999"},
    "bad preset": lambda w: {"preset": "everyone_is_admin"},
    "bad visibility": lambda w: {"visibility": "secret"},
    "initial_state not a list": lambda w: {"initial_state": {"type": "m.room.topic"}},
    "initial_state item without type": lambda w: {"initial_state": [{"content": {}}]},
    "initial_state content not an object": lambda w: {
        "initial_state": [{"type": "m.room.topic", "content": "t"}]
    },
    "name over 64 KiB": lambda w: {"name": "n" * 70_000},
    "power levels not integers": lambda w: {
        "power_level_content_override": {"users": {w.alice.user_id: "high"}}
    },
    "creation_content not an object": lambda w: {"creation_content": []},
    "invite_3pid not a list": lambda w: {"invite_3pid": "x"},
}


async def test_a_failed_create_room_leaves_no_room_and_no_alias_behind(probe):
    endpoint = Endpoint("POST", "/_matrix/client/v3/createRoom")
    for case, make_body in CREATE_ROOM_FAILURES.items():
        world = probe.world
        alias_path = f"/directory/room/{quote(world.alias)}"
        alias_before = (await world.alice.ok("GET", alias_path))["room_id"]
        response = await probe.send(endpoint, case, body=make_body(world))
        # (probe.send also checks that /joined_rooms and the stored events are unchanged.)
        if not 400 <= response.status_code < 500:
            probe.fail(endpoint, case, response.status_code, f"accepted: {response.text[:200]}")
            await probe.refresh()
            continue
        if (await world.alice.ok("GET", alias_path))["room_id"] != alias_before:
            probe.fail(endpoint, case, response.status_code, "the alias was moved")
    probe.verdict()


UNKNOWN_PATHS = [
    "/_matrix/client/v3/nosuchendpoint",
    "/_matrix/client/v3/rooms/!r:test.local/nosuchaction",
    "/_matrix/client/unstable/org.example.nothing",
    "/_matrix/client/v4/joined_rooms",
]


@SQLITE_ONLY
async def test_unknown_endpoints_and_unsupported_methods_get_unrecognized(probe):
    for path in UNKNOWN_PATHS:
        endpoint = Endpoint("GET", path)
        response = await probe.send(endpoint, "unknown path", path=path)
        probe.expect(response, endpoint, "unknown path", 404, "M_UNRECOGNIZED")
    methods: dict[str, set[str]] = {}
    for endpoint in ENDPOINTS:
        methods.setdefault(endpoint.path, set()).add(endpoint.method)
    for path, allowed in methods.items():
        for method in sorted({"GET", "PUT", "POST", "DELETE"} - allowed):
            endpoint = Endpoint(method, path)
            response = await probe.send(endpoint, f"{method} not allowed")
            # Another route may serve this method on a path of the same shape; if not,
            # the answer is the spec's 405 M_UNRECOGNIZED.
            if response.status_code == 405:
                probe.expect(response, endpoint, f"{method} not allowed", 405, "M_UNRECOGNIZED")
    probe.verdict()
