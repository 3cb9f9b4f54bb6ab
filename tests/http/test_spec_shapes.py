"""Response bodies match the Matrix spec's own schemas (``tests/spec/client-server.json``).

Each case calls one endpoint in-process, in a small world with real rooms,
messages, an edit, a reaction and a thread, and validates the body against
the schema the spec gives for that path, method and status. Cases whose
endpoint the server does not serve yet are skipped, so the list can run ahead
of the implementation.
"""

import secrets

import httpx
import pytest

from sceau.homeserver import Services
from tests.http.spec_shapes_support import (
    V1,
    V3,
    Case,
    World,
    account_data_stored,
    after,
    anonymous,
    bob_banned,
    bob_left,
    build_world,
    check_shape,
    displayname_set,
    errcode,
    get_stored_filter,
    incremental_sync,
    knock_room,
    login,
    pushrule_stored,
    register,
    register_taken,
    room_account_data_stored,
    simple,
    tagged,
    validator_for,
)


@pytest.fixture
async def world(services: Services, client: httpx.AsyncClient) -> World:
    return await build_world(services, client)


R = V3 + "/rooms/{roomId}"
MEDIA = "/_matrix/media/v3"


async def media_upload(w: World) -> httpx.Response:
    headers = {**w.alice.headers, "Content-Type": "text/plain"}
    return await w.http.post(MEDIA + "/upload?filename=a.txt", content=b"x", headers=headers)


async def media_upload_to_created(w: World) -> httpx.Response:
    created = (await w.alice.ok("POST", "/_matrix/media/v1/create"))["content_uri"]
    return await w.alice.request("PUT", MEDIA + "/upload/" + created[6:], content=b"x")


async def media_upload_unknown(w: World) -> httpx.Response:
    return await w.alice.request("PUT", MEDIA + "/upload/test.local/nosuchmedia", content=b"x")


async def media_text_thumbnail(w: World) -> httpx.Response:
    uri = (await media_upload(w)).json()["content_uri"]
    return await w.alice.request("GET", V1 + f"/media/thumbnail/{uri[6:]}?width=32&height=32")


