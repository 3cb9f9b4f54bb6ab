"""An external partner invited by email on the agents' server joins from the partners' server.

Two real ``sceau serve`` processes federating over TLS, with the same policy:
interieur.gouv.fr addresses belong to A, every other address to B (the
external partners' server). A real SMTP server (aiosmtpd) receives what B
sends. The agent invites an address by email on A; B holds the invitation and
mails it; the partner registers on B by email alone, sees the invitation, joins
the unrestricted room and talks with the agent; a restricted room refuses them.

The same two servers show the agents' side: an agent registers by email alone
on the server the address maps to, with an ID and a name derived from it, and
logs in with the address; other addresses are refused; a DM refuses a third
member; a room whose last admin leaves gets a new one; and an expired account
renews through its emailed link.
"""

import asyncio
import re
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port
from tests.e2e.federation_servers import (
    Client,
    FederatedServer,
    FederationLab,
    has_body,
    send,
    sync_until,
)
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
    email_mode = {"mode": "email"}
    validity = {"enabled": True, "period_ms": 30 * 86_400_000}
    agents = lab.declare(registration=email_mode, account_validity=validity)
    partners = lab.declare(registration=email_mode)
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


async def register_by_email(
    server: FederatedServer, inbox: Inbox, address: str, nth: int = 2
) -> Client:
    """requestToken, the emailed link (the ``nth`` mail to the address), then /register with
    no username."""
    async with httpx.AsyncClient(base_url=server.client_url, timeout=30) as http:
        body = {"client_secret": "s3cret", "email": address, "send_attempt": 1}
        asked = await http.post("/_matrix/client/v3/register/email/requestToken", json=body)
        assert asked.status_code == 200, asked.text
        text = await mail_to(inbox, address, nth)
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
    agent = await register_by_email(agents, inbox, "agent@interieur.gouv.fr", nth=1)
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


async def request_token(server: FederatedServer, address: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.client_url, timeout=30) as http:
        body = {"client_secret": "s3cret", "email": address, "send_attempt": 1}
        return await http.post("/_matrix/client/v3/register/email/requestToken", json=body)


async def test_an_agent_registers_by_email_alone_on_the_server_her_address_maps_to(lab, smtp):
    inbox = smtp[0]
    agents, partners = lab.servers
    address = "marie.curie@interieur.gouv.fr"
    for server in lab.servers:  # every server gives the same answer
        async with httpx.AsyncClient(base_url=server.client_url, timeout=30) as http:
            query = {"medium": "email", "address": address}
            info = await http.get("/_matrix/identity/api/v1/info", params=query)
        assert info.json()["hs"] == agents.name
    elsewhere = await request_token(partners, address)
    assert (elsewhere.status_code, elsewhere.json()["errcode"]) == (403, "M_THREEPID_DENIED")
    assert elsewhere.json()["server_name"] == agents.name
    stranger = await request_token(agents, "quelqu.un@example.org")
    assert (stranger.status_code, stranger.json()["errcode"]) == (403, "M_THREEPID_DENIED")

    marie = await register_by_email(agents, inbox, address, nth=1)
    assert marie.user_id == f"@marie.curie-interieur.gouv.fr:{agents.name}"
    profile = await marie.ok("GET", f"/profile/{marie.user_id}")
    assert profile["displayname"] == "Marie Curie [Interieur]"
    identifier = {"type": "m.id.thirdparty", "medium": "email", "address": address}
    body = {"type": "m.login.password", "identifier": identifier, "password": PASSWORD}
    async with httpx.AsyncClient(base_url=agents.client_url, timeout=30) as http:
        login = await http.post("/_matrix/client/v3/login", json=body)
    assert login.status_code == 200, login.text
    assert login.json()["user_id"] == marie.user_id


