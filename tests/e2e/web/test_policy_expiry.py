"""An expired account (account validity) in the browser: a screen of its own.

Accounts last one millisecond on this server, so the account is expired as
soon as it exists. The client answers the first 403 ORG_MATRIX_EXPIRED_ACCOUNT
with a screen that says so, offers the renewal email (this account has no
address, and the screen says so in French), and still signs out.
"""

import secrets

import nio
import pytest

from tests.e2e.nio_helpers import new_client, ok
from tests.e2e.server import ServerFactory, ServerProcess
from tests.e2e.web.conftest import require_client_strings, require_web_build
from tests.e2e.web.webdriver import WebDriver

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

PASSWORD = "Correct-Horse-7-battery"


@pytest.fixture(scope="module")
def web_server(make_module_server: ServerFactory) -> ServerProcess:
    dist = require_web_build()
    require_client_strings("policy.expired.title", "policy.expired.noEmail")
    return make_module_server(
        web_client={"path": str(dist)},
        account_validity={"enabled": True, "period_ms": 1},
    )


async def test_an_expired_account_gets_its_own_screen_and_can_sign_out(
    browser: WebDriver, web_server: ServerProcess
):
    dora = new_client(web_server)
    ok(
        await dora.register(f"dora_{secrets.token_hex(3)}", PASSWORD, "setup"),
        nio.RegisterResponse,
        "POST /register",
    )
    await dora.close()
    await browser.acall("newUser", name="dora", width=360)
    await browser.acall("goto", name="dora", path="/")
    screen = await browser.acall(
        "loginExpired", name="dora", identifier=dora.user_id, password=PASSWORD
    )
    assert "Votre compte a expiré" in screen["text"], screen
    sent = await browser.acall("sendRenewalMail", name="dora")
    expected = await browser.acall("catalogue", key="policy.expired.noEmail")
    assert sent["status"] == expected.strip("^$").replace("\\", ""), sent
    await browser.acall("screen", name="dora", screen="compte expiré")
    assert (await browser.acall("logoutExpired", name="dora"))["loggedOut"] is True
