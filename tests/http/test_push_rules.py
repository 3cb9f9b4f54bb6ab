"""Push rules: the default ruleset, user rules, enabled/actions, pushers."""

import urllib.parse


def _ids(rules, kind):
    return [r["rule_id"] for r in rules["global"][kind]]


async def test_default_ruleset_has_every_kind_and_spec_rules(user_factory):
    alice = await user_factory("alice")
    rules = await alice.ok("GET", "/pushrules/")
    assert set(rules["global"]) == {"override", "content", "room", "sender", "underride"}
    assert _ids(rules, "override")[0] == ".m.rule.master"
    assert ".m.rule.message" in _ids(rules, "underride")
    assert all(r["default"] for r in rules["global"]["override"])
    assert (await alice.ok("GET", "/pushrules/global/")) == rules["global"]


async def test_user_rule_is_created_read_and_deleted(user_factory):
    alice = await user_factory("alice")
    body = {"pattern": "fromage", "actions": ["notify"]}
    await alice.ok("PUT", "/pushrules/global/content/fromage", json=body)
    rule = await alice.ok("GET", "/pushrules/global/content/fromage")
    assert rule == {
        "rule_id": "fromage",
        "default": False,
        "enabled": True,
        "pattern": "fromage",
        "actions": ["notify"],
    }
    rules = await alice.ok("GET", "/pushrules/")
    content = _ids(rules, "content")
    assert content.index("fromage") < content.index(".m.rule.contains_user_name")
    await alice.ok("DELETE", "/pushrules/global/content/fromage")
    missing = await alice.request("GET", "/pushrules/global/content/fromage")
    assert missing.status_code == 404
    assert missing.json()["errcode"] == "M_NOT_FOUND"


async def test_user_override_rules_sit_between_master_and_other_defaults(user_factory):
    alice = await user_factory("alice")
    await alice.ok(
        "PUT",
        "/pushrules/global/override/bruit",
        json={
            "conditions": [{"kind": "event_match", "key": "type", "pattern": "x"}],
            "actions": [],
        },
    )
    ids = _ids(await alice.ok("GET", "/pushrules/"), "override")
    assert ids[:3] == [".m.rule.master", "bruit", ".m.rule.suppress_notices"]


async def test_before_and_after_place_rules(user_factory):
    alice = await user_factory("alice")
    for name in ("a", "b"):
        await alice.ok(
            "PUT", f"/pushrules/global/content/{name}", json={"pattern": name, "actions": []}
        )
    await alice.ok(
        "PUT", "/pushrules/global/content/c?before=a", json={"pattern": "c", "actions": []}
    )
    await alice.ok(
        "PUT", "/pushrules/global/content/d?after=a", json={"pattern": "d", "actions": []}
    )
    ids = [
        i for i in _ids(await alice.ok("GET", "/pushrules/"), "content") if not i.startswith(".")
    ]
    assert ids == ["c", "a", "d", "b"]
    unknown = await alice.request(
        "PUT", "/pushrules/global/content/e?before=zzz", json={"pattern": "e", "actions": []}
    )
    assert unknown.status_code == 404
    relative_to_default = await alice.request(
        "PUT",
        "/pushrules/global/content/e?after=.m.rule.contains_user_name",
        json={"pattern": "e", "actions": []},
    )
    assert relative_to_default.status_code == 400


