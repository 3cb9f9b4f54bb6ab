"""Cached push rulesets share the default rules that name no user.

A ruleset holds about 25 default rules; only a few (mentions, invites for
the user) depend on who owns it, so thousands of cached rulesets must not
each hold their own copy of the rest.
"""

from typing import Any

from sceau.homeserver import Services


def _by_id(ruleset: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["rule_id"]: rule for rules in ruleset["global"].values() for rule in rules}


async def test_two_users_on_the_defaults_hold_the_same_objects_for_rules_naming_no_one(
    services: Services,
) -> None:
    sets = await services.push.rulesets(["@alice:test", "@bob:test"])
    alice, bob = _by_id(sets["@alice:test"]), _by_id(sets["@bob:test"])
    same_object = {rule_id for rule_id in alice if alice[rule_id] is bob[rule_id]}
    equal = {rule_id for rule_id in alice if alice[rule_id] == bob[rule_id]}
    assert same_object == equal
    assert ".m.rule.suppress_notices" in same_object
    assert ".m.rule.invite_for_me" not in same_object
    assert ".m.rule.is_user_mention" not in same_object


async def test_a_default_rule_one_user_disables_stays_enabled_for_the_others(
    services: Services,
) -> None:
    await services.push.rulesets(["@bob:test"])
    await services.push.set_enabled("@alice:test", "override", ".m.rule.suppress_notices", False)
    sets = await services.push.rulesets(["@alice:test", "@bob:test"])
    assert _by_id(sets["@alice:test"])[".m.rule.suppress_notices"]["enabled"] is False
    assert _by_id(sets["@bob:test"])[".m.rule.suppress_notices"]["enabled"] is True