CASES: dict[str, Case] = {
    "versions": anonymous("GET", "/_matrix/client/versions", "/_matrix/client/versions"),
    "well-known": anonymous("GET", "/.well-known/matrix/client", "/.well-known/matrix/client"),
    "capabilities": simple("GET", V3 + "/capabilities", V3 + "/capabilities"),
    "register": Case("POST", V3 + "/register", register),
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
    "login": Case("POST", V3 + "/login", login),
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
        knock_room,
        simple("POST", V3 + "/knock/{roomIdOrAlias}", V3 + "/knock/{room}", {}, "carol"),
    ),
    "invite": simple("POST", R + "/invite", V3 + "/rooms/{room}/invite", {"user_id": "{carol}"}),
    "leave": simple("POST", R + "/leave", V3 + "/rooms/{room}/leave", {}, "bob"),
    "forget": after(
        bob_left, simple("POST", R + "/forget", V3 + "/rooms/{room}/forget", {}, "bob")
    ),
    "kick": simple("POST", R + "/kick", V3 + "/rooms/{room}/kick", {"user_id": "{bob}"}),
    "ban": simple("POST", R + "/ban", V3 + "/rooms/{room}/ban", {"user_id": "{carol}"}),
    "unban": after(
        bob_banned, simple("POST", R + "/unban", V3 + "/rooms/{room}/unban", {"user_id": "{bob}"})
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
    "hierarchy": simple(
        "GET", V1 + "/rooms/{roomId}/hierarchy", V1 + "/rooms/{room}/hierarchy?limit=5"
    ),
    "hierarchy forbidden": simple(
        "GET",
        V1 + "/rooms/{roomId}/hierarchy",
        V1 + "/rooms/!nosuchroom:test.local/hierarchy",
        status=403,
    ),
    "hierarchy bad token": simple(
        "GET", V1 + "/rooms/{roomId}/hierarchy", V1 + "/rooms/{room}/hierarchy?from=x", status=400
    ),
    "room_summary": simple(
        "GET", V1 + "/room_summary/{roomIdOrAlias}", V1 + "/room_summary/{room}", who="carol"
    ),
    "room_summary by alias": anonymous(
        "GET", V1 + "/room_summary/{roomIdOrAlias}", V1 + "/room_summary/{alias}"
    ),
    "room_summary unknown": simple(
        "GET",
        V1 + "/room_summary/{roomIdOrAlias}",
        V1 + "/room_summary/!nosuchroom:test.local",
        status=404,
    ),
    "initial sync": simple("GET", V3 + "/sync", V3 + "/sync?timeout=0"),
    "incremental sync": Case("GET", V3 + "/sync", incremental_sync),
    "create filter": simple(
        "POST",
        V3 + "/user/{userId}/filter",
        V3 + "/user/{alice}/filter",
        {"room": {"timeline": {"limit": 5}}},
    ),
    "get filter": Case("GET", V3 + "/user/{userId}/filter/{filterId}", get_stored_filter),
    "put account data": simple(
        "PUT",
        V3 + "/user/{userId}/account_data/{type}",
        V3 + "/user/{alice}/account_data/org.example",
        {"a": 1},
    ),
    "tags": after(
        tagged,
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
    "put pushrule": simple(
        "PUT",
        V3 + "/pushrules/global/{kind}/{ruleId}",
        V3 + "/pushrules/global/content/org.example.mot",
        {"pattern": "réunion", "actions": ["notify"]},
    ),
    "delete pushrule": after(
        pushrule_stored,
        simple(
            "DELETE",
            V3 + "/pushrules/global/{kind}/{ruleId}",
            V3 + "/pushrules/global/content/org.example.mot",
        ),
    ),
    "disable pushrule": simple(
        "PUT",
        V3 + "/pushrules/global/{kind}/{ruleId}/enabled",
        V3 + "/pushrules/global/override/.m.rule.suppress_notices/enabled",
        {"enabled": False},
    ),
    "set pushrule actions": simple(
        "PUT",
        V3 + "/pushrules/global/{kind}/{ruleId}/actions",
        V3 + "/pushrules/global/override/.m.rule.suppress_notices/actions",
        {"actions": ["notify"]},
    ),
    "set pusher": simple(
        "POST",
        V3 + "/pushers/set",
        V3 + "/pushers/set",
        {
            "pushkey": "clef",
            "kind": "http",
            "app_id": "fr.gouv.app",
            "app_display_name": "App",
            "device_display_name": "Téléphone",
            "lang": "fr",
            "data": {"url": "https://push.example/_matrix/push/v1/notify"},
        },
    ),
    "get room account data": after(
        room_account_data_stored,
        simple(
            "GET",
            V3 + "/user/{userId}/rooms/{roomId}/account_data/{type}",
            V3 + "/user/{alice}/rooms/{room}/account_data/org.example",
        ),
    ),
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
        displayname_set,
        simple("GET", V3 + "/profile/{userId}/{keyName}", V3 + "/profile/{alice}/displayname"),
    ),
    "get account data": after(
        account_data_stored,
        simple(
            "GET",
            V3 + "/user/{userId}/account_data/{type}",
            V3 + "/user/{alice}/account_data/org.example",
        ),
    ),
    "delete tag": after(
        tagged,
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
    "media config": simple("GET", V1 + "/media/config", V1 + "/media/config"),
    "legacy media config": simple("GET", MEDIA + "/config", MEDIA + "/config"),
    "media upload": Case("POST", MEDIA + "/upload", media_upload),
    "media create": simple("POST", "/_matrix/media/v1/create", "/_matrix/media/v1/create"),
    "media upload to a created id": Case(
        "PUT", MEDIA + "/upload/{serverName}/{mediaId}", media_upload_to_created
    ),
    # Errors have shapes too.
    "upload to an unknown media id": Case(
        "PUT", MEDIA + "/upload/{serverName}/{mediaId}", media_upload_unknown, status=404
    ),
    "download unknown media": simple(
        "GET",
        V1 + "/media/download/{serverName}/{mediaId}",
        V1 + "/media/download/test.local/nosuchmedia",
        status=404,
    ),
    "thumbnail of text": Case(
        "GET", V1 + "/media/thumbnail/{serverName}/{mediaId}", media_text_thumbnail, status=400
    ),
    "url preview refused": simple(
        "GET", V1 + "/media/preview_url", V1 + "/media/preview_url?url=https://a.test/", status=403
    ),
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
    "register a taken name": Case("POST", V3 + "/register", register_taken, status=400),
    "createRoom with an unknown version": simple(
        "POST", V3 + "/createRoom", V3 + "/createRoom", {"room_version": "999"}, status=400
    ),
    "thirdparty protocols": simple(
        "GET", V3 + "/thirdparty/protocols", V3 + "/thirdparty/protocols"
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_response_body_matches_the_spec_schema(world: World, name: str):
    case = CASES[name]
    response = await case.call(world)
    if response.status_code in (404, 405) and errcode(response) == "M_UNRECOGNIZED":
        pytest.fail(f"the server does not implement {case.method} {case.spec_path} yet")
    assert response.status_code == case.status, (
        f"{case.method} {case.spec_path}: expected {case.status}, got "
        f"{response.status_code} {response.text[:500]}"
    )
    check_shape(case.spec_path, case.method, response)


def test_the_validator_rejects_a_body_that_breaks_the_spec():
    """A guard on the harness itself: a wrong body really fails validation."""
    validator = validator_for(V3 + "/rooms/{roomId}/messages", "GET", 200)
    assert not list(validator.iter_errors({"chunk": [], "start": "s"}))
    assert list(validator.iter_errors({"chunk": [{"type": 5}], "start": "s"}))
    assert list(validator.iter_errors({"start": "s"}))
