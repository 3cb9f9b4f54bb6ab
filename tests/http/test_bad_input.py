"""Every client endpoint, fed malformed input, answers with a Matrix error and writes nothing.

The endpoints are read from the app's routes at collection time. For each one
these tests send bodies that are not JSON, JSON of the wrong shape, huge or
deeply nested values, odd unicode and out-of-range numbers, spoil its path and
query parameters, and drop or forge its access token. Whatever happens:

* the server never answers 5xx;
* a 4xx carries a JSON object whose ``errcode`` starts with ``M_``;
* after a 4xx, no stream has moved and the user's rooms are unchanged.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sceau.homeserver import Services
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
WITH_BODY = [e for e in ENDPOINTS if e.takes_body]
WITH_PARAMS = [e for e in ENDPOINTS if e.params]
GETS = [e for e in ENDPOINTS if e.method == "GET"]
PRIVATE = [e for e in ENDPOINTS if not e.public and e.path.startswith("/_matrix/client")]


def ids(endpoint: Endpoint) -> str:
    return str(endpoint)


@dataclass(frozen=True)
class Failure:
    endpoint: Endpoint
    case: str
    status: int
    message: str


#: Server bugs found by these tests, still open: ``(reason, matches(backend, failure))``.
#: A test whose every failure is listed here is reported as xfail, not as a failure.
KNOWN_BUGS: list[tuple[str, Callable[[str, Failure], bool]]] = [
    (
        "server bug: a NUL character (U+0000) in a path parameter or identifier field is "
        "sent to PostgreSQL, which cannot store it in a text column, and the server answers 500",
        lambda backend, f: (
            backend == "postgresql" and f.status == 500 and ("NUL" in f.case or "\\x00" in f.case)
        ),
    ),
    (
        "server bug: JSON nested deeper than orjson's 254 levels is accepted by the parser but "
        "cannot be re-serialised when stored (filters, account data, tags): 500, want 400 M_BAD_JSON",
        lambda backend, f: f.case == "nesting 900 deep" and f.status == 500,
    ),
    (
        "server bug: a filter 'limit' of 2**63 reaches SQL (OverflowError / out of range), "
        "GET /rooms/{roomId}/messages answers 500 (want 400 M_BAD_JSON or M_INVALID_PARAM)",
        lambda backend, f: (
            f.endpoint.shape.endswith("/messages")
            and "9223372036854775808" in f.case
            and f.status == 500
        ),
    ),
    (
        "server bug: GET /sync?filter=9223372036854775808 (a filter ID of 2**63) reaches SQL "
        "and answers 500 (want 400 M_INVALID_PARAM or 404 M_NOT_FOUND)",
        lambda backend, f: (
            f.endpoint.shape.endswith("/sync")
            and "'filter': '9223372036854775808'" in f.case
            and f.status == 500
        ),
    ),
    (
        "server bug: POST /createRoom accepts an 'invite_3pid' that is not a list (want 400)",
        lambda backend, f: (
            f.endpoint.shape.endswith("/createRoom") and f.case == "invite_3pid not a list"
        ),
    ),
]


class Probe:
    """Sends requests as the world's user and checks the invariants on every answer.

    Failures are collected rather than raised, so one run reports every broken
    case of an endpoint; :meth:`verdict` ends the test.
    """

    def __init__(
        self, services: Services, http: httpx.AsyncClient, world: World, backend: str
    ) -> None:
        self.services = services
        self.http = http
        self.world = world
        self.backend = backend
        self.failures: list[Failure] = []

    def fail(self, endpoint: Endpoint, case: str, status: int, message: str) -> None:
        self.failures.append(Failure(endpoint, case, status, message))

    async def _event_count(self) -> int:
        """Events stored: a refused write may use up a stream position, but adds no event."""
        return int(await self.services.stores.db.fetchval("SELECT COUNT(*) FROM events"))

    async def _joined(self) -> list[str] | None:
        response = await self.world.alice.request("GET", "/joined_rooms")
        if response.status_code != 200:
            return None
        return sorted(response.json()["joined_rooms"])

    async def send(
        self,
        endpoint: Endpoint,
        case: str,
        *,
        content: bytes | None = None,
        body: Any = None,
        path: str | None = None,
        params: dict[str, str] | None = None,
        token: str | None = "alice",
    ) -> httpx.Response:
        """One request; checks no 5xx, a Matrix error shape, and no write on 4xx."""
        if content is None and body is not None:
            # The standard encoder: orjson refuses integers beyond 64 bits.
            content = json.dumps(body, ensure_ascii=False).encode()
        if content is None and endpoint.takes_body:
            content = b"{}"
        headers = {"Content-Type": "application/json"}
        if token == "alice":
            headers["Authorization"] = f"Bearer {self.world.alice.token}"
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        before = (await self._event_count(), await self._joined())
        response = await self.http.request(
            endpoint.method,
            path or self.world.fill(endpoint),
            content=content,
            params=params,
            headers=headers,
            timeout=30,
        )
        status = response.status_code
        text = response.text[:300]
        if status >= 500:
            self.fail(endpoint, case, status, f"server error: {status} {text}")
            await self.refresh()
        elif status >= 400:
            data = response.json()
            is_uia = status == 401 and isinstance(data, dict) and "flows" in data
            if not is_uia and not str(_get(data, "errcode")).startswith("M_"):
                self.fail(endpoint, case, status, f"no Matrix errcode: {status} {text}")
            after = (await self._event_count(), await self._joined())
            if after != before:
                self.fail(endpoint, case, status, f"a failed request wrote something: {text}")
                await self.refresh()
        elif endpoint.method != "GET" or before[1] is None:
            joined = await self._joined()
            if joined is None or self.world.room_id not in joined:
                await self.refresh()  # the token died or alice left: start again
        return response

    def expect(
        self, response: httpx.Response, endpoint: Endpoint, case: str, status: int, *codes: str
    ) -> None:
        """The answer must be ``status`` with one of ``codes``."""
        errcode = _get(response.json(), "errcode")
        if response.status_code != status or errcode not in codes:
            self.fail(
                endpoint,
                case,
                response.status_code,
                f"expected {status} {'/'.join(codes)}, got {response.status_code} "
                f"{response.text[:300]}",
            )

    async def refresh(self) -> None:
        """A new world: the last request may have changed or destroyed this one."""
        self.world = await build_world(self.services, self.http)

    def verdict(self) -> None:
        """Fail on any unexpected failure; xfail when only known server bugs remain."""
        unknown = []
        reasons: set[str] = set()
        for failure in self.failures:
            reason = next((r for r, match in KNOWN_BUGS if match(self.backend, failure)), None)
            if reason is None:
                unknown.append(failure)
            else:
                reasons.add(reason)
        if unknown:
            pytest.fail(
                "\n".join(f"{f.endpoint} [{f.case}]: {f.message}" for f in unknown[:30]),
                pytrace=False,
            )
        if reasons:
            pytest.xfail("; ".join(sorted(reasons)))


def _get(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else None


@pytest.fixture
async def probe(services: Services, client: httpx.AsyncClient, backend: str) -> Probe:
    return Probe(services, client, await build_world(services, client), backend)


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


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=ids)
async def test_bodies_that_are_not_json_objects_get_not_json_or_bad_json(probe, endpoint):
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
    probe.verdict()


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=ids)
async def test_request_bodies_over_the_size_limit_get_too_large(probe, endpoint):
    huge = {"a": "x" * (probe.services.config.limits.max_request_bytes + 10)}
    response = await probe.send(endpoint, "body over the limit", body=huge)
    probe.expect(response, endpoint, "body over the limit", 413, "M_TOO_LARGE")
    probe.verdict()


def template_for(endpoint: Endpoint) -> dict[str, Any]:
    template = TEMPLATES.get((endpoint.method, endpoint.shape))
    return dict(template.body) if template else {}


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=ids)
async def test_odd_unicode_huge_numbers_and_deep_values_never_break_the_server(probe, endpoint):
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
    probe.verdict()


TYPED = [
    (endpoint, field)
    for endpoint in WITH_BODY
    if (template := TEMPLATES.get((endpoint.method, endpoint.shape)))
    for field in template.typed
]


@pytest.mark.parametrize(("endpoint", "field"), TYPED, ids=[f"{e} {f}" for e, f in TYPED])
async def test_known_fields_of_the_wrong_type_get_bad_json_or_invalid_param(probe, endpoint, field):
    """The spec describes both codes for this: M_BAD_JSON ("valid JSON, but malformed")
    and M_INVALID_PARAM ("expected an integer and instead received a string")."""
    base = template_for(endpoint)
    for wrong in wrong_values_for(base[field]):
        case = f"{field}={wrong!r}"
        response = await probe.send(endpoint, case, body={**base, field: wrong})
        probe.expect(response, endpoint, case, 400, "M_BAD_JSON", "M_INVALID_PARAM")
    probe.verdict()


INTEGER_FIELDS = [
    (endpoint, field)
    for endpoint in WITH_BODY
    if (template := TEMPLATES.get((endpoint.method, endpoint.shape)))
    for field, value in template.body.items()
    if field in template.typed and isinstance(value, int) and not isinstance(value, bool)
]


@pytest.mark.parametrize(
    ("endpoint", "field"), INTEGER_FIELDS, ids=[f"{e} {f}" for e, f in INTEGER_FIELDS]
)
async def test_floats_where_integers_go_are_rejected(probe, endpoint, field):
    case = f"{field}=1.5"
    response = await probe.send(endpoint, case, body={**template_for(endpoint), field: 1.5})
    probe.expect(response, endpoint, case, 400, "M_BAD_JSON", "M_INVALID_PARAM")
    probe.verdict()


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


@pytest.mark.parametrize("endpoint", WITH_PARAMS, ids=ids)
async def test_odd_path_parameters_never_break_the_server(probe, endpoint):
    for name in endpoint.params:
        for case, raw in ODD_PATH_VALUES.items():
            path = probe.world.fill(endpoint, {name: raw})
            await probe.send(endpoint, f"{name}={case}", path=path, body=template_for(endpoint))
    probe.verdict()


BAD_QUERIES = [
    {name: value}
    for name in ("limit", "timeout", "from", "to", "since", "at", "filter", "dir")
    for value in ("abc", "-1", str(2**63), "1.5", "1e400", "\x00", "\u202e", "[]", "{bad")
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


@pytest.mark.parametrize("endpoint", GETS, ids=ids)
async def test_bad_query_parameters_never_break_the_server(probe, endpoint):
    for params in BAD_QUERIES:
        if endpoint.shape.endswith("/sync") and "timeout" not in params:
            # Never wait: a long-poll here would only slow the test down.
            params = {**params, "timeout": "0"}
        await probe.send(endpoint, f"?{params}", params=params)
    probe.verdict()


@pytest.mark.parametrize("endpoint", PRIVATE, ids=ids)
async def test_requests_without_a_token_get_missing_token(probe, endpoint):
    response = await probe.send(endpoint, "no token", token=None, body=template_for(endpoint))
    uia_ok = (endpoint.method, endpoint.shape) in UIA_WITHOUT_TOKEN
    if not (uia_ok and response.status_code == 401):
        probe.expect(response, endpoint, "no token", 401, "M_MISSING_TOKEN")
    probe.verdict()


@pytest.mark.parametrize("endpoint", PRIVATE, ids=ids)
async def test_requests_with_an_unknown_token_get_unknown_token(probe, endpoint):
    for token in ("sct_nosuchtoken", "a" * 5000, "sct_\x7f"):
        case = f"token={token[:10]!r}"
        response = await probe.send(endpoint, case, token=token)
        if (endpoint.method, endpoint.shape) in UIA_WITHOUT_TOKEN:
            continue
        probe.expect(response, endpoint, case, 401, "M_UNKNOWN_TOKEN")
        if response.json().get("soft_logout") is not False:
            probe.fail(endpoint, case, 401, f"soft_logout should be false: {response.text}")
    probe.verdict()


def _put_endpoint(shape: str) -> Endpoint:
    found = next((e for e in ENDPOINTS if e.shape == shape and e.method == "PUT"), None)
    if found is None:
        pytest.skip(f"the server has no PUT {shape} endpoint yet")
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


@pytest.mark.parametrize(
    ("case", "value"),
    [("2**53", 2**53), ("-(2**53)", -(2**53)), ("2**63", 2**63), ("float", 1.5)],
)
@pytest.mark.parametrize("shape", EVENT_PUTS)
async def test_event_content_outside_canonical_json_gets_bad_json(probe, shape, case, value):
    """Events must be canonical JSON: integers within ±(2**53 - 1), no floats."""
    endpoint = _put_endpoint(shape)
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


@pytest.mark.parametrize("case", list(CREATE_ROOM_FAILURES))
async def test_a_failed_create_room_leaves_no_room_behind(probe, case):
    endpoint = Endpoint("POST", "/_matrix/client/v3/createRoom")
    world = probe.world
    alias_path = f"/directory/room/{quote(world.alias)}"
    alias_before = (await world.alice.ok("GET", alias_path))["room_id"]
    response = await probe.send(endpoint, case, body=CREATE_ROOM_FAILURES[case](world))
    # (probe.send also checks that /joined_rooms and every stream are unchanged.)
    if not 400 <= response.status_code < 500:
        probe.fail(endpoint, case, response.status_code, f"accepted: {response.text[:200]}")
    assert (await world.alice.ok("GET", alias_path))["room_id"] == alias_before
    probe.verdict()
