"""Sign-in in the real client: the French login screen, logging in, resuming after a reload."""

import pytest

from tests.e2e.nio_helpers import PASSWORD, close_all, register
from tests.e2e.server import ServerProcess
from tests.e2e.web.webdriver import WebDriver

pytestmark = pytest.mark.e2e


def test_the_login_screen_is_in_french_and_accessible(browser: WebDriver):
    browser.call("newUser", name="visitor")
    answer = browser.call("goto", name="visitor", path="/")
    assert answer["status"] == 200
    assert "wasm-unsafe-eval" in answer["headers"]["content-security-policy"]
    assert browser.call("loginScreen", name="visitor")["lang"] == "fr"
    browser.call("screen", name="visitor", screen="connexion")
    assert browser.call("problems", name="visitor") == []


async def test_alice_logs_in_and_resumes_after_a_reload(
    browser: WebDriver, web_server: ServerProcess
):
    alice = await register(web_server, "alice")
    await close_all(alice)
    await browser.acall("newUser", name="alice")
    await browser.acall("login", name="alice", identifier=alice.user_id, password=PASSWORD)
    await browser.acall("screen", name="alice", screen="liste des salons")
    resumed = await browser.acall("reload", name="alice")
    assert resumed["loginFormShown"] is False
    assert await browser.acall("problems", name="alice") == []
