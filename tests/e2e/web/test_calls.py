"""Calls in the real client, through a real coturn, with Chromium's fake camera and microphone.

Sceau hands out TURN credentials for the coturn started on loopback
(tests/coturn_support.py); every peer connection is forced to relay
(iceTransportPolicy "relay", set by web/e2e/callSteps.mjs before the client
loads), so media flowing at all proves the credentials and the relay work.
"""

import asyncio
import re
import secrets
from collections.abc import Iterator

import httpx
import nio
import pytest

from tests.coturn_support import Coturn, coturn  # noqa: F401 (fixture)
from tests.e2e.nio_helpers import PASSWORD, close_all, ok, register
from tests.e2e.server import ServerFactory, ServerProcess
from tests.e2e.web.conftest import module_output, require_web_build
from tests.e2e.web.webdriver import WebDriver

pytestmark = pytest.mark.e2e

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
INCOMING = {"role": "alertdialog", "key": "calls.incomingVideo"}


def call_screen(name: str) -> dict:
    return {"role": "region", "key": "calls.screen", "vars": {"name": name}}


def log_of(room: str) -> dict:
    return {"role": "log", "key": "timeline.label", "vars": {"room": room}}


async def history_pattern(browser: WebDriver, direction: str) -> re.Pattern[str]:
    """The timeline line of a finished video call with a duration, from the catalogue."""

    async def text(key: str) -> str:
        source = await browser.acall("catalogue", key=key)
        return re.sub(r"\\(.)", r"\1", source.strip("^$"))

    line = await browser.acall(
        "catalogue",
        key="calls.history.line",
        vars={
            "kind": await text("calls.history.video"),
            "direction": await text(f"calls.history.{direction}"),
            "outcome": "OUTCOME",
        },
    )
    duration = (await browser.acall("catalogue", key="calls.history.duration")).strip("^$")
    return re.compile(line.strip("^$").replace("OUTCOME", duration.replace(".*?", r"\d+:\d{2}")))


@pytest.fixture(scope="module")
def web_server(make_module_server: ServerFactory, coturn: Coturn) -> ServerProcess:  # noqa: F811
    """The real build, encrypted rooms, and the TURN relay configured."""
    dist = require_web_build()
    return make_module_server(
        web_client={"path": str(dist)},
        encryption={"encrypt_new_rooms": "not_public"},
        voip={"turn_uris": [coturn.uri], "turn_shared_secret": coturn.secret},
    )


@pytest.fixture(scope="module")
def browser(
    request: pytest.FixtureRequest,
    web_server: ServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WebDriver]:
    """One Chromium with fake media devices that grants camera and microphone."""
    driver = WebDriver(tmp_path_factory.mktemp("browser") / "driver.log")
    driver.start(web_server.url, module_output(request), browser_args=FAKE_MEDIA)
    try:
        yield driver
    finally:
        driver.close()


async def signed_in(
    browser: WebDriver, name: str, client: nio.AsyncClient, first_login: bool = True
) -> None:
    """A browser user, peer connections recorded and relayed, logged in as ``client``'s user.

    A later session of the same user is asked to verify itself: it answers "later".
    """
    await browser.acall("newUser", name=name)
    await browser.acall("instrumentCalls", name=name, forceRelay=True)
    await browser.acall(
        "login", name=name, identifier=client.user_id, password=PASSWORD, firstLogin=first_login
    )
    if not first_login:
        verify = {"role": "dialog", "key": "crypto.verify.title"}
        await browser.acall("waitRole", name=name, **verify)
        await browser.acall("press", name=name, key="crypto.verify.later", within=verify)


async def set_name(client: nio.AsyncClient, name: str) -> None:
    ok(await client.set_displayname(name), nio.ProfileSetDisplayNameResponse, "displayname")


