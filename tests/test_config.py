"""Configuration: typed, validated, and every mistake names its key."""

import pytest

from sceau.config import ConfigError, parse_config, render_default_config


def test_generated_default_config_is_valid_and_closed_by_default(tmp_path):
    import yaml

    config = parse_config(yaml.safe_load(render_default_config("ministere.gouv.fr")), str(tmp_path))
    assert config.server_name == "ministere.gouv.fr"
    assert config.registration.mode == "closed"
    assert config.rate_limits.enabled is True
    assert config.database.backend == "sqlite"
    assert config.listeners[0].port == 8008
    assert config.media == type(config.media)()  # the template writes the defaults


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"server_name": "x.fr", "registraton": {}}, "unknown key 'registraton'"),
        ({"server_name": "x.fr", "registration": {"mode": "everyone"}}, "registration.mode"),
        ({"server_name": "x.fr", "listeners": [{"port": "eighty"}]}, "listeners.0.port"),
        ({"server_name": "x.fr", "listeners": [{"port": 70000}]}, "listeners.0.port"),
        (
            {"server_name": "x.fr", "rate_limits": {"message": {"per_second": -1, "burst": 1}}},
            "rate_limits.message.per_second",
        ),
        ({"server_name": "x.fr", "default_room_version": "9"}, "default_room_version"),
        ({"server_name": "x.fr", "media": {"max_upload_bytes": 0}}, "media.max_upload_bytes"),
        ({"server_name": "x.fr", "media": {"store": "m"}}, "unknown key 'media.store'"),
        ({"server_name": "x.fr", "database": {"sqlite_cache_mib": 0}}, "database.sqlite_cache_mib"),
        ({"server_name": "bad name/"}, "server_name"),
        ({}, "missing key 'server_name'"),
    ],
)
def test_invalid_config_names_the_key(tmp_path, raw, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, str(tmp_path))
    assert message in str(caught.value)


def test_config_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="mapping"):
        parse_config(["not", "a", "mapping"], str(tmp_path))


def test_relative_paths_resolve_against_the_data_folder(tmp_path):
    config = parse_config({"server_name": "x.fr"}, str(tmp_path))
    assert config.resolve_path(config.database.path) == tmp_path / "sceau.db"


TURN = ["turn:turn.x.fr:3478?transport=udp"]


@pytest.mark.parametrize(
    ("lifetime", "expected_ms"),
    [("1h", 3_600_000), ("30m", 1_800_000), ("90s", 90_000), ("2d", 172_800_000), (60_000, 60_000)],
)
def test_turn_lifetime_takes_milliseconds_or_a_duration(tmp_path, lifetime, expected_ms):
    voip = {"turn_uris": TURN, "turn_shared_secret": "s", "turn_user_lifetime": lifetime}
    config = parse_config({"server_name": "x.fr", "voip": voip}, str(tmp_path))
    assert config.voip.turn_user_lifetime == expected_ms


def test_turn_is_off_by_default(tmp_path):
    voip = parse_config({"server_name": "x.fr"}, str(tmp_path)).voip
    assert voip.turn_uris == [] and voip.turn_shared_secret is None
    assert voip.turn_user_lifetime == 3_600_000


@pytest.mark.parametrize(
    ("voip", "message"),
    [
        ({"turn_uris": ["https://turn.x.fr"], "turn_shared_secret": "s"}, "voip.turn_uris"),
        ({"turn_uris": TURN}, "turn_uris needs turn_shared_secret"),
        ({"turn_shared_secret": "s"}, "turn_uris is empty"),
        ({"turn_uris": TURN, "turn_username": "u"}, "go together"),
        (
            {
                "turn_uris": TURN,
                "turn_shared_secret": "s",
                "turn_username": "u",
                "turn_password": "p",
            },
            "not both",
        ),
        ({"turn_uris": TURN, "turn_shared_secret": ""}, "must not be empty"),
        ({"turn_uris": TURN, "turn_shared_secret": "s", "turn_user_lifetime": "soon"}, "lifetime"),
        ({"turn_uris": TURN, "turn_shared_secret": "s", "turn_user_lifetime": 10}, "lifetime"),
        ({"turn_uri": TURN}, "unknown key 'voip.turn_uri'"),
    ],
)
def test_invalid_turn_settings_stop_start_up(tmp_path, voip, message):
    with pytest.raises(ConfigError) as caught:
        parse_config({"server_name": "x.fr", "voip": voip}, str(tmp_path))
    assert message in str(caught.value)


def _workers(**section):
    pg = {"backend": "postgresql", "dsn": "postgresql://x@127.0.0.1/db"}
    instances = {
        "main": {"roles": ["main"], "port": 8008, "replication_port": 9093},
        "writer_b": {"roles": ["event_writer"], "port": 8010, "replication_port": 9095},
        "writer_a": {"roles": ["event_writer"], "port": 8009, "replication_port": 9094},
    }
    workers = {"replication_secret": "s3cret", "instances": instances, **section}
    return {"server_name": "example.org", "database": pg, "workers": workers}


def test_workers_list_event_writers_in_a_stable_order(tmp_path):
    config = parse_config(_workers(), str(tmp_path))
    assert config.workers.enabled
    assert config.workers.main_name() == "main"
    assert config.workers.event_writers() == ["writer_a", "writer_b"]


def test_main_sends_the_federation_queue_unless_a_federation_sender_is_named(tmp_path):
    assert parse_config(_workers(), str(tmp_path)).workers.federation_sender_name() == "main"
    raw = _workers()
    raw["workers"]["instances"]["fed"] = {
        "roles": ["federation_sender"],
        "port": 8040,
        "replication_port": 9040,
    }
    assert parse_config(raw, str(tmp_path)).workers.federation_sender_name() == "fed"


def test_federation_runs_with_event_writers(tmp_path):
    raw = {**_workers(), "federation": {"enabled": True, "allow": ["other.example"]}}
    config = parse_config(raw, str(tmp_path))
    assert config.federation.enabled and config.workers.event_writers() == ["writer_a", "writer_b"]


def test_two_federation_senders_stop_start_up(tmp_path):
    raw = _workers()
    for name, port in (("fed_a", 8040), ("fed_b", 8041)):
        raw["workers"]["instances"][name] = {
            "roles": ["federation_sender"],
            "port": port,
            "replication_port": port + 1000,
        }
    with pytest.raises(ConfigError, match=r"at most one instance .* 'federation_sender'.*fed_a"):
        parse_config(raw, str(tmp_path))


def test_no_workers_by_default(tmp_path):
    assert not parse_config({"server_name": "example.org"}, str(tmp_path)).workers.enabled


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"database": {"backend": "sqlite"}}, "needs database.backend 'postgresql'"),
        (
            {
                "workers": {
                    "instances": {"a": {"roles": ["sync"], "port": 1, "replication_port": 2}},
                    "replication_secret": "x",
                }
            },
            "exactly one instance with the 'main' role",
        ),
        (
            {
                "workers": {
                    "instances": {"m": {"roles": ["main"], "port": 1, "replication_port": 2}}
                }
            },
            "replication_secret is required",
        ),
    ],
)
def test_invalid_workers_stop_start_up(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({**_workers(), **change}, str(tmp_path))
