async def test_versions_lists_only_served_spec_versions(client):
    response = await client.get("/_matrix/client/versions")
    assert response.status_code == 200
    assert "v1.11" in response.json()["versions"]


async def test_unknown_endpoint_is_m_unrecognized_404(client):
    response = await client.get("/_matrix/client/v3/no/such/thing")
    assert response.status_code == 404
    assert response.json()["errcode"] == "M_UNRECOGNIZED"


async def test_wrong_method_is_m_unrecognized_405(client):
    response = await client.delete("/_matrix/client/versions")
    assert response.status_code == 405
    assert response.json()["errcode"] == "M_UNRECOGNIZED"


async def test_preflight_gets_cors_headers(client):
    response = await client.options("/_matrix/client/v3/sync")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


async def test_capabilities_needs_a_token(client):
    response = await client.get("/_matrix/client/v3/capabilities")
    assert response.status_code == 401
    assert response.json()["errcode"] == "M_MISSING_TOKEN"


async def test_every_answer_names_sceau_in_its_server_header(client):
    from sceau import __version__

    for path in ("/_matrix/client/versions", "/_matrix/client/v3/nowhere"):
        response = await client.get(path)
        assert response.headers["server"] == f"Sceau/{__version__}"
