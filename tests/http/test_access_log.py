"""The access log: one line per request, its format, and never a token or a secret."""

import logging
import re

import pytest

from sceau.http.observe import ACCESS_LOGGER, REDACTED, redact_query

LINE = re.compile(
    r"^(?P<address>\S+) (?P<method>[A-Z]+) (?P<target>\S+) (?P<status>\d{3}) "
    r"(?P<ms>\d+\.\d)ms (?P<user>\S+)$"
)


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]


@pytest.fixture(autouse=True)
def capture_access_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)


async def test_each_request_gets_one_line_with_method_path_status_duration_and_user(
    user_factory, caplog
):
    alice = await user_factory("alice")
    caplog.clear()
    await alice.ok("GET", "/account/whoami")
    await alice.http.get("/_matrix/client/v3/account/whoami")  # no token: 401
    lines = access_lines(caplog)
    assert len(lines) == 2
    first, second = (LINE.match(line) for line in lines)
    assert first and second, lines
    assert first["method"] == "GET"
    assert first["target"] == "/_matrix/client/v3/account/whoami"
    assert first["status"] == "200"
    assert first["user"] == alice.user_id
    assert float(first["ms"]) >= 0
    assert second["status"] == "401"
    assert second["user"] == "-"


async def test_the_query_string_is_kept_but_not_the_access_token(user_factory, caplog):
    alice = await user_factory("alice")
    caplog.clear()
    response = await alice.http.get(
        "/_matrix/client/v3/sync", params={"access_token": alice.token, "timeout": "0"}
    )
    assert response.status_code == 200
    [line] = access_lines(caplog)
    assert alice.token not in line
    match = LINE.match(line)
    assert match, line
    assert match["target"] == f"/_matrix/client/v3/sync?access_token={REDACTED}&timeout=0"
    assert match["user"] == alice.user_id


async def test_no_token_password_or_secret_reaches_the_log(client, user_factory, caplog):
    alice = await user_factory("alice")
    caplog.clear()
    secrets_sent = ["tok-SECRET-1", "cs-SECRET-2", "sid-SECRET-3", "pw-SECRET-4", "lt-SECRET-5"]
    await client.get(
        "/_matrix/client/v3/register/email/submitToken",
        params={"token": secrets_sent[0], "client_secret": secrets_sent[1], "sid": secrets_sent[2]},
    )
    await client.get("/_matrix/client/v3/login", params={"password": secrets_sent[3]})
    await client.get(
        "/_matrix/client/v1/register/m.login.registration_token/validity",
        params={"token": secrets_sent[4]},
    )
    await client.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "alice", "password": secrets_sent[3]},
    )
    await alice.ok("GET", "/account/whoami")  # the bearer token travels in a header
    text = "\n".join(access_lines(caplog))
    assert len(access_lines(caplog)) == 5
    for secret in [*secrets_sent, alice.token]:
        assert secret not in text
    assert "client_secret=<redacted>" in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ""),
        ("since=s12&timeout=30000", "since=s12&timeout=30000"),
        ("access_token=abc", "access_token=<redacted>"),
        ("ACCESS_TOKEN=abc&limit=5", "ACCESS_TOKEN=<redacted>&limit=5"),
        (
            "token=a&sid=b&client_secret=c",
            "token=<redacted>&sid=<redacted>&client_secret=<redacted>",
        ),
        ("new_password=x&loginToken=y", "new_password=<redacted>&loginToken=<redacted>"),
        ("access_token=a%20b&dir=b", "access_token=<redacted>&dir=b"),
        ("dir=b&Client_Secret=x", "dir=b&Client_Secret=<redacted>"),
        ("access%5Ftoken=abc&dir=b", "access_token=<redacted>&dir=b"),
        ("from=s1_0&limit=10&dir=b", "from=s1_0&limit=10&dir=b"),
    ],
)
def test_secret_query_parameters_are_redacted(query, expected):
    assert redact_query(query) == expected


async def test_the_access_log_is_on_by_default(services):
    assert services.config.logging.access_log is True


class TestSwitchedOff:
    @pytest.fixture
    def config_overrides(self):
        return {"logging": {"access_log": False}}

    async def test_no_line_is_written_when_logging_access_log_is_false(self, user_factory, caplog):
        alice = await user_factory("alice")
        caplog.clear()
        await alice.ok("GET", "/account/whoami")
        assert access_lines(caplog) == []


async def test_a_sync_answered_on_the_direct_path_gets_its_line_too(user_factory, client, caplog):
    alice = await user_factory("alice")
    caplog.clear()
    await alice.ok("GET", "/sync", params={"timeout": "0", "set_presence": "offline"})
    await client.get("/_matrix/client/v3/sync")  # no token: 401
    first, second = (LINE.match(line) for line in access_lines(caplog))
    assert first and second
    assert first["target"] == "/_matrix/client/v3/sync?timeout=0&set_presence=offline"
    assert (first["status"], first["user"]) == ("200", alice.user_id)
    assert (second["status"], second["user"]) == ("401", "-")
