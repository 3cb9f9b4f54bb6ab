"""The allowlist: nobody while disabled, then exactly the listed names, port included."""

import pytest

from sceau.config import FederationConfig
from sceau.errors import MatrixError
from sceau.services.federation.policy import FederationPolicy


def test_nobody_is_allowed_while_federation_is_disabled():
    policy = FederationPolicy("here.example", FederationConfig(enabled=False, allow=["a.example"]))
    assert not policy.is_allowed("a.example")
    assert policy.allowed_servers == frozenset()
    with pytest.raises(MatrixError, match="disabled"):
        policy.check("a.example")


def test_names_are_compared_exactly_port_included():
    policy = FederationPolicy(
        "here.example", FederationConfig(enabled=True, allow=["a.example:8448"])
    )
    assert policy.is_allowed("a.example:8448")
    assert not policy.is_allowed("a.example")
    assert not policy.is_allowed("A.example:8448")
    assert not policy.is_allowed("a.example:8449")


def test_refusal_names_the_server_and_is_403():
    policy = FederationPolicy("here.example", FederationConfig(enabled=True, allow=["a.example"]))
    with pytest.raises(MatrixError) as raised:
        policy.check("evil.example")
    assert raised.value.status == 403
    assert raised.value.errcode == "M_FORBIDDEN"
    assert "evil.example" in raised.value.error
    policy.check("a.example")
    policy.check("here.example")


def test_this_server_is_never_a_federation_peer_of_itself():
    policy = FederationPolicy(
        "here.example", FederationConfig(enabled=True, allow=["here.example"])
    )
    assert not policy.is_allowed("here.example")


@pytest.mark.parametrize("bad", [["not a name"], ["a.example:99999"], [""]])
def test_invalid_names_in_the_allowlist_stop_start_up(bad):
    with pytest.raises(ValueError):
        FederationConfig(enabled=True, allow=bad)


def test_pinned_keys_must_be_ed25519_and_base64():
    with pytest.raises(ValueError):
        FederationConfig(pinned_keys={"a.example": {"rsa:1": "AAAA"}})
    with pytest.raises(ValueError):
        FederationConfig(pinned_keys={"a.example": {"ed25519:1": "short"}})


def test_a_destination_refused_here_is_named_with_the_setting_that_refuses_it():
    from sceau.services.federation.client import DestinationNotAllowed

    refused = DestinationNotAllowed("off.example")
    assert "off.example" in refused.message and "federation.allow" in refused.message


@pytest.mark.parametrize(
    ("status", "expected"),
    [(403, (403, "M_FORBIDDEN")), (404, (502, "M_UNKNOWN")), (None, (502, "M_UNKNOWN"))],
)
def test_a_remote_refusal_reaches_the_user_as_403_and_a_failure_as_502(status, expected):
    from sceau.services.federation.client import FederationRequestError
    from sceau.services.federation.remote import unreachable

    error = unreachable(FederationRequestError("b.example", "x", status=status))
    assert (error.status, error.errcode) == expected
    assert "b.example" in error.error
