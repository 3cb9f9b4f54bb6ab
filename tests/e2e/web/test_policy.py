"""The state's rules (issue #11) as an agent sees them in the browser.

Sceau runs with a password policy and account validity; the real client
shows the password rules before anything is typed and ticks them as the
password grows, says in French why a DM refuses a third member (the server's
DIRECT_ROOM_FULL refusal, mapped to the catalogue's message), and shows an
expired account a screen of its own, from which it may still sign out.
Screens are saved in French at 360 and 1280 px.
"""

import secrets

import nio
import pytest

from tests.e2e.nio_helpers import new_client, ok
from tests.e2e.server import ServerFactory, ServerProcess
from tests.e2e.web.conftest import require_client_strings, require_web_build
from tests.e2e.web.webdriver import WebDriver

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

STRONG = "Correct-Horse-7-battery"


@pytest.fixture(scope="module")
def web_server(make_module_server: ServerFactory) -> ServerProcess:
    dist = require_web_build()
    require_client_strings("policy.refusals.DIRECT_ROOM_FULL", "policy.expired.title")
    return make_module_server(
        web_client={"path": str(dist)},
        encryption={"encrypt_new_rooms": "not_public"},
        policy={
            "room_access_rules": True,
            "email_routing": {"external_server": "partenaires.test"},
            "password": {
                "minimum_length": 12,
                "require_digit": True,
                "require_symbol": True,
                "require_uppercase": True,
                "require_lowercase": True,
            },
        },
    )


async def person(server: ServerProcess, localpart: str) -> nio.AsyncClient:
    client = new_client(server)
    ok(
        await client.register(f"{localpart}_{secrets.token_hex(3)}", STRONG, "setup"),
        nio.RegisterResponse,
        "POST /register",
    )
    return client


async def test_registration_shows_the_password_rules_before_typing(browser: WebDriver):
    await browser.acall("newUser", name="visitor")
    await browser.acall("goto", name="visitor", path="/")
    shown = await browser.acall("openRegistration", name="visitor")
    assert len(shown["rules"]) == 5, shown
    assert shown["met"] == 0
    assert any("12 caractères" in rule for rule in shown["rules"]), shown
    typed = await browser.acall("typeRegisterPassword", name="visitor", password="abcD")
    assert len(typed["met"]) == 2 and len(typed["pending"]) == 3, typed
    await browser.acall("screen", name="visitor", screen="règles du mot de passe")
    done = await browser.acall("typeRegisterPassword", name="visitor", password=STRONG)
    assert done["pending"] == [] and len(done["met"]) == 5, done
    await browser.acall("closeUser", name="visitor")


async def test_a_dm_refuses_a_third_member_in_french(browser: WebDriver, web_server: ServerProcess):
    alice = await person(web_server, "alice")
    bob = await person(web_server, "bob")
    carol = await person(web_server, "carol")
    ok(await bob.set_displayname("Bob Durand"), nio.ProfileSetDisplayNameResponse, "displayname")
    created = ok(
        await alice.room_create(is_direct=True, invite=[bob.user_id]),
        nio.RoomCreateResponse,
        "createRoom",
    )
    ok(await bob.join(created.room_id), nio.JoinResponse, "join")
    await alice.close()
    await bob.close()
    await carol.close()

    await browser.acall("newUser", name="alice")
    await browser.acall("login", name="alice", identifier=alice.user_id, password=STRONG)
    await browser.acall("openRoom", name="alice", text="Bob Durand")
    settings = await browser.acall("openRoomSettings", name="alice")
    expected_rule = await browser.acall("catalogue", key="policy.access.direct")
    assert settings["accessRule"] == expected_rule.strip("^$"), settings
    refused = await browser.acall("inviteFromSettings", name="alice", userId=carol.user_id)
    expected = await browser.acall("catalogue", key="policy.refusals.DIRECT_ROOM_FULL")
    assert refused["status"] == expected.strip("^$").replace("\\", ""), (expected, refused)
    await browser.acall("screen", name="alice", screen="conversation privée complète")
    await browser.acall("closeUser", name="alice")


async def test_the_password_change_shows_the_rules_and_takes_a_strong_password(
    browser: WebDriver, web_server: ServerProcess
):
    erin = await person(web_server, "erin")
    await erin.close()
    await browser.acall("newUser", name="erin")
    await browser.acall("login", name="erin", identifier=erin.user_id, password=STRONG)
    changed = await browser.acall(
        "changePassword", name="erin", current=STRONG, next="Autre-Mot-2-passe"
    )
    assert changed["before"] == {"rules": 5, "met": 0}, changed
    assert changed["after"] == {"met": 5}, changed
    done = await browser.acall("catalogue", key="policy.passwordChange.done")
    assert changed["status"] == done.strip("^$").replace("\\", ""), changed
    await browser.acall("screen", name="erin", screen="mot de passe changé")
    await browser.acall("closeUser", name="erin")
    again = new_client(web_server, user=erin.user_id)
    ok(await again.login("Autre-Mot-2-passe"), nio.LoginResponse, "login with the new password")
    await again.close()


async def test_an_externals_email_invite_is_refused_for_agents_then_for_a_server_out_of_reach(
    browser: WebDriver, web_server: ServerProcess
):
    fanny = await person(web_server, "fanny")
    ok(await fanny.room_create(name="Dossier commun"), nio.RoomCreateResponse, "createRoom")
    await fanny.close()
    await browser.acall("newUser", name="fanny")
    await browser.acall("login", name="fanny", identifier=fanny.user_id, password=STRONG)
    await browser.acall("openRoom", name="fanny", text="Dossier commun")
    settings = await browser.acall("openRoomSettings", name="fanny")
    restricted = await browser.acall("catalogue", key="policy.access.restricted")
    assert settings["accessRule"] == restricted.strip("^$"), settings
    refused = await browser.acall(
        "inviteEmailFromSettings", name="fanny", address="jeanne@partenaire.fr"
    )
    closed = await browser.acall("catalogue", key="policy.refusals.EXTERNAL_NOT_ALLOWED")
    assert refused["status"] == closed.strip("^$").replace("\\", ""), refused
    opened = await browser.acall("openToExternals", name="fanny")
    unrestricted = await browser.acall("catalogue", key="policy.access.unrestricted")
    assert opened["accessRule"] == unrestricted.strip("^$"), opened
    # This server federates with no other, so the partners' server could never
    # redeem it: refused, naming that server (the two-server flow is in
    # tests/e2e/test_email_invites_e2e.py).
    unreachable = await browser.acall(
        "inviteEmailFromSettings", name="fanny", address="jeanne@partenaire.fr"
    )
    assert "partenaires.test" in unreachable["status"], unreachable
    await browser.acall("screen", name="fanny", screen="invitation refusée hors fédération")
    await browser.acall("closeUser", name="fanny")