def send_raw(
    server: ServerProcess,
    client: nio.AsyncClient,
    room_id: str,
    kind: str,
    content: dict,
    state_key: str | None = None,
) -> None:
    """Send an event as is (no client-side checks, no encryption), as a broken client might."""
    base = f"{server.url}/_matrix/client/v3/rooms/{room_id}"
    url = (
        f"{base}/state/{kind}/{state_key}"
        if state_key is not None
        else f"{base}/send/{kind}/{secrets.token_hex(6)}"
    )
    response = httpx.put(
        url, json=content, headers={"Authorization": f"Bearer {client.access_token}"}, timeout=10
    )
    assert response.status_code == 200, response.text


#: Call events no client should choke on: wrong types, missing fields, an offer that is not SDP.
GARBAGE_INVITES = [
    {"call_id": 5, "offer": "not an offer", "lifetime": "soon", "version": {"x": []}},
    {
        "call_id": "garbage-1",
        "offer": {"type": "offer", "sdp": "this is not SDP"},
        "version": "1",
        "lifetime": 60000,
        "party_id": "p",
    },
    {},
]


def assert_relayed_media(stats: list[dict], coturn_uri: str, count: int) -> None:
    flowing = [
        s
        for s in stats
        if s["inbound"]["audio"] > 0
        and s["inbound"]["video"] > 0
        and s["localCandidateType"] == "relay"
    ]
    assert len(flowing) >= count, stats
    for s in flowing:
        assert s["iceTransportPolicy"] == "relay"
        assert [coturn_uri] in s["iceServers"], s["iceServers"]  # from /voip/turnServer


async def test_alice_calls_bob_in_an_encrypted_dm_through_the_relay(
    browser: WebDriver,
    web_server: ServerProcess,
    coturn: Coturn,  # noqa: F811
):
    alice, bob = await register(web_server, "alice"), await register(web_server, "bob")
    await set_name(alice, "Alice")
    await set_name(bob, "Bob")
    created = ok(
        await alice.room_create(is_direct=True, invite=[bob.user_id]),
        nio.RoomCreateResponse,
        "createRoom",
    )
    ok(await bob.join(created.room_id), nio.JoinResponse, "join")
    await asyncio.gather(signed_in(browser, "alice", alice), signed_in(browser, "bob", bob))
    await signed_in(browser, "bob-phone", bob, first_login=False)
    await browser.acall("openRoom", name="alice", text="Bob")
    await browser.acall("openRoom", name="bob", text="Alice")
    # A broken client's invites ring nowhere and leave the timeline alone.
    for content in GARBAGE_INVITES:
        send_raw(web_server, bob, created.room_id, "m.call.invite", content)
    send_raw(web_server, bob, created.room_id, "m.call.hangup", {"call_id": ["x"], "reason": 42})
    send_raw(
        web_server,
        bob,
        created.room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": "après les invitations cassées"},
    )
    await browser.acall("waitText", name="alice", label="après les invitations cassées")
    alert = await browser.acall(
        "evaluate",
        name="alice",
        expression="document.querySelectorAll('[role=alertdialog]').length",
    )
    assert alert == 0
    await close_all(alice, bob)
    await browser.acall("press", name="alice", key="calls.startVideo")
    # Every session of Bob's rings; answering on one stops the others.
    for name in ("bob", "bob-phone"):
        await browser.acall("waitRole", name=name, **INCOMING)
    await browser.acall("screen", name="bob", screen="appel entrant")
    await browser.acall("press", name="bob", key="calls.answer", within=INCOMING)
    await browser.acall("waitGone", name="bob-phone", **INCOMING)
    await browser.acall("waitGone", name="bob-phone", **call_screen("Alice"), timeout=10_000)
    for name, other in (("alice", "Bob"), ("bob", "Alice")):
        await browser.acall(
            "waitText", name=name, key="calls.status.connected", within=call_screen(other)
        )

    alice_stats, bob_stats = await asyncio.gather(
        browser.acall("waitRelayedMedia", name="alice"),
        browser.acall("waitRelayedMedia", name="bob"),
    )
    assert_relayed_media(alice_stats, coturn.uri, 1)
    assert_relayed_media(bob_stats, coturn.uri, 1)
    await browser.acall("screen", name="alice", screen="appel en cours")

    # Alice shares her screen: Bob receives a second video stream.
    await browser.acall("press", name="alice", key="calls.shareScreen")
    await browser.acall(
        "waitRole", name="alice", role="button", key="calls.shareScreen", pressed=True
    )
    shared = await browser.acall("waitRelayedMedia", name="bob", videoStreams=2)
    assert max(s["inbound"]["videoStreams"] for s in shared) == 2, shared

    await browser.acall("press", name="alice", key="calls.muteMic")
    await browser.acall("waitText", name="bob", key="calls.remoteMuted", vars={"name": "Alice"})
    await browser.acall("press", name="bob", key="calls.cameraOff")
    await browser.acall("waitText", name="alice", key="calls.remoteCameraOff", vars={"name": "Bob"})

    await browser.acall("press", name="alice", key="calls.hangup")
    outgoing = await history_pattern(browser, "outgoing")
    incoming = await history_pattern(browser, "incoming")
    for name, room, pattern in (("alice", "Bob", outgoing), ("bob", "Alice", incoming)):
        await browser.acall("waitText", name=name, key="calls.history.video", within=log_of(room))
        log = await browser.acall("text", name=name, selector="[role=log]")
        assert pattern.search(log), (pattern.pattern, log)
    # The call's signalling went through the server encrypted, like any event of the room.
    messages = httpx.get(
        f"{web_server.url}/_matrix/client/v3/rooms/{created.room_id}/messages",
        params={"dir": "b", "limit": 200},
        headers={"Authorization": f"Bearer {bob.access_token}"},
        timeout=10,
    ).json()["chunk"]
    from_alice = {
        e["type"] for e in messages if e["sender"] == alice.user_id and "state_key" not in e
    }
    assert from_alice == {"m.room.encrypted"}, from_alice
    for name in ("alice", "bob", "bob-phone"):
        assert await browser.acall("problems", name=name) == []
        await browser.acall("closeUser", name=name)


