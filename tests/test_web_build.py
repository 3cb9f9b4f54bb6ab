"""./scripts/serve and ./scripts/test build the web client only when web/dist is missing or stale.

The shell steps of scripts/lib.sh run for real in bash, in a temporary copy of
a web/ folder; npm is a shell function that records its calls and "builds" by
writing web/dist/index.html.
"""

import gzip
import os
import subprocess
import time
from pathlib import Path

from tests.e2e.jssdk.jsclient import require_node
from tests.test_test_setup import bash

REPO = Path(__file__).resolve().parent.parent

FAKE_NPM = (
    'npm() { echo "npm $*" >> calls; mkdir -p node_modules;'
    ' if [ "$*" = "run --silent build" ]; then mkdir -p dist; echo built > dist/index.html; fi; }\n'
)


def make_web(root: Path) -> Path:
    web = root / "web"
    (web / "src").mkdir(parents=True)
    (web / "src" / "main.tsx").write_text("export {};\n")
    (web / "package.json").write_text('{"scripts": {"build": "vite build", "test": "vitest"}}')
    (web / "package-lock.json").write_text('{"lockfileVersion": 3}')
    return web


def touch_later(path: Path, seconds: float = 5) -> None:
    later = time.time() + seconds
    os.utime(path, (later, later))


def npm_calls(root: Path) -> list[str]:
    calls = root / "web" / "calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_a_missing_build_is_built_and_said_so(tmp_path):
    make_web(tmp_path)
    out = bash(FAKE_NPM + "web_client_ready", cwd=tmp_path)
    assert "building the web client: web/dist is missing" in out
    assert npm_calls(tmp_path) == [
        "npm ci --no-audit --no-fund --loglevel=error",
        "npm run --silent build",
    ]
    assert (tmp_path / "web" / "dist" / "index.html").exists()


def test_a_fresh_build_is_left_alone(tmp_path):
    make_web(tmp_path)
    bash(FAKE_NPM + "web_client_ready", cwd=tmp_path)
    touch_later(tmp_path / "web" / "dist" / "index.html")
    out = bash(FAKE_NPM + "web_client_ready", cwd=tmp_path)
    assert "building" not in out
    assert npm_calls(tmp_path).count("npm run --silent build") == 1


def test_a_source_newer_than_the_build_rebuilds_it(tmp_path):
    web = make_web(tmp_path)
    bash(FAKE_NPM + "web_client_ready", cwd=tmp_path)
    touch_later(web / "src" / "main.tsx")
    out = bash(FAKE_NPM + "web_client_ready", cwd=tmp_path)
    assert "web/dist is older than web/src/main.tsx" in out
    assert npm_calls(tmp_path).count("npm run --silent build") == 2


def test_a_newer_lock_file_reinstalls_and_rebuilds(tmp_path):
    web = make_web(tmp_path)
    bash(FAKE_NPM + "web_client_ready", cwd=tmp_path)
    (web / "package-lock.json").write_text('{"lockfileVersion": 3, "changed": true}')
    touch_later(web / "package-lock.json")
    out = bash(FAKE_NPM + "web_client_ready", cwd=tmp_path)
    assert "older than web/package-lock.json" in out
    assert npm_calls(tmp_path).count("npm ci --no-audit --no-fund --loglevel=error") == 2


def test_without_a_web_folder_nothing_is_built(tmp_path):
    out = bash(FAKE_NPM + "web_client_ready && echo done", cwd=tmp_path)
    assert out.strip() == "done"


def test_web_checks_run_the_scripts_the_client_defines(tmp_path):
    make_web(tmp_path)
    out = bash(FAKE_NPM + "web_checks", cwd=tmp_path)
    assert "web: npm run test" in out
    assert "web: npm run lint" not in out  # not defined in this package.json
    assert npm_calls(tmp_path) == ["npm run --silent test"]


def test_the_serve_and_test_scripts_call_the_build_step():
    repo = Path(__file__).resolve().parent.parent
    assert "web_client_ready" in (repo / "scripts" / "serve").read_text()
    test_script = (repo / "scripts" / "test").read_text()
    assert "web_client_ready" in test_script and "web_checks" in test_script


def test_the_build_is_precompressed_in_brotli_and_gzip(tmp_path):
    """web/scripts/compress.mjs, run after vite build: copies that Sceau serves as they are."""
    node = str(require_node())  # the project's Node 22 (npm ci); a failure with CI=true
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    app = ("export const x = 'Sceau';\n" * 400).encode()
    (dist / "assets" / "app-1.js").write_bytes(app)
    (dist / "assets" / "noise-1.js").write_bytes(os.urandom(4096))  # incompressible
    (dist / "index.html").write_text("<!doctype html>")  # too small to bother
    (dist / "assets" / "logo-1.png").write_bytes(b"\x89PNG" + b"\0" * 4096)  # already packed
    (dist / "assets" / "gone-1.js.gz").write_bytes(b"stale copy from an older build")
    script = REPO / "web" / "scripts" / "compress.mjs"
    run = subprocess.run([node, str(script), str(dist)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "1 brotli copies" in run.stdout and "1 gzip copies" in run.stdout
    assert gzip.decompress((dist / "assets" / "app-1.js.gz").read_bytes()) == app
    unbrotli = subprocess.run(
        [
            node,
            "-e",
            "process.stdout.write(require('zlib').brotliDecompressSync(require('fs')"
            f".readFileSync({str(dist / 'assets' / 'app-1.js.br')!r})))",
        ],
        capture_output=True,
    )
    assert unbrotli.stdout == app
    names = sorted(p.name for p in dist.rglob("*"))
    assert names == [
        "app-1.js",
        "app-1.js.br",
        "app-1.js.gz",
        "assets",
        "index.html",
        "logo-1.png",
        "noise-1.js",
    ]
