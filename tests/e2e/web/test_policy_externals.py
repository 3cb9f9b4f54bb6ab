"""External partners as agents see them in the browser (issue #11).

Two Sceau processes federate: one for agents, serving the web client, and one
for external partners, named in both servers' ``policy.external_servers``.
An agent opens a room to partners and invites one, who joins from her own
server and writes. The agent's browser shows "Externe" next to her name in
the timeline, in the room's members, in the people search (found by her name,
since she shares a room with the agent), and in the header and room-list row of the DM the
agent then starts with her. Screens are saved in French at 360
and 1280 px, and the timeline once more in the dark theme.
"""

from collections.abc import Iterator

import pytest

from tests.e2e.federation_servers import FederationLab, has_body, register, sync_until
from tests.e2e.server import ServerProcess
from tests.e2e.web.conftest import require_client_strings, require_web_build
from tests.e2e.web.webdriver import WebDriver

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

PASSWORD = "correct horse battery"  # what tests.e2e.test_federation_tls.register sets


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FederationLab]:
    dist = require_web_build()
    require_client_strings("policy.external.badge")
    lab = FederationLab(tmp_path_factory.mktemp("externals"))
    lab.declare(web_client={"path": str(dist)})
    partners = lab.declare()
    for server in lab.servers:  # the same policy on every server of the federation
        server.config["policy"] = {"room_access_rules": True, "external_servers": [partners.name]}
    try:
        lab.start_all()
        yield lab
    finally:
        lab.stop_all()


@pytest.fixture(scope="module")
def web_server(lab: FederationLab) -> ServerProcess:
    """The agents' server: the browser fixture points Chromium at it."""
    assert lab.servers[0].process is not None
    return lab.servers[0].process


async def test_agents_see_an_external_partner_badged_wherever_they_meet_her(
    lab: FederationLab, browser: WebDriver
):
    agents, partners = lab.servers
    agent = await register(agents, "agnes")
    jeanne = await register(partners, "jeanne")
    await agent.ok("PUT", f"/profile/{agent.user_id}/displayname", json={"displayname": "Agnès"})
    await jeanne.ok(
        "PUT", f"/profile/{jeanne.user_id}/displayname", json={"displayname": "Jeanne Partenaire"}
    )
    room_id = (await agent.ok("POST", "/createRoom", json={"name": "Dossier commun"}))["room_id"]
    await agent.ok(
        "PUT", f"/rooms/{room_id}/state/im.vector.room.access_rules", json={"rule": "unrestricted"}
    )
    await agent.ok("POST", f"/rooms/{room_id}/invite", json={"user_id": jeanne.user_id})
    await sync_until(
        jeanne, lambda b: room_id in b.get("rooms", {}).get("invite", {}), "the invitation"
    )
    await jeanne.ok("POST", f"/join/{room_id}?server_name={agents.name}")
    text = "Bonjour, voici le dossier."
    await jeanne.ok(
        "PUT",
        f"/rooms/{room_id}/send/m.room.message/t1",
        json={"msgtype": "m.text", "body": text},
    )
    await sync_until(agent, has_body(room_id, text), "the partner's message")
    await agent.ok(
        "PUT",
        f"/rooms/{room_id}/send/m.room.message/t2",
        json={"msgtype": "m.text", "body": "Merci, je regarde."},
    )

    await browser.acall("newUser", name="agnes")
    await browser.acall("login", name="agnes", identifier=agent.user_id, password=PASSWORD)
    await browser.acall("openRoom", name="agnes", text="Dossier commun")
    sender = await browser.acall("externalSender", name="agnes", text=text)
    assert sender["sender"] == "Jeanne Partenaire", sender
    assert sender["badge"] == "Externe", sender
    assert "(externe)" in sender["label"], sender
    await browser.acall("screen", name="agnes", screen="salon avec une partenaire externe")
    await browser.acall(
        "evaluate", name="agnes", expression="document.documentElement.dataset.theme = 'dark'"
    )
    await browser.acall("screen", name="agnes", screen="salon avec une partenaire externe, sombre")
    await browser.acall(
        "evaluate", name="agnes", expression="delete document.documentElement.dataset.theme"
    )

    await browser.acall("openRoomSettings", name="agnes")
    members = await browser.acall("memberBadges", name="agnes")
    assert sorted(members["members"], key=lambda m: m["name"]) == [
        {"name": "Agnès", "badge": None},
        {"name": "Jeanne Partenaire", "badge": "Externe"},
    ], members
    await browser.acall("screen", name="agnes", screen="membres avec une partenaire externe")
    await browser.acall("press", name="agnes", within={"role": "dialog"}, key="common.close")

    # The directory lists users of other servers met in a shared or public room: a partner
    # is found by her name.
    found = await browser.acall(
        "searchPeople", name="agnes", query="Partenaire", userId=jeanne.user_id, badged=True
    )
    assert {"text": jeanne.user_id, "badge": "Externe"} in found["results"], found
    await browser.acall("screen", name="agnes", screen="recherche d'une partenaire externe")
    await browser.acall("pickPerson", name="agnes", userId=jeanne.user_id)
    header = await browser.acall("headerBadge", name="agnes")
    assert header == {"title": "Jeanne Partenaire", "badge": "Externe"}, header
    listed = await browser.acall("roomListBadges", name="agnes")
    assert listed["rooms"] == ["Jeanne Partenaire"], listed
    await browser.acall(
        "screen", name="agnes", screen="conversation privée avec une partenaire externe"
    )
    await browser.acall("closeUser", name="agnes")
