"""Checks response bodies against the spec's OpenAPI definitions in tests/spec.

Tests call :func:`assert_spec_shape`; the definitions are part of the repository,
so these checks run in every clone.
"""

import json
from functools import cache
from typing import Any

import jsonschema

from tests.conftest import spec_file


@cache
def _client_server() -> dict[str, Any]:
    path = spec_file("client-server.json")
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def response_schema(path: str, method: str, status: int = 200) -> dict[str, Any]:
    operation = _client_server()["paths"][path][method.lower()]
    content = operation["responses"][str(status)]["content"]["application/json"]
    return content["schema"]  # type: ignore[no-any-return]


def assert_spec_shape(path: str, method: str, body: Any, status: int = 200) -> None:
    """Fail with the first schema violation of ``body`` for this endpoint."""
    jsonschema.validate(body, response_schema(path, method, status))
