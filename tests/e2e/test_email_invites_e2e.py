"""An external partner invited by email on the agents' server joins from the partners' server.

Two real ``sceau serve`` processes federating over TLS, with the same policy:
interieur.gouv.fr addresses belong to A, every other address to B (the
external partners' server). A real SMTP server (aiosmtpd) receives what B
sends. The agent invites an address by email on A; B holds the invitation and
mails it; the partner registers on B by email alone, sees the invitation, joins
the unrestricted room and talks with the agent; a restricted room refuses them.
"""

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port
from tests.e2e.federation_servers import FederatedServer, FederationLab
from tests.e2e.test_federation_rooms import has_body, send, sync_until
from tests.e2e.test_federation_tls import Client, register
from tests.smtp_support import Inbox

pytestmark = pytest.mark.e2e

PARTNER = "partner@example.org"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, smtp) -> Iterator[FederationLab]:
    lab = FederationLab(tmp_path_factory.mktemp("email-invites"))
    agents, partners = lab.declare(), lab.declare(registration={"mode": "email"})
    policy = {
        "email_routing": {
            "patterns": [{"domain": "interieur.gouv.fr", "server": agents.name}],
            "external_server": partners.name,
        },
        "room_access_rules": True,
    }
    email = {"smtp_host": "127.0.0.1", "smtp_port": smtp[1], "from_address": "no@sceau.test"}
    for server in lab.servers:
        server.config.update(policy=policy, email=email)
    try:
        lab.start_all()
        yield lab
    finally:
        lab.stop_all()


async def mail_to(inbox: Inbox, address: str, count: int) -> str:
    """The body of the ``count``-th message to ``address``, once it arrived."""
    for _ in range(100):
        found = [m for m in inbox.messages if m["To"] == address]
        if len(found) >= count:
            return str(found[count - 1].get_payload(decode=True).decode())
        await asyncio.sleep(0.05)
    raise AssertionError(f"no message #{count} to {address}")


async def register_by_email(server: FederatedServer, inbox: Inbox, address: str) -> Client:
    """requestToken, the emailed link, then /register with no username."""
    async with httpx.AsyncClient(base_url=server.client_url, timeout=30) as http:
        body = {"client_secret": "s3cret", "email": address, "send_attempt": 1}
        asked = await http.post("/_matrix/client/v3/register/email/requestToken", json=body)
        assert asked.status_code == 200, asked.text
        text = await mail_to(inbox, address, 2)  # the invitation came first
        link = re.search(r"https?://\S+submit_token\S+", text)
        assert link, text
        assert (await http.get(link.group(0))).status_code == 200
        auth = {
            "type": "m.login.email.identity",
            "threepid_creds": {"sid": asked.json()["sid"], "client_secret": "s3cret"},
        }
        done = await http.post(
            "/_matrix/client/v3/register", json={"password": PASSWORD, "auth": auth}
        )
        assert done.status_code == 200, done.text
        data: dict[str, Any] = done.json()
    return Client(server, data["user_id"], data["access_token"], data["device_id"])


async def email_invite(agent: Client, room_id: str, address: str) -> httpx.Response:
    body = {"id_server": agent.server.name, "medium": "email", "address": address}
    return await agent.http.post(f"/_matrix/client/v3/rooms/{room_id}/invite", json=body)


async def test_a_partner_invited_by_email_registers_on_the_partners_server_and_joins(lab, smtp):
    inbox = smtp[0]
    agents, partners = lab.servers
    agent = await register(agents, "agent")
    room_id = (await agent.ok("POST", "/createRoom", json={"name": "Projet"}))["room_id"]
    rule = {"rule": "unrestricted"}
    await agent.ok("PUT", f"/rooms/{room_id}/state/im.vector.room.access_rules/", json=rule)
    forum = (await agent.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]

    refused = await email_invite(agent, forum, PARTNER)
    assert refused.status_code == 403 and refused.json()["policy"] == "EXTERNAL_NOT_ALLOWED"
    invited = await email_invite(agent, room_id, PARTNER)
    assert invited.status_code == 200, invited.text
    assert agent.user_id in await mail_to(inbox, PARTNER, 1)
    state = await agent.ok("GET", f"/rooms/{room_id}/state")
    [pending] = [e for e in state if e["type"] == "m.room.third_party_invite"]
    assert pending["content"]["display_name"] == "p***@e***.org"
    assert PARTNER not in str(state)

    partner = await register_by_email(partners, inbox, PARTNER)
    assert partner.user_id.endswith(":" + partners.name)
    await sync_until(
        partner, lambda b: room_id in b.get("rooms", {}).get("invite", {}), "the invitation"
    )
    await partner.ok("POST", f"/join/{room_id}?server_name={agents.name}", json={})
    await send(agent, room_id, {"msgtype": "m.text", "body": "Bienvenue"}, "e1")
    await sync_until(partner, has_body(room_id, "Bienvenue"), "the agent's message")
    await send(partner, room_id, {"msgtype": "m.text", "body": "Merci"}, "e2")
    await sync_until(agent, has_body(room_id, "Merci"), "the partner's reply")

    closed = await partner.http.post(
        f"/_matrix/client/v3/join/{forum}?server_name={agents.name}", json={}
    )
    assert closed.status_code == 403, closed.text
    assert "closed to external partners" in closed.json()["error"]
