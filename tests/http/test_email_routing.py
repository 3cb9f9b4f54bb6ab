"""Which server an address belongs to: policy.email_routing, served as the identity /info.

Every server of a federation carries the same routing, so each must give the
same answer for the same address; addresses no agent pattern matches belong
to the external partners' server, which admits people only by invitation.
"""

from pathlib import Path
from typing import Any

import httpx
import pytest

from sceau.clock import RealClock
from sceau.homeserver import build_app, build_services
from sceau.protocol.signing import generate_signing_key
from tests.conftest import FAST_HASHER, make_config
from tests.http.test_email_registration import error, request_token

INFO = "/_matrix/identity/api/v1/info"
INTERNAL = "/_matrix/identity/api/v1/internal-info"

ROUTING = {
    "entries": {"Prefet.Special@interieur.gouv.fr": {"server": "elysee.test"}},
    "patterns": [
        {"domain": "interieur.gouv.fr", "server": "test.local"},
        {"domain": "*.justice.gouv.fr", "server": "justice.test"},
        {"domain": "*.gouv.fr", "server": "agents.test"},
        {"domain": "prestataire.fr", "server": "externes.test", "requires_invite": True},
    ],
    "external_server": "externes.test",
}


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"policy": {"email_routing": ROUTING}}


async def info(client: httpx.AsyncClient, address: str, path: str = INFO) -> dict[str, Any]:
    response = await client.get(path, params={"medium": "email", "address": address})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    return response.json()


@pytest.mark.parametrize(
    ("address", "server"),
    [
        ("prefet.special@interieur.gouv.fr", "elysee.test"),  # exact entry beats the pattern
        ("Marie.Curie@Interieur.gouv.fr", "test.local"),
        ("juge@tribunal.justice.gouv.fr", "justice.test"),  # first matching pattern wins
        ("agent@culture.gouv.fr", "agents.test"),
        ("dev@prestataire.fr", "externes.test"),
        ("someone@gmail.com", "externes.test"),  # unmatched: the external server
    ],
)
async def test_info_names_the_server_of_each_address(client, address, server):
    body = await info(client, address)
    assert body["hs"] == server
    assert body["invited"] is False
    assert "requires_invite" not in body


@pytest.mark.parametrize(
    ("address", "requires_invite"),
    [("agent@culture.gouv.fr", False), ("dev@prestataire.fr", True), ("x@gmail.com", True)],
)
async def test_internal_info_adds_whether_an_invitation_is_needed(client, address, requires_invite):
    body = await info(client, address, INTERNAL)
    assert body["requires_invite"] is requires_invite
    assert body["invited"] is False


@pytest.mark.parametrize("path", [INFO, INTERNAL])
async def test_identity_info_checks_its_parameters(client, path):
    missing = await client.get(path, params={"medium": "email"})
    error(missing, 400, "M_MISSING_PARAMS")
    phone = await client.get(path, params={"medium": "msisdn", "address": "33600000000"})
    error(phone, 400, "M_INVALID_PARAM")
    garbage = await client.get(path, params={"medium": "email", "address": "not an address"})
    error(garbage, 400, "M_INVALID_PARAM")


async def _services_for(tmp_path: Path, db: Any, server_name: str, **overrides: Any) -> Any:
    config = make_config(tmp_path, server_name=server_name, **overrides)
    return await build_services(
        config,
        clock=RealClock(),
        db=db,
        signing_key=generate_signing_key(b"\x02" * 32, "test"),
        password_hasher=FAST_HASHER,
    )


async def test_every_server_of_the_federation_gives_the_same_answer(db, tmp_path):
    policy = {"policy": {"email_routing": ROUTING}}
    answers = []
    for name in ("test.local", "justice.test", "externes.test"):
        hs = await _services_for(tmp_path / name, db, name, **policy)
        transport = httpx.ASGITransport(app=build_app(hs))
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
            answers.append(
                [
                    await info(http, a)
                    for a in ("a@interieur.gouv.fr", "b@x.justice.gouv.fr", "c@d.fr")
                ]
            )
    assert answers[0] == answers[1] == answers[2]


async def test_internal_info_refuses_clients_outside_the_configured_networks(db, tmp_path):
    outside = {"email_routing": {**ROUTING, "internal_info_networks": ["10.0.0.0/8"]}}
    hs = await _services_for(tmp_path, db, "test.local", policy=outside)
    transport = httpx.ASGITransport(app=build_app(hs))  # the client is 127.0.0.1
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
        response = await http.get(INTERNAL, params={"medium": "email", "address": "a@b.fr"})
        error(response, 403, "M_FORBIDDEN")
        assert (await info(http, "a@b.fr"))["hs"] == "externes.test"


async def test_no_answer_when_no_server_takes_the_address(db, tmp_path):
    routing = {"email_routing": {"patterns": [{"domain": "gouv.fr", "server": "test.local"}]}}
    hs = await _services_for(tmp_path, db, "test.local", policy=routing)
    transport = httpx.ASGITransport(app=build_app(hs))
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
        assert await info(http, "someone@gmail.com") == {}
        email_server = await http.get("/_sceau/v1/email_server", params={"address": "a@b.com"})
        error(email_server, 404, "M_NOT_FOUND")


async def test_registration_follows_the_routing_and_needs_an_invitation_for_externals(
    db, tmp_path, smtp
):
    inbox, port = smtp
    overrides = {
        "server_name": "externes.test",
        "public_baseurl": "https://sceau.test/",
        "registration": {"mode": "email"},
        "email": {"smtp_host": "127.0.0.1", "smtp_port": port, "from_address": "no@sceau.test"},
        "policy": {"email_routing": ROUTING},
    }
    name = overrides.pop("server_name")
    hs = await _services_for(tmp_path, db, name, **overrides)
    transport = httpx.ASGITransport(app=build_app(hs))
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
        agent = await request_token(http, email="agent@culture.gouv.fr")
        body = error(agent, 403, "M_THREEPID_DENIED")
        assert body["server_name"] == "agents.test"
        partner = await request_token(http, email="dev@prestataire.fr")
        assert "invited" in error(partner, 403, "M_THREEPID_DENIED")["error"]
    assert inbox.messages == []
