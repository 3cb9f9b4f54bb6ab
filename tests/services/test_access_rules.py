"""Room access rules as pure decisions over a room's facts (no server needed).

External partners live on another server, so the membership rules are proven
here with facts built by hand; tests/http/test_room_access_rules.py proves the
rules a single server can show end to end.
"""

import pytest

from sceau.errors import MatrixError
from sceau.services.events import EventSpec
from sceau.services.policy.access_rules import (
    ACCESS_RULES,
    DIRECT,
    RESTRICTED,
    UNRESTRICTED,
    RoomFacts,
    check_event,
)
from sceau.services.policy.room_admins import succession_power_levels
from sceau.services.policy.room_creation import merged_power_levels

AGENT, OTHER, EXTERNAL = "@agent:agents.test", "@other:agents.test", "@ext:externes.test"


def is_external(user_id: str) -> bool:
    return user_id.endswith(":externes.test")


def facts(rule, members=None, join_rule="invite", published=False, pending=0):
    return RoomFacts(
        rule=rule,
        join_rule=join_rule,
        published=published,
        members=members if members is not None else {AGENT: "join"},
        pending_email_invites=pending,
    )


def member(target, membership, sender=AGENT, **extra):
    return EventSpec("m.room.member", {"membership": membership, **extra}, sender, state_key=target)


def refused_code(room, spec) -> str | None:
    try:
        check_event(room, spec, is_external)
    except MatrixError as exc:
        assert exc.status == 403 and exc.errcode == "M_FORBIDDEN"
        assert " / " in exc.error, "the message is given in French and in English"
        return str(exc.extra["policy"])
    return None


def test_restricted_rooms_refuse_to_invite_or_admit_externals():
    room = facts(RESTRICTED)
    assert refused_code(room, member(EXTERNAL, "invite")) == "EXTERNAL_NOT_ALLOWED"
    assert refused_code(room, member(EXTERNAL, "join", sender=EXTERNAL)) == "EXTERNAL_NOT_ALLOWED"
    assert refused_code(room, member(OTHER, "invite")) is None


def test_unrestricted_rooms_admit_externals_only_by_invitation():
    room = facts(UNRESTRICTED)
    assert refused_code(room, member(EXTERNAL, "invite")) is None
    uninvited = member(EXTERNAL, "join", sender=EXTERNAL)
    assert refused_code(room, uninvited) == "EXTERNAL_NEEDS_INVITE"
    invited = facts(UNRESTRICTED, {AGENT: "join", EXTERNAL: "invite"})
    assert refused_code(invited, uninvited) is None


@pytest.mark.parametrize(
    "content",
    [{"users_default": 50}, {"users": {AGENT: 100, EXTERNAL: 10}}],
)
def test_unrestricted_rooms_never_give_externals_power(content):
    spec = EventSpec("m.room.power_levels", content, AGENT, state_key="")
    assert refused_code(facts(UNRESTRICTED), spec) == "EXTERNAL_POWER"
    assert refused_code(facts(RESTRICTED), spec) is None


def test_a_direct_chat_keeps_two_members_counting_a_pending_email_invite():
    two = facts(DIRECT, {AGENT: "join", OTHER: "invite"})
    assert refused_code(two, member("@third:agents.test", "invite")) == "DIRECT_ROOM_FULL"
    assert refused_code(two, member(OTHER, "join", sender=OTHER)) is None
    one_and_email = facts(DIRECT, pending=1)
    assert refused_code(one_and_email, member(OTHER, "invite")) == "DIRECT_ROOM_FULL"
    claiming = member(OTHER, "join", sender=OTHER, third_party_invite={"signed": {}})
    assert refused_code(one_and_email, claiming) is None
    email_invite = EventSpec("m.room.third_party_invite", {"display_name": "x"}, AGENT, "tok")
    assert refused_code(two, email_invite) == "DIRECT_ROOM_FULL"
    assert refused_code(facts(DIRECT), email_invite) is None


@pytest.mark.parametrize("kind", ["m.room.name", "m.room.topic", "m.room.avatar"])
def test_a_direct_chat_has_no_name_topic_or_avatar(kind):
    spec = EventSpec(kind, {"name": "x"}, AGENT, state_key="")
    assert refused_code(facts(DIRECT), spec) == "DIRECT_ROOM_PROFILE"
    assert refused_code(facts(RESTRICTED), spec) is None


def test_a_direct_chat_never_becomes_public_and_a_forum_stays_public():
    public = EventSpec("m.room.join_rules", {"join_rule": "public"}, AGENT, state_key="")
    assert refused_code(facts(DIRECT), public) == "DIRECT_ROOM_NOT_PUBLIC"
    private = EventSpec("m.room.join_rules", {"join_rule": "invite"}, AGENT, state_key="")
    assert refused_code(facts(RESTRICTED, join_rule="public"), private) == "FORUM_STAYS_PUBLIC"
    encrypt = EventSpec("m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}, AGENT, "")
    assert refused_code(facts(RESTRICTED, join_rule="public"), encrypt) == "FORUM_NOT_ENCRYPTED"
    assert refused_code(facts(RESTRICTED), encrypt) is None


@pytest.mark.parametrize(
    ("current", "new", "published", "code"),
    [
        (RESTRICTED, UNRESTRICTED, False, None),
        (RESTRICTED, UNRESTRICTED, True, "RULE_CHANGE_WHILE_PUBLISHED"),
        (UNRESTRICTED, RESTRICTED, False, "RULE_CHANGE_FORBIDDEN"),
        (RESTRICTED, DIRECT, False, "RULE_CHANGE_FORBIDDEN"),
        (DIRECT, RESTRICTED, False, "RULE_CHANGE_FORBIDDEN"),
        (RESTRICTED, "open", False, "INVALID_RULE"),
        (RESTRICTED, RESTRICTED, False, None),
    ],
)
def test_the_only_rule_change_is_restricted_to_unrestricted(current, new, published, code):
    spec = EventSpec(ACCESS_RULES, {"rule": new}, AGENT, state_key="")
    assert refused_code(facts(current, published=published), spec) == code


def test_creators_may_raise_but_not_lower_invite_and_state_default():
    levels = merged_power_levels({"invite": 75, "events": {"m.room.topic": 0}})
    assert levels["invite"] == 75
    assert levels["state_default"] == 100
    assert levels["events"]["m.room.topic"] == 0
    assert levels["events"]["m.call.member"] == 0
    for lowered in ({"invite": 0}, {"state_default": 50}):
        with pytest.raises(MatrixError) as refused:
            merged_power_levels(lowered)
        assert refused.value.status == 400
        assert refused.value.extra["policy"] == "POWER_LEVELS_LOWERED"


def test_succession_never_promotes_externals():
    content = {"users": {AGENT: 100}, "users_default": 0}
    levels = {AGENT: 100, OTHER: 0, EXTERNAL: 0}
    new = succession_power_levels(content, levels, AGENT, is_external)
    assert new == {"users": {AGENT: 100, OTHER: 100}, "users_default": 0}
    only_external = succession_power_levels(content, {AGENT: 100, EXTERNAL: 0}, AGENT, is_external)
    assert only_external is None
