"""The web client served at ``/``, from a small fake build in a temporary folder."""

import gzip
from pathlib import Path

import pytest

INDEX = b'<!doctype html><html><head><script type="module" src="/assets/app-1a2b3c.js"></script></head><body><div id="root"></div></body></html>'
APP_JS = b"console.log('sceau');\n" * 50
WASM = b"\x00asm\x01\x00\x00\x00"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A build as ``npm run build`` leaves it: hashed assets, precompressed variants."""
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "index.html.gz").write_bytes(gzip.compress(INDEX))
    (root / "assets" / "app-1a2b3c.js").write_bytes(APP_JS)
    (root / "assets" / "app-1a2b3c.js.gz").write_bytes(gzip.compress(APP_JS))
    (root / "assets" / "app-1a2b3c.js.br").write_bytes(b"brotli bytes of app.js")
    (root / "assets" / "crypto-9f8e7d.wasm").write_bytes(WASM)
    (root / "assets" / "style-00ff00.css").write_bytes(b"body{margin:0}")
    (root / "favicon.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / ".env").write_bytes(b"SECRET=1")
    (tmp_path / "outside.txt").write_bytes(b"not part of the build")
    (root / "assets" / "link.txt").symlink_to(tmp_path / "outside.txt")
    return root


@pytest.fixture
def config_overrides(dist: Path) -> dict:
    return {
        "web_client": {"path": str(dist), "brand": "Messagerie de l'État"},
        "public_baseurl": "https://matrix.interieur.gouv.fr/",
        "media": {"max_upload_bytes": 1234567},
    }


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    pairs = (d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    return {p[0]: p[1] if len(p) > 1 else "" for p in pairs}


async def test_root_serves_index_html_revalidated_every_time(client):
    response = await client.get("/", headers={"accept-encoding": "identity"})
    assert response.status_code == 200
    assert response.content == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert "content-encoding" not in response.headers


async def test_index_html_carries_a_strict_content_security_policy(client):
    response = await client.get("/")
    csp = csp_directives(response)
    assert csp["default-src"] == "'self'"
    # No inline scripts, no eval: only WebAssembly compilation for the Rust crypto.
    assert csp["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert "'unsafe-eval'" not in response.headers["content-security-policy"]
    assert csp["connect-src"] == "'self' https://matrix.interieur.gouv.fr"
    assert csp["img-src"] == "'self' blob: data:"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_hashed_assets_are_cached_forever(client):
    response = await client.get("/assets/style-00ff00.css")
    assert response.status_code == 200
    assert response.content == b"body{margin:0}"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"] == "text/css; charset=utf-8"


async def test_brotli_is_served_when_the_browser_accepts_it(client):
    response = await client.get("/assets/app-1a2b3c.js", headers={"accept-encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "br"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    # httpx cannot decode this fake brotli: compare the bytes on the wire.
    raw = b"".join([chunk async for chunk in (await _raw_get(client, response.url.path))])
    assert raw == b"brotli bytes of app.js"


async def _raw_get(client, path: str):
    request = client.build_request("GET", path, headers={"accept-encoding": "br"})
    response = await client.send(request, stream=True)
    return response.aiter_raw()


async def test_gzip_is_served_when_brotli_is_not_accepted(client):
    response = await client.get("/assets/app-1a2b3c.js", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == APP_JS  # httpx decoded the gzip bytes
    assert int(response.headers["content-length"]) < len(APP_JS)


async def test_refused_encodings_get_the_plain_file(client):
    response = await client.get(
        "/assets/app-1a2b3c.js", headers={"accept-encoding": "br;q=0, gzip;q=0, identity"}
    )
    assert "content-encoding" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.content == APP_JS


async def test_wildcard_encoding_accepts_the_best_variant(client):
    response = await client.get("/assets/app-1a2b3c.js", headers={"accept-encoding": "*"})
    assert response.headers["content-encoding"] == "br"


async def test_index_html_is_precompressed_too(client):
    response = await client.get("/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == INDEX


async def test_wasm_is_typed_for_streaming_compilation(client):
    response = await client.get("/assets/crypto-9f8e7d.wasm")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/wasm"
    assert response.content == WASM


async def test_unchanged_index_answers_304_to_its_etag(client):
    first = await client.get("/", headers={"accept-encoding": "identity"})
    etag = first.headers["etag"]
    again = await client.get("/", headers={"accept-encoding": "identity", "if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


async def test_each_encoding_has_its_own_etag(client):
    plain = await client.get("/", headers={"accept-encoding": "identity"})
    zipped = await client.get("/", headers={"accept-encoding": "gzip"})
    assert plain.headers["etag"] != zipped.headers["etag"]


async def test_head_sends_headers_only(client):
    response = await client.head("/assets/style-00ff00.css")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "14"


async def test_client_routes_fall_back_to_index_html(client):
    for path in ("/login", "/room/!abc:test.local", "/user/@alice:test.local", "/settings/profile"):
        response = await client.get(path, headers={"accept-encoding": "identity"})
        assert response.status_code == 200, path
        assert response.content == INDEX, path
        assert response.headers["cache-control"] == "no-cache", path


async def test_top_level_files_are_served_but_not_cached_forever(client):
    response = await client.get("/favicon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-cache"


async def test_missing_asset_is_404_not_the_client(client):
    response = await client.get("/assets/app-000000.js")
    assert response.status_code == 404
    assert b"<html" not in response.content


@pytest.mark.parametrize(
    "path", ["/assets/../../outside.txt", "/assets/%2e%2e/%2e%2e/outside.txt", "/.env"]
)
async def test_nothing_outside_the_build_or_hidden_is_served(client, path):
    response = await client.get(path)
    assert b"not part of the build" not in response.content
    assert b"SECRET" not in response.content


async def test_symlink_out_of_the_build_is_not_followed(client):
    response = await client.get("/assets/link.txt")
    assert response.status_code == 404
    assert b"not part of the build" not in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/_matrix/client/v3/no/such/thing",
        "/_matrix/federation/v1/nothing",
        "/_synapse/admin/v1/nothing",
        "/_sceau/v1/nothing",
        "/.well-known/matrix/nothing",
        "/health/nothing",
        "/metrics",
    ],
)
async def test_api_paths_are_never_shadowed_by_the_client(client, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["errcode"] == "M_UNRECOGNIZED"


async def test_the_health_check_is_answered_by_the_server_not_the_client(client):
    response = await client.get("/health")
    assert (response.status_code, response.text) == (200, "OK")


async def test_api_methods_keep_their_errors(client):
    unknown = await client.post("/_matrix/client/v3/no/such/thing", json={})
    assert unknown.status_code == 404 and unknown.json()["errcode"] == "M_UNRECOGNIZED"
    wrong_method = await client.delete("/_matrix/client/versions")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["errcode"] == "M_UNRECOGNIZED"
    post_page = await client.post("/login", json={})
    assert post_page.status_code == 404


async def test_well_known_points_clients_at_the_public_url(client):
    response = await client.get("/.well-known/matrix/client")
    assert response.status_code == 200
    assert response.json() == {"m.homeserver": {"base_url": "https://matrix.interieur.gouv.fr"}}


async def test_config_json_describes_this_deployment(client):
    response = await client.get("/config.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    body = response.json()
    assert body["brand"] == "Messagerie de l'État"
    assert body["server_name"] == "test.local"
    assert body["base_url"] == "https://matrix.interieur.gouv.fr"
    assert body["media"] == {"max_upload_bytes": 1234567, "antivirus": False}
    assert body["upload_limit"] == 1234567
    assert body["registration"] == {"mode": "open", "email_domains": []}
    assert body["features"]["registration"] is True
    assert body["features"]["password_reset"] is False
    assert body["features"]["presence"] is True
    assert body["features"]["calls"] is False
    assert body["features"]["change_display_name"] is True
    assert body["features"]["content_scanner"] is False
    assert body["encryption"] == {"encrypt_new_rooms": "not_public"}


@pytest.mark.parametrize(
    "config_overrides",
    [{"voip": {"turn_uris": ["turn:turn.test.local:3478"], "turn_shared_secret": "s"}}],
)
async def test_config_json_offers_calls_once_a_turn_relay_is_configured(client):
    response = await client.get("/config.json")
    assert response.json()["features"]["calls"] is True


async def test_config_json_upload_limit_matches_media_config(client, register):
    alice = await register("alice")
    media = await alice.ok("GET", "/_matrix/client/v1/media/config")
    config = (await client.get("/config.json")).json()
    assert config["media"]["max_upload_bytes"] == media["m.upload.size"]


class TestClosedServer:
    @pytest.fixture
    def config_overrides(self, dist: Path) -> dict:
        return {
            "web_client": {"path": str(dist)},
            "registration": {"mode": "closed"},
            "presence": {"enabled": False},
            "policy": {"lock_display_name": True},
            "media": {"antivirus": {"enabled": True}, "content_scanner": {"enabled": True}},
        }

    async def test_config_json_says_what_is_off(self, client):
        body = (await client.get("/config.json")).json()
        assert body["brand"] == "Sceau"
        assert body["registration"]["mode"] == "closed"
        assert body["features"]["registration"] is False
        assert body["features"]["presence"] is False
        assert body["features"]["change_display_name"] is False
        assert body["media"]["antivirus"] is True
        assert body["features"]["content_scanner"] is True

    async def test_connect_src_is_the_page_origin_and_base_url(self, client):
        csp = csp_directives(await client.get("/"))
        assert csp["connect-src"] == "'self' http://test.local:8008"


class TestMissingBuild:
    @pytest.fixture
    def config_overrides(self, tmp_path: Path) -> dict:
        return {"web_client": {"path": str(tmp_path / "no-build-here")}}

    async def test_root_explains_how_to_build_the_client(self, client, tmp_path):
        response = await client.get("/")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "npm run build" in response.text
        assert "./scripts/serve" in response.text
        assert "web_client.path" in response.text
        assert str(tmp_path) not in response.text
        assert "M_UNRECOGNIZED" not in response.text
        assert "<script" not in response.text.lower()
        assert "content-security-policy" in response.headers

    async def test_client_routes_explain_it_too(self, client):
        response = await client.get("/room/!abc:test.local")
        assert response.status_code == 404
        assert "npm run build" in response.text

    async def test_config_json_is_served_without_a_build(self, client):
        response = await client.get("/config.json")
        assert response.status_code == 200
        assert response.json()["server_name"] == "test.local"


class TestDisabled:
    @pytest.fixture
    def config_overrides(self, dist: Path) -> dict:
        return {"web_client": {"enabled": False, "path": str(dist)}}

    @pytest.mark.parametrize("path", ["/", "/config.json", "/assets/style-00ff00.css", "/login"])
    async def test_nothing_of_the_client_is_served(self, client, path):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json()["errcode"] == "M_UNRECOGNIZED"


def test_startup_line_names_the_build_folder(tmp_path, dist):
    from sceau.services.web_client import startup_line
    from tests.conftest import make_config

    served = startup_line(make_config(tmp_path, web_client={"path": str(dist)}))
    assert served == f"Web client: serving {dist} at /"
    missing = startup_line(make_config(tmp_path, web_client={"path": "nowhere"}))
    assert str(tmp_path / "nowhere") in missing and "npm run build" in missing
    off = startup_line(make_config(tmp_path, web_client={"enabled": False}))
    assert off.startswith("Web client: off")
