"""Browser tests of the web client: a real Sceau process on SQLite serving a build,
one Chromium per test module (web/e2e/driver.mjs), one browser context per user.

The server and the browser live as long as the module, to keep the suite fast
on two cores. Screenshots and axe reports go to test-output/web/MODULE/.
"""

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.e2e.server import ServerFactory, ServerProcess
from tests.e2e.web.webdriver import OUTPUT, REPO, WebDriver

pytestmark = pytest.mark.e2e

WEB = REPO / "web"


@pytest.fixture(scope="module")
def e2e_backend() -> str:
    """The browser tests run on SQLite only (the server's storage is tested on both elsewhere)."""
    return "sqlite"


def require_web_build() -> Path:
    """web/dist, built by ./scripts/test; skip (fail in CI) when it is missing.

    Before the client's sources exist (no web/package.json) there is nothing to
    build, and the tests on the real client skip even in CI. SCEAU_WEB_DIST
    points them at another build (a client developer's, say).
    """
    dist = Path(os.environ.get("SCEAU_WEB_DIST", WEB / "dist"))
    if (dist / "index.html").is_file():
        return dist
    if not (WEB / "package.json").is_file():
        pytest.skip("the web client is not in this checkout yet (no web/package.json)")
    message = (
        "web/dist is missing: ./scripts/test builds it (or: cd web && npm ci && npm run build)"
    )
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def catalogue() -> dict:
    """The client's French catalogue (SCEAU_WEB_I18N points at another one)."""
    path = Path(os.environ.get("SCEAU_WEB_I18N", WEB / "src" / "i18n" / "fr.json"))
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def require_client_strings(*keys: str) -> None:
    """Skip, even in CI, when the client has no strings for a feature: it is not built yet."""
    strings = catalogue()
    for key in keys:
        node: object = strings
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, str):
            pytest.skip(f"the web client has no '{key}' string yet: that feature is not in it")


def module_output(request: pytest.FixtureRequest) -> Path:
    return OUTPUT / request.module.__name__.rsplit(".", 1)[-1]


@pytest.fixture(scope="module")
def web_server(make_module_server: ServerFactory) -> ServerProcess:
    """Sceau serving the real build, registration open, new rooms encrypted like in production."""
    dist = require_web_build()
    return make_module_server(
        web_client={"path": str(dist)}, encryption={"encrypt_new_rooms": "not_public"}
    )


@pytest.fixture(scope="module")
def browser(
    request: pytest.FixtureRequest,
    web_server: ServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WebDriver]:
    """One Chromium for the module, pointed at ``web_server``; its screens start afresh."""
    output = module_output(request)
    shutil.rmtree(output, ignore_errors=True)
    driver = WebDriver(tmp_path_factory.mktemp("browser") / "driver.log")
    driver.start(web_server.url, output)
    try:
        yield driver
    finally:
        driver.close()
