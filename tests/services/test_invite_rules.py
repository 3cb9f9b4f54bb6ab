"""Domain invite rules: which servers' users may invite which servers' users."""

import pytest

from sceau.config import InviteRulesConfig
from sceau.errors import MatrixError
from sceau.services.policy.invite_rules import InviteRules

MAPPING = {
    "externes.test": ["agents.test"],
    "agents.test": ["agents.test", "externes.test", "justice.test"],
}


def refused(rules: InviteRules, inviter: str, invitee: str) -> str | None:
    try:
        rules.check(inviter, invitee)
    except MatrixError as exc:
        assert (exc.status, exc.errcode, exc.extra["policy"]) == (403, "M_FORBIDDEN", "INVITE_RULE")
        return exc.error
    return None


def test_the_mapping_says_whom_each_server_may_invite():
    rules = InviteRules(InviteRulesConfig(domain_mapping=MAPPING))
    assert refused(rules, "@a:agents.test", "@b:justice.test") is None
    assert refused(rules, "@x:externes.test", "@a:agents.test") is None
    message = refused(rules, "@x:externes.test", "@j:justice.test")
    assert message is not None
    assert "externes.test" in message and "justice.test" in message


@pytest.mark.parametrize(("allow", "expected_refusal"), [(True, False), (False, True)])
def test_unmapped_inviters_follow_allow_unmapped_inviters(allow, expected_refusal):
    rules = InviteRules(InviteRulesConfig(domain_mapping=MAPPING, allow_unmapped_inviters=allow))
    assert (refused(rules, "@c:culture.test", "@a:agents.test") is not None) is expected_refusal
