"""The content scanner: encrypted attachments scanned by a real clamd before anyone opens them.

Files are encrypted here as a client would (AES-256-CTR, the Matrix
EncryptedFile format) and uploaded as ciphertext, which the upload scan cannot
see into; the scanner decrypts them in a temporary file that does not outlive
the scan. The key reaches it in clear or sealed to its public key with
vodozemac's PkEncryption.
"""

import base64
import hashlib
import os
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from vodozemac import Curve25519PublicKey, PkEncryption

from tests.antivirus_support import EICAR, clamd  # noqa: F401
from tests.http.media_support import SERVER, upload

PROXY = "/_matrix/media_proxy/unstable"
CLEAN = b"Compte rendu de la reunion du lundi.\n" * 100


@pytest.fixture
def config_overrides(clamd) -> dict[str, Any]:  # noqa: F811
    return {
        "media": {
            "antivirus": {"enabled": True, "clamd": clamd.unix_address},
            "content_scanner": {"enabled": True},
        }
    }


def _unpadded(data: bytes, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(data).decode().rstrip("=")


def encrypt_attachment(plaintext: bytes) -> tuple[bytes, dict[str, Any]]:
    """Ciphertext and the EncryptedFile metadata (url filled in after upload)."""
    key, iv = os.urandom(32), os.urandom(8) + b"\x00" * 8
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    file = {
        "v": "v2",
        "key": {
            "alg": "A256CTR",
            "ext": True,
            "k": _unpadded(key, urlsafe=True),
            "key_ops": ["encrypt", "decrypt"],
            "kty": "oct",
        },
        "iv": _unpadded(iv),
        "hashes": {"sha256": _unpadded(hashlib.sha256(ciphertext).digest())},
    }
    return ciphertext, file


async def uploaded_encrypted(user: Any, plaintext: bytes) -> tuple[bytes, dict[str, Any]]:
    ciphertext, file = encrypt_attachment(plaintext)
    media_id = await upload(user, ciphertext, "application/octet-stream")
    return ciphertext, {**file, "url": f"mxc://{SERVER}/{media_id}"}


async def sealed(user: Any, file: dict[str, Any]) -> dict[str, Any]:
    public_key = (await user.ok("GET", PROXY + "/public_key"))["public_key"]
    message = PkEncryption.from_key(Curve25519PublicKey.from_base64(public_key)).encrypt(
        orjson.dumps({"file": file})
    )
    ephemeral, mac, ciphertext = message.to_base64()  # this order, unlike from_base64
    return {"encrypted_body": {"ciphertext": ciphertext, "mac": mac, "ephemeral": ephemeral}}


def refused(response: Any, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["reason"] == reason
    assert isinstance(response.json()["info"], str)


async def test_an_encrypted_eicar_is_refused_and_a_clean_file_passes_with_a_sealed_key(
    user_factory, tmp_path
):
    alice = await user_factory("alice")
    _, infected = await uploaded_encrypted(alice, EICAR)
    verdict = await alice.request(
        "POST", PROXY + "/scan_encrypted", json=await sealed(alice, infected)
    )
    assert verdict.status_code == 200
    assert verdict.json() == {"clean": False, "info": "***VIRUS DETECTED***"}
    blocked = await alice.request(
        "POST", PROXY + "/download_encrypted", json=await sealed(alice, infected)
    )
    refused(blocked, 403, "MCS_MEDIA_NOT_CLEAN")
    ciphertext, clean = await uploaded_encrypted(alice, CLEAN)
    ok = await alice.request("POST", PROXY + "/scan_encrypted", json=await sealed(alice, clean))
    assert ok.json() == {"clean": True, "info": "File is clean"}
    served = await alice.request("POST", PROXY + "/download_encrypted", json={"file": clean})
    assert served.status_code == 200
    assert served.content == ciphertext, "the client gets the ciphertext, never the plaintext"
    assert not list((tmp_path / "media" / "tmp").iterdir()), "no decrypted bytes stay on disk"


async def test_the_key_may_also_come_in_clear(user_factory):
    alice = await user_factory("alice")
    _, infected = await uploaded_encrypted(alice, EICAR)
    verdict = await alice.ok("POST", PROXY + "/scan_encrypted", json={"file": infected})
    assert verdict["clean"] is False


async def test_bad_requests_get_the_scanners_errors(client, user_factory):
    alice = await user_factory("alice")
    _, file = await uploaded_encrypted(alice, CLEAN)
    garbage = {"encrypted_body": {"ciphertext": "AAAA", "mac": "AAAA", "ephemeral": "AAAA"}}
    refused(
        await alice.request("POST", PROXY + "/scan_encrypted", json=garbage),
        403,
        "MCS_BAD_DECRYPTION",
    )
    wrong_key = {**file, "key": {**file["key"], "k": _unpadded(os.urandom(32), urlsafe=True)}}
    wrong_hash = {**file, "hashes": {"sha256": _unpadded(os.urandom(32))}}
    refused(
        await alice.request("POST", PROXY + "/scan_encrypted", json={"file": wrong_hash}),
        400,
        "MCS_MEDIA_FAILED_TO_DECRYPT",
    )
    # A wrong key decrypts to other bytes: scanned (clean), never an error or a 500.
    assert (
        await alice.request("POST", PROXY + "/scan_encrypted", json={"file": wrong_key})
    ).status_code == 200
    refused(
        await alice.request("POST", PROXY + "/scan_encrypted", content=b"{not json"),
        400,
        "MCS_MALFORMED_JSON",
    )
    refused(
        await alice.request("POST", PROXY + "/scan_encrypted", json={"file": {"url": "http://x"}}),
        400,
        "MCS_MALFORMED_JSON",
    )
    missing = {**file, "url": f"mxc://{SERVER}/nosuchmediaidhere"}
    refused(
        await alice.request("POST", PROXY + "/scan_encrypted", json={"file": missing}),
        404,
        "M_NOT_FOUND",
    )
    anonymous = await client.post(PROXY + "/scan_encrypted", json={"file": file})
    assert anonymous.status_code == 401


async def test_plain_media_is_scanned_downloaded_and_thumbnailed_through_the_scanner(user_factory):
    from tests.http.media_support import image_bytes

    alice = await user_factory("alice")
    media_id = await upload(alice, image_bytes(64, 64), "image/png")
    assert await alice.ok("GET", f"{PROXY}/scan/{SERVER}/{media_id}") == {
        "clean": True,
        "info": "File is clean",
    }
    download = await alice.request("GET", f"{PROXY}/download/{SERVER}/{media_id}")
    assert download.status_code == 200 and download.content == image_bytes(64, 64)
    thumb = await alice.request("GET", f"{PROXY}/thumbnail/{SERVER}/{media_id}?width=32&height=32")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"].startswith("image/")


async def test_the_public_key_survives_a_restart(services, tmp_path):
    from sceau.services.content_scanner import load_or_create_key

    first = services.content_scanner.public_key()
    again = load_or_create_key(tmp_path / "content_scanner.key")
    assert again.public_key.to_base64() == first
    assert oct((tmp_path / "content_scanner.key").stat().st_mode & 0o777) == "0o600"


async def test_verdicts_are_cached_per_file_a_silent_antivirus_is_request_failed_and_nothing_leaks_to_logs(
    user_factory, services, monkeypatch, caplog
):
    from sceau.services.antivirus import ScanError

    caplog.set_level("DEBUG")
    alice = await user_factory("alice")
    _, seen = await uploaded_encrypted(alice, CLEAN)
    assert (await alice.ok("POST", PROXY + "/scan_encrypted", json={"file": seen}))["clean"]

    async def silent(path: Any) -> None:
        raise ScanError("clamd is down")

    monkeypatch.setattr(services.content_scanner._scanner, "scan", silent)
    again = await alice.ok("POST", PROXY + "/scan_encrypted", json=await sealed(alice, seen))
    assert again["clean"] is True, "the verdict on this file was kept"
    _, fresh = await uploaded_encrypted(alice, CLEAN + b"!")
    refused(
        await alice.request("POST", PROXY + "/scan_encrypted", json={"file": fresh}),
        502,
        "MCS_MEDIA_REQUEST_FAILED",
    )
    assert b"Compte rendu" not in caplog.text.encode(), "decrypted bytes are never logged"
    assert seen["key"]["k"] not in caplog.text, "nor the file's key"
