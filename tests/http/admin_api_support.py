"""Helpers for the Synapse admin API tests: a server admin and requests under /_synapse/admin."""

from typing import Any

import httpx

from sceau.homeserver import Services
from tests.conftest import MatrixUser, create_local_user

ADMIN = "/_synapse/admin"


async def make_admin(services: Services, http: httpx.AsyncClient, localpart: str) -> MatrixUser:
    """A user with a token whose account is a server admin."""
    user = await create_local_user(services, http, localpart)
    async with services.stores.db.transaction() as txn:
        await services.stores.accounts.set_admin(txn, user.user_id, True)
    return user


async def call(user: MatrixUser | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A request under /_synapse/admin, as ``user`` (None: without a token)."""
    headers = user.headers if user is not None else {}
    http = user.http if user is not None else kwargs.pop("http")
    return await http.request(method, ADMIN + path, headers=headers, **kwargs)


async def ok(user: MatrixUser, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    response = await call(user, method, path, **kwargs)
    assert response.status_code == status, (method, path, response.status_code, response.text)
    return response.json()


def errcode(response: httpx.Response) -> str:
    return str(response.json().get("errcode"))
