"""Helpers for federation API tests: a pinned remote server that signs requests, spec shapes."""

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sceau.protocol.federation import sign_request
from sceau.protocol.signing import SigningKey, generate_signing_key

SPEC = Path(__file__).resolve().parent.parent / "spec" / "server-server.json"
HERE = "test.local"
REMOTE = "remote.example:8448"
REMOTE_KEY = generate_signing_key(b"\x21" * 32, "remote")
STRANGER = "stranger.example"
STRANGER_KEY = generate_signing_key(b"\x22" * 32, "stranger")


def federation_overrides(**extra: Any) -> dict[str, Any]:
    """Federation on, REMOTE allowed with its key pinned (so nothing is fetched)."""
    federation = {
        "enabled": True,
        "allow": [REMOTE],
        "pinned_keys": {
            REMOTE: {REMOTE_KEY.key_id: REMOTE_KEY.verify_key_base64},
            STRANGER: {STRANGER_KEY.key_id: STRANGER_KEY.verify_key_base64},
        },
        **extra,
    }
    return {"federation": federation}


async def signed(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, Any] | None = None,
    origin: str = REMOTE,
    key: SigningKey = REMOTE_KEY,
    destination: str = HERE,
) -> httpx.Response:
    """A request from ``origin`` signed with ``key`` (X-Matrix), as another server sends it."""
    uri = path + ("?" + urlencode(query, doseq=True) if query else "")
    header = sign_request(method, uri, origin, destination, body, key)
    content = json.dumps(body).encode() if body is not None else None
    return await http.request(
        method,
        uri,
        content=content,
        headers={"Authorization": header, "Content-Type": "application/json"},
    )


@cache
def _spec() -> dict[str, Any]:
    return json.loads(SPEC.read_text(encoding="utf-8"))


def check_shape(spec_path: str, method: str, response: httpx.Response) -> None:
    """The body matches the server-server spec's schema for that status."""
    document = _spec()
    operation = document["paths"][spec_path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{spec_path}: the spec has no {status}"
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in ("paths", spec_path, method.lower(), "responses", status)
    )
    root = {**document, "$ref": f"#/{pointer}/content/application~1json/schema"}
    resource = Resource.from_contents(root, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource("urn:spec", resource)
    validator = Draft202012Validator({"$ref": "urn:spec"}, registry=registry)
    errors = [
        f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(response.json())
    ]
    assert not errors, f"{method} {spec_path} -> {status}: {errors[:10]}"
