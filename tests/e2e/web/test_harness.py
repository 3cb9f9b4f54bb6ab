"""The browser harness itself, on a tiny stand-in build: real Chromium, real server.

It proves what the real client relies on: the server's strict CSP lets the
client's module scripts and WebAssembly run while inline scripts and eval are
blocked, compressed assets reach the browser, client routes load the app,
users are isolated, screenshots come at both widths and axe catches serious
violations. The real client's scenarios are in the other modules.
"""

import gzip
import struct
from pathlib import Path

import pytest

from tests.e2e.server import ServerFactory, ServerProcess
from tests.e2e.web.webdriver import WebDriver, WebError

pytestmark = pytest.mark.e2e

INDEX = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Harnais</title>
<link rel="stylesheet" href="/assets/style-harness.css">
<script type="module" src="/assets/app-harness.js"></script>
<script>window.inlineRan = true;</script>
</head>
<body>
<main>
<h1>…</h1>
<p>Bonjour, ceci est la page d'essai du harnais de tests du client web.</p>
</main>
</body>
</html>
"""

APP_JS = (
    """
const config = await (await fetch("/config.json")).json();
document.querySelector("h1").textContent = config.brand;
let wasm = false;
try {
  // The smallest WebAssembly module: compiling it needs 'wasm-unsafe-eval'.
  await WebAssembly.instantiate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  wasm = true;
} catch (error) {
  wasm = String(error);
}
let evalBlocked = false;
try {
  eval("1");
} catch {
  evalBlocked = true;
}
window.harness = { wasm, evalBlocked, brand: config.brand, path: location.pathname };
document.body.dataset.ready = "yes";
"""
    + "// padding that compresses well\n" * 400
)

INACCESSIBLE = """<!doctype html>
<html lang="fr"><head><title>Inaccessible</title></head>
<body><main><img src="/favicon.svg"><button></button></main></body></html>
"""


def make_stand_in_build(root: Path) -> Path:
    assets = root / "assets"
    assets.mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (assets / "app-harness.js").write_text(APP_JS)
    (assets / "app-harness.js.gz").write_bytes(gzip.compress(APP_JS.encode()))
    (assets / "style-harness.css").write_text("body { font-family: sans-serif; margin: 1rem; }")
    (assets / "inaccessible.html").write_text(INACCESSIBLE)
    return root


@pytest.fixture(scope="module")
def web_server(
    make_module_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> ServerProcess:
    dist = make_stand_in_build(tmp_path_factory.mktemp("dist"))
    return make_module_server(web_client={"path": str(dist), "brand": "Harnais d'essai"})


@pytest.fixture(scope="module")
def alice(browser: WebDriver) -> str:
    browser.call("newUser", name="alice")
    browser.call("goto", name="alice", path="/")
    browser.call("waitFor", name="alice", role="heading", label="Harnais d'essai")
    return "alice"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_the_client_runs_under_the_servers_csp(browser: WebDriver, alice: str):
    harness = browser.call("evaluate", name=alice, expression="window.harness")
    # The module script ran and read /config.json from the server's config.
    assert harness["brand"] == "Harnais d'essai"
    # WebAssembly (the Rust crypto) compiles: 'wasm-unsafe-eval' is granted...
    assert harness["wasm"] is True
    # ...but eval and inline scripts are not.
    assert harness["evalBlocked"] is True
    assert browser.call("evaluate", name=alice, expression="window.inlineRan ?? null") is None
    problems = browser.call("problems", name=alice)
    assert any("CSP violation: script-src" in p and "inline" in p for p in problems), problems


def test_the_browser_receives_compressed_assets(browser: WebDriver, alice: str):
    resources = browser.call("resources", name=alice)
    app = next(r for r in resources if r["url"].endswith("/assets/app-harness.js"))
    assert 0 < app["encodedBodySize"] < app["decodedBodySize"] / 5, app


def test_a_client_route_loads_the_app(browser: WebDriver):
    browser.call("newUser", name="visitor")
    answer = browser.call("goto", name="visitor", path="/room/!abc:e2e.test")
    assert answer["status"] == 200
    assert answer["headers"]["cache-control"] == "no-cache"
    browser.call("waitFor", name="visitor", role="heading", label="Harnais d'essai")
    harness = browser.call("evaluate", name="visitor", expression="window.harness")
    assert harness["path"] == "/room/!abc:e2e.test"


def test_each_user_has_their_own_browser_storage(browser: WebDriver, alice: str):
    browser.call("evaluate", name=alice, expression="localStorage.setItem('who', 'alice')")
    browser.call("newUser", name="bob")
    browser.call("goto", name="bob", path="/")
    assert browser.call("evaluate", name="bob", expression="localStorage.getItem('who')") is None
    assert browser.call("evaluate", name=alice, expression="localStorage.getItem('who')") == "alice"


def test_screens_are_saved_at_phone_and_desktop_widths(browser: WebDriver, alice: str):
    files = [Path(f) for f in browser.call("screen", name=alice, screen="harnais accueil")["files"]]
    assert [f.name for f in files] == ["harnais-accueil-360.png", "harnais-accueil-1280.png"]
    assert [png_size(f)[0] for f in files] == [360, 1280]
    assert all(f.is_relative_to(Path(__file__).resolve().parents[3] / "test-output") for f in files)
    # The page keeps its desktop width afterwards.
    assert browser.call("evaluate", name=alice, expression="innerWidth") == 1280


def test_axe_fails_a_screen_with_serious_violations(browser: WebDriver):
    browser.call("newUser", name="auditor")
    browser.call("goto", name="auditor", path="/assets/inaccessible.html")
    with pytest.raises(WebError) as failure:
        browser.call("screen", name="auditor", screen="inaccessible")
    assert "image-alt" in str(failure.value)
    assert "button-name" in str(failure.value)


def test_two_users_act_at_the_same_time(browser: WebDriver, alice: str):
    """Commands run concurrently: a page waiting for the other one does not hold the driver."""
    import concurrent.futures

    browser.call("newUser", name="carol")
    browser.call("goto", name="carol", path="/")
    wait = "new Promise(resolve => { window.release = resolve; })"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(browser.call, "evaluate", name=alice, expression=wait, timeout=30)
        assert browser.call("evaluate", name="carol", expression="'quick'") == "quick"
        # Retried until alice's page has set window.release (the wait has started).
        while not browser.call(
            "evaluate",
            name=alice,
            expression="window.release ? (window.release('done'), true) : false",
        ):
            pass
        assert waiting.result() == "done"
