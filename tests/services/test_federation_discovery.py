"""Server discovery: IP literals, explicit ports, .well-known delegation, SRV, 8448."""

import pytest

from sceau.clock import FakeClock
from sceau.services.federation.discovery import Destination, ServerResolver


class Lookups:
    def __init__(self, well_known=None, srv=None) -> None:
        self.well_known_answers = well_known or {}
        self.srv_answers = srv or {}
        self.asked: list[str] = []

    async def well_known(self, host: str):
        self.asked.append("wk:" + host)
        answer = self.well_known_answers.get(host)
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            raise OSError("404")
        return answer

    async def srv(self, query: str):
        self.asked.append("srv:" + query)
        return self.srv_answers.get(query, [])


def _resolver(lookups: Lookups) -> ServerResolver:
    return ServerResolver(clock=FakeClock(), well_known=lookups.well_known, srv_lookup=lookups.srv)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("127.0.0.1", Destination("127.0.0.1", 8448, "127.0.0.1", "127.0.0.1")),
        ("127.0.0.1:8481", Destination("127.0.0.1", 8481, "127.0.0.1:8481", "127.0.0.1")),
        ("[::1]:9000", Destination("::1", 9000, "[::1]:9000", "::1")),
        (
            "matrix.example:1234",
            Destination("matrix.example", 1234, "matrix.example:1234", "matrix.example"),
        ),
    ],
)
async def test_ip_literals_and_explicit_ports_are_used_without_any_lookup(name, expected):
    lookups = Lookups()
    assert await _resolver(lookups).resolve(name) == expected
    assert lookups.asked == []


async def test_well_known_delegation_to_an_explicit_port():
    lookups = Lookups(well_known={"example.org": {"m.server": "matrix.example.org:443"}})
    found = await _resolver(lookups).resolve("example.org")
    assert found == Destination(
        "matrix.example.org", 443, "matrix.example.org:443", "matrix.example.org"
    )


async def test_well_known_delegation_then_srv_of_the_delegated_name():
    lookups = Lookups(
        well_known={"example.org": {"m.server": "fed.example.org"}},
        srv={"_matrix-fed._tcp.fed.example.org": [("host1.example.org", 8449)]},
    )
    found = await _resolver(lookups).resolve("example.org")
    assert found == Destination("host1.example.org", 8449, "fed.example.org", "fed.example.org")


async def test_well_known_delegation_without_srv_defaults_to_8448():
    lookups = Lookups(well_known={"example.org": {"m.server": "fed.example.org"}})
    found = await _resolver(lookups).resolve("example.org")
    assert found == Destination("fed.example.org", 8448, "fed.example.org", "fed.example.org")


async def test_without_well_known_srv_of_the_name_is_used():
    lookups = Lookups(srv={"_matrix-fed._tcp.example.org": [("a.example.org", 8000)]})
    found = await _resolver(lookups).resolve("example.org")
    assert found == Destination("a.example.org", 8000, "example.org", "example.org")


async def test_deprecated_matrix_srv_is_tried_after_matrix_fed():
    lookups = Lookups(srv={"_matrix._tcp.example.org": [("old.example.org", 8001)]})
    found = await _resolver(lookups).resolve("example.org")
    assert found == Destination("old.example.org", 8001, "example.org", "example.org")
    assert lookups.asked[-2:] == [
        "srv:_matrix-fed._tcp.example.org",
        "srv:_matrix._tcp.example.org",
    ]


@pytest.mark.parametrize(
    "well_known",
    [None, ValueError("bad json"), ["m.server"], {"m.server": 3}, {"m.server": "bad name!"}],
)
async def test_missing_or_invalid_well_known_falls_back_to_port_8448(well_known):
    lookups = Lookups(well_known={"example.org": well_known} if well_known is not None else {})
    found = await _resolver(lookups).resolve("example.org")
    assert found == Destination("example.org", 8448, "example.org", "example.org")


async def test_resolutions_are_cached():
    lookups = Lookups()
    resolver = _resolver(lookups)
    await resolver.resolve("example.org")
    asked = len(lookups.asked)
    await resolver.resolve("example.org")
    assert len(lookups.asked) == asked


async def test_invalid_server_name_is_a_value_error():
    with pytest.raises(ValueError):
        await _resolver(Lookups()).resolve("not a name")