async def test_room_and_sender_rules_use_their_ids(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    quoted = urllib.parse.quote(room)
    await alice.ok("PUT", f"/pushrules/global/room/{quoted}", json={"actions": []})
    assert _ids(await alice.ok("GET", "/pushrules/"), "room") == [room]
    bad = await alice.request("PUT", "/pushrules/global/sender/not-a-user", json={"actions": []})
    assert bad.status_code == 400


async def test_invalid_rules_are_rejected(user_factory):
    alice = await user_factory("alice")
    cases = [
        ("content/x", {"actions": ["notify"]}),
        ("override/x", {"conditions": "nope", "actions": []}),
        ("override/x", {"conditions": []}),
        ("override/x", {"actions": ["explode"]}),
        ("override/.m.rule.master", {"actions": []}),
        ("nonsense/x", {"actions": []}),
    ]
    for path, body in cases:
        response = await alice.request("PUT", f"/pushrules/global/{path}", json=body)
        assert response.status_code == 400, (path, body, response.text)


async def test_default_rules_cannot_be_deleted(user_factory):
    alice = await user_factory("alice")
    response = await alice.request("DELETE", "/pushrules/global/override/.m.rule.master")
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INVALID_PARAM"
    missing = await alice.request("DELETE", "/pushrules/global/override/.m.rule.nothing")
    assert missing.status_code == 404


async def test_default_rule_enabled_and_actions_can_change(user_factory):
    alice = await user_factory("alice")
    base = "/pushrules/global/override/.m.rule.master"
    assert await alice.ok("GET", f"{base}/enabled") == {"enabled": False}
    await alice.ok("PUT", f"{base}/enabled", json={"enabled": True})
    assert await alice.ok("GET", f"{base}/enabled") == {"enabled": True}
    actions = ["notify", {"set_tweak": "sound", "value": "bing"}]
    underride = "/pushrules/global/underride/.m.rule.message"
    await alice.ok("PUT", f"{underride}/actions", json={"actions": actions})
    assert await alice.ok("GET", f"{underride}/actions") == {"actions": actions}
    rule = await alice.ok("GET", underride)
    assert rule["actions"] == actions and rule["default"] is True
    # Other users keep the defaults.
    bob = await user_factory("bob")
    assert await bob.ok("GET", f"{base}/enabled") == {"enabled": False}


async def test_user_rule_enabled_and_actions_can_change(user_factory):
    alice = await user_factory("alice")
    await alice.ok("PUT", "/pushrules/global/content/x", json={"pattern": "x", "actions": []})
    await alice.ok("PUT", "/pushrules/global/content/x/enabled", json={"enabled": False})
    await alice.ok("PUT", "/pushrules/global/content/x/actions", json={"actions": ["notify"]})
    rule = await alice.ok("GET", "/pushrules/global/content/x")
    assert rule["enabled"] is False and rule["actions"] == ["notify"]
    # Replacing the rule keeps it disabled.
    await alice.ok("PUT", "/pushrules/global/content/x", json={"pattern": "y", "actions": []})
    rule = await alice.ok("GET", "/pushrules/global/content/x")
    assert rule["enabled"] is False and rule["pattern"] == "y"


async def test_enabled_and_actions_bodies_are_checked(user_factory):
    alice = await user_factory("alice")
    base = "/pushrules/global/override/.m.rule.master"
    assert (
        await alice.request("PUT", f"{base}/enabled", json={"enabled": "yes"})
    ).status_code == 400
    assert (await alice.request("PUT", f"{base}/enabled", json={})).status_code == 400
    assert (await alice.request("PUT", f"{base}/actions", json={"actions": 3})).status_code == 400
    missing = await alice.request(
        "PUT", "/pushrules/global/override/nothing/enabled", json={"enabled": True}
    )
    assert missing.status_code == 404


async def test_push_rule_change_reaches_sync_as_account_data(user_factory):
    alice = await user_factory("alice")
    first = await alice.ok("GET", "/sync")
    quiet = await alice.ok("GET", f"/sync?since={first['next_batch']}")
    assert "account_data" not in quiet
    await alice.ok("PUT", "/pushrules/global/content/x", json={"pattern": "x", "actions": []})
    changed = await alice.ok("GET", f"/sync?since={quiet['next_batch']}")
    pushed = {e["type"]: e["content"] for e in changed["account_data"]["events"]}
    assert "x" in _ids(pushed["m.push_rules"], "content")


def _pusher(**extra):
    body = {
        "kind": "http",
        "app_id": "fr.sceau.web",
        "pushkey": "clé-1",
        "app_display_name": "Sceau",
        "device_display_name": "Portable",
        "lang": "fr",
        "data": {"url": "https://push.example/_matrix/push/v1/notify"},
    }
    body.update(extra)
    return body


async def test_pusher_is_stored_listed_and_deleted(user_factory):
    alice = await user_factory("alice")
    assert await alice.ok("GET", "/pushers") == {"pushers": []}
    await alice.ok("POST", "/pushers/set", json=_pusher(profile_tag="tag"))
    listed = (await alice.ok("GET", "/pushers"))["pushers"]
    assert len(listed) == 1
    assert listed[0]["pushkey"] == "clé-1"
    assert listed[0]["data"]["url"].startswith("https://")
    assert listed[0]["profile_tag"] == "tag"
    await alice.ok(
        "POST", "/pushers/set", json={"kind": None, "app_id": "fr.sceau.web", "pushkey": "clé-1"}
    )
    assert await alice.ok("GET", "/pushers") == {"pushers": []}


async def test_pusher_without_append_replaces_other_users_pushers(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    await alice.ok("POST", "/pushers/set", json=_pusher())
    await bob.ok("POST", "/pushers/set", json=_pusher(append=True))
    assert len((await alice.ok("GET", "/pushers"))["pushers"]) == 1
    await bob.ok("POST", "/pushers/set", json=_pusher())
    assert (await alice.ok("GET", "/pushers"))["pushers"] == []
    assert len((await bob.ok("GET", "/pushers"))["pushers"]) == 1


async def test_invalid_pushers_are_rejected(user_factory):
    alice = await user_factory("alice")
    cases = [
        _pusher(data={}),
        _pusher(kind="carrier-pigeon"),
        _pusher(data="x"),
        {k: v for k, v in _pusher().items() if k != "app_id"},
        {k: v for k, v in _pusher().items() if k != "kind"},
        _pusher(append="yes"),
        _pusher(app_id="x" * 65),
    ]
    for body in cases:
        response = await alice.request("POST", "/pushers/set", json=body)
        assert response.status_code == 400, (body, response.text)
    assert await alice.ok("GET", "/pushers") == {"pushers": []}


async def test_deactivation_removes_pushers(register, services):
    alice = await register("alice", "un mot de passe solide")
    await alice.ok("POST", "/pushers/set", json=_pusher())
    assert len(await services.push.pushers(alice.user_id)) == 1
    auth = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": alice.user_id},
        "password": "un mot de passe solide",
    }
    await alice.ok("POST", "/account/deactivate", json={"auth": auth})
    assert await services.push.pushers(alice.user_id) == []


async def test_a_pusher_for_a_gateway_the_admin_has_not_approved_is_refused(register):
    alice = await register("alice")
    body = {
        "app_id": "fr.gouv.tchap",
        "pushkey": "abc",
        "kind": "http",
        "app_display_name": "Tchap",
        "device_display_name": "Téléphone",
        "lang": "fr",
        "data": {"url": "https://sygnal.elsewhere.example/_matrix/push/v1/notify"},
    }
    response = await alice.request("POST", "/pushers/set", json=body)
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INVALID_PARAM"
    assert (await alice.ok("GET", "/pushers"))["pushers"] == []