async def test_a_declined_voice_call_shows_as_declined_on_both_sides(
    browser: WebDriver, web_server: ServerProcess
):
    caller, callee = await register(web_server, "claire"), await register(web_server, "denis")
    await set_name(caller, "Claire")
    await set_name(callee, "Denis")
    created = ok(
        await caller.room_create(is_direct=True, invite=[callee.user_id]),
        nio.RoomCreateResponse,
        "createRoom",
    )
    ok(await callee.join(created.room_id), nio.JoinResponse, "join")
    await close_all(caller, callee)
    await asyncio.gather(signed_in(browser, "claire", caller), signed_in(browser, "denis", callee))
    await browser.acall("openRoom", name="claire", text="Denis")
    await browser.acall("openRoom", name="denis", text="Claire")
    incoming = {"role": "alertdialog", "key": "calls.incomingVoice"}
    await browser.acall("press", name="claire", key="calls.startVoice")
    await browser.acall("waitRole", name="denis", **incoming)
    await browser.acall("press", name="denis", key="calls.decline", within=incoming)
    await browser.acall(
        "waitText", name="claire", key="calls.ended.declined", within=call_screen("Denis")
    )
    for name, room, direction in (("claire", "Denis", "outgoing"), ("denis", "Claire", "incoming")):
        line = await browser.acall(
            "catalogue",
            key="calls.history.line",
            vars={"kind": "KIND", "direction": "DIRECTION", "outcome": "OUTCOME"},
        )
        parts = {
            "KIND": "calls.history.voice",
            "DIRECTION": f"calls.history.{direction}",
            "OUTCOME": "calls.history.declined",
        }
        expected = line.strip("^$")
        for placeholder, key in parts.items():
            text = (await browser.acall("catalogue", key=key)).strip("^$")
            expected = expected.replace(placeholder, text)
        await browser.acall(
            "waitText", name=name, key="calls.history.declined", within=log_of(room)
        )
        log = await browser.acall("text", name=name, selector="[role=log]")
        assert re.search(expected, log), (expected, log)
    for name in ("claire", "denis"):
        assert await browser.acall("problems", name=name) == []
        await browser.acall("closeUser", name=name)


