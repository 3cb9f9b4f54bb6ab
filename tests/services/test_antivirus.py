"""The clamd client against a real clamd: verdicts, size limit, unreachable daemon."""

from pathlib import Path

import pytest

from sceau.services.antivirus import ClamdClient, ScanError, parse_reply
from tests.antivirus_support import EICAR, SIGNATURE, STREAM_MAX_BYTES, clamd  # noqa: F401
from tests.conftest import free_port


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload.part"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("transport", ["unix", "tcp"])
async def test_a_clean_file_is_ok_over_unix_and_tcp_sockets(clamd, tmp_path, transport):  # noqa: F811
    address = clamd.unix_address if transport == "unix" else clamd.tcp_address
    client = ClamdClient(address, timeout_s=30)
    assert await client.ping()
    assert await client.scan(_file(tmp_path, b"Compte rendu de la reunion\n" * 1000)) is None


async def test_the_eicar_file_is_found_with_its_signature_name(clamd, tmp_path):  # noqa: F811
    client = ClamdClient(clamd.unix_address, timeout_s=30)
    found = await client.scan(_file(tmp_path, EICAR))
    assert found is not None and found.startswith(SIGNATURE)


async def test_eicar_split_across_small_chunks_is_still_found(clamd, tmp_path):  # noqa: F811
    client = ClamdClient(clamd.tcp_address, timeout_s=30, chunk_bytes=7)
    found = await client.scan(_file(tmp_path, EICAR))
    assert found is not None and found.startswith(SIGNATURE)


async def test_an_empty_file_is_clean(clamd, tmp_path):  # noqa: F811
    assert await ClamdClient(clamd.unix_address, 30).scan(_file(tmp_path, b"")) is None


async def test_a_stream_over_clamds_size_limit_is_a_scan_error(clamd, tmp_path):  # noqa: F811
    client = ClamdClient(clamd.unix_address, timeout_s=30)
    big = _file(tmp_path, b"\x00" * (STREAM_MAX_BYTES + 300_000))
    with pytest.raises(ScanError, match="size limit"):
        await client.scan(big)


@pytest.mark.parametrize(
    "address",
    ["unix:///nonexistent/sceau/clamd.sock", f"tcp://127.0.0.1:{free_port()}"],
    ids=["unix", "tcp"],
)
async def test_an_unreachable_clamd_is_a_scan_error(tmp_path, address):
    client = ClamdClient(address, timeout_s=5)
    assert not await client.ping()
    with pytest.raises(ScanError):
        await client.scan(_file(tmp_path, b"hello"))


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b"stream: OK\x00", None),
        (b"stream: Win.Test.EICAR_HDB-1 FOUND\x00", "Win.Test.EICAR_HDB-1"),
    ],
)
def test_replies_are_parsed_into_verdicts(reply, expected):
    assert parse_reply(reply) == expected


@pytest.mark.parametrize(
    "reply",
    [b"INSTREAM size limit exceeded. ERROR\x00", b"stream: FOUND\x00", b"UNKNOWN COMMAND\x00", b""],
)
def test_errors_and_unknown_replies_are_scan_errors(reply):
    with pytest.raises(ScanError):
        parse_reply(reply)