async def test_a_dm_refuses_a_third_member_and_a_room_outlives_its_last_admin(lab, smtp):
    inbox = smtp[0]
    agents, _ = lab.servers
    marie, paul, anne = [
        await register_by_email(agents, inbox, f"{name}@interieur.gouv.fr", nth=1)
        for name in ("marie.dm", "paul.dm", "anne.dm")
    ]
    dm = await marie.ok("POST", "/createRoom", json={"is_direct": True, "invite": [paul.user_id]})
    await paul.ok("POST", f"/join/{dm['room_id']}", json={})
    third = await marie.http.post(
        f"/_matrix/client/v3/rooms/{dm['room_id']}/invite", json={"user_id": anne.user_id}
    )
    assert third.status_code == 403 and third.json()["policy"] == "DIRECT_ROOM_FULL"

    invite = {"invite": [paul.user_id, anne.user_id]}
    room_id = (await marie.ok("POST", "/createRoom", json=invite))["room_id"]
    for member in (paul, anne):
        await member.ok("POST", f"/join/{room_id}", json={})
    levels_path = f"/rooms/{room_id}/state/m.room.power_levels/"
    levels = await marie.ok("GET", levels_path)
    levels["users"][paul.user_id] = 50
    await marie.ok("PUT", levels_path, json=levels)
    await marie.ok("POST", f"/rooms/{room_id}/leave", json={})
    after = await paul.ok("GET", levels_path)
    assert after["users"][paul.user_id] == 100
    assert anne.user_id not in after["users"]


def make_server_admin(server: FederatedServer, user_id: str) -> None:
    """What ``sceau admin create-user --admin`` does, on the running server's SQLite file."""
    with sqlite3.connect(server.data_dir / "sceau.db") as db:
        db.execute("UPDATE users SET is_admin = 1 WHERE user_id = ?", (user_id,))


async def login(server: FederatedServer, address: str) -> Client:
    identifier = {"type": "m.id.thirdparty", "medium": "email", "address": address}
    body = {"type": "m.login.password", "identifier": identifier, "password": PASSWORD}
    async with httpx.AsyncClient(base_url=server.client_url, timeout=30) as http:
        done = await http.post("/_matrix/client/v3/login", json=body)
    assert done.status_code == 200, done.text
    data = done.json()
    return Client(server, data["user_id"], data["access_token"], data["device_id"])


async def test_an_expired_account_renews_through_its_emailed_link_and_works_again(lab, smtp):
    inbox = smtp[0]
    agents, _ = lab.servers
    root = await register_by_email(agents, inbox, "root.admin@interieur.gouv.fr", nth=1)
    make_server_admin(agents, root.user_id)
    root = await login(agents, "root.admin@interieur.gouv.fr")  # a token read afresh
    address = "jeanne.expire@interieur.gouv.fr"
    jeanne = await register_by_email(agents, inbox, address, nth=1)
    expire = {"user_id": jeanne.user_id, "expiration_ts": int(time.time() * 1000) - 1000}
    done = await root.http.post("/_synapse/admin/v1/account_validity/validity", json=expire)
    assert done.status_code == 200, done.text

    whoami = await jeanne.http.get("/_matrix/client/v3/account/whoami")
    assert (whoami.status_code, whoami.json()["errcode"]) == (403, "ORG_MATRIX_EXPIRED_ACCOUNT")
    sent = await jeanne.http.post("/_matrix/client/unstable/account_validity/send_mail", json={})
    assert sent.status_code == 200, sent.text
    text = await mail_to(inbox, address, 2)
    link = re.search(r"https?://\S+account_validity/renew\S+", text)
    assert link, text
    async with httpx.AsyncClient(base_url=agents.client_url, timeout=30) as http:
        path = link.group(0).split("/_matrix", 1)[1]
        assert (await http.get("/_matrix" + path)).status_code == 200
        assert (await http.get("/_matrix" + path)).status_code == 404, "the link works once"
    assert (await jeanne.http.get("/_matrix/client/v3/account/whoami")).status_code == 200