async def call_state(client: nio.AsyncClient, room_id: str) -> dict:
    """The room's video group call (org.matrix.msc3401.call), not the malformed one."""
    state = ok(await client.room_get_state(room_id), nio.RoomGetStateResponse, "state")
    [call] = [
        e
        for e in state.events
        if e["type"] == "org.matrix.msc3401.call" and e["content"].get("m.type") == "m.video"
    ]
    return call


async def test_three_people_in_a_group_call_each_receive_the_other_two(
    browser: WebDriver,
    web_server: ServerProcess,
    coturn: Coturn,  # noqa: F811
):
    people = {"carla": "Carla", "dan": "Dan", "eve": "Eve"}
    clients = {key: await register(web_server, key) for key in people}
    for key, display in people.items():
        await set_name(clients[key], display)
    created = ok(
        await clients["carla"].room_create(
            name="Équipe", invite=[clients[k].user_id for k in ("dan", "eve")]
        ),
        nio.RoomCreateResponse,
        "createRoom",
    )
    room_id = created.room_id
    for key in ("dan", "eve"):
        ok(await clients[key].join(room_id), nio.JoinResponse, "join")
    await asyncio.gather(*(signed_in(browser, key, clients[key]) for key in people))
    await asyncio.gather(*(browser.acall("openRoom", name=key, text="Équipe") for key in people))

    group = {"role": "region", "key": "calls.groupScreen", "vars": {"name": "Équipe"}}
    await browser.acall("press", name="carla", key="calls.startGroup")
    await browser.acall(
        "waitText", name="carla", key="calls.participants", vars={"count": 1}, within=group
    )
    await browser.acall("waitText", name="dan", key="calls.inCall", vars={"names": "Carla"})
    for count, key in enumerate(("dan", "eve"), start=1):
        await browser.acall("press", name=key, key="calls.join", vars={"count": count})
        await browser.acall(
            "waitText", name=key, key="calls.participants", vars={"count": count + 1}, within=group
        )
    for key in people:
        await browser.acall(
            "waitText", name=key, key="calls.participants", vars={"count": 3}, within=group
        )
    stats = await asyncio.gather(
        *(browser.acall("waitRelayedMedia", name=key, count=2) for key in people)
    )
    for each in stats:
        assert_relayed_media(each, coturn.uri, 2)  # media from both others, through the relay
    await browser.acall("screen", name="carla", screen="appel de groupe")

    # A fourth member's broken client writes malformed call state: the call goes on.
    mallory = await register(web_server, "mallory")
    ok(
        await clients["carla"].room_invite(room_id, mallory.user_id),
        nio.RoomInviteResponse,
        "invite",
    )
    ok(await mallory.join(room_id), nio.JoinResponse, "join")
    broken_member = {
        "m.calls": [None, "x", {"m.call_id": 5, "m.devices": [None, 3, {"device_id": []}]}]
    }
    send_raw(
        web_server,
        mallory,
        room_id,
        "org.matrix.msc3401.call.member",
        broken_member,
        mallory.user_id,
    )
    send_raw(web_server, mallory, room_id, "m.call.member", {"memberships": "all"}, mallory.user_id)
    send_raw(
        web_server,
        mallory,
        room_id,
        "org.matrix.msc3401.call",
        {"m.type": 7, "m.intent": None},
        "bogus",
    )
    await mallory.close()

    await browser.acall("press", name="dan", key="calls.muteMic")
    await browser.acall("waitText", name="carla", key="calls.micMuted", within=group)

    for key in ("eve", "dan"):
        await browser.acall("press", name=key, key="calls.leave")
        await browser.acall("waitGone", name=key, **group)
    call = await call_state(clients["carla"], room_id)
    assert "m.terminated" not in call["content"]  # Carla is still in it
    await browser.acall("press", name="carla", key="calls.leave")
    await browser.acall("waitGone", name="carla", **group)
    for _ in range(50):
        call = await call_state(clients["carla"], room_id)
        if "m.terminated" in call["content"]:
            break
        await asyncio.sleep(0.2)
    assert call["content"]["m.terminated"] == "call_ended"  # the last one out ended it
    await close_all(*clients.values())
    for key in people:
        assert await browser.acall("problems", name=key) == []
