"""The content scanner: attachments checked by the antivirus before anyone opens them.

Encrypted attachments reach the server as ciphertext, so the upload scan cannot
see inside them. The real system's clients therefore ask a *content scanner*
(served here under ``/_matrix/media_proxy/unstable/``) before showing any file:
they hand over the file's key, either in clear or encrypted to the scanner's
public key (vodozemac ``PkEncryption``), and the scanner decrypts the file into a
temporary file, has clamd scan it, deletes it, and answers clean or not.
Decrypted bytes never stay on disk and are never logged; verdicts are cached
per file and key, so a file shown to a hundred members is scanned once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:  # imported on first use: cryptography alone is 9 MiB of a server's RSS
    from vodozemac import PkDecryption

from sceau.errors import MatrixError
from sceau.services.antivirus import ScanError, Scanner
from sceau.services.media import MediaFile, MediaService
from sceau.storage.media_files import PartialFile

logger = logging.getLogger(__name__)

CACHE_SIZE = 10_000
CHUNK_BYTES = 1 << 20


def scanner_error(status: int, reason: str, info: str) -> MatrixError:
    """An error in the content scanner's format (``reason`` and ``info``)."""
    return MatrixError(status, reason, info, reason=reason, info=info)


def malformed(info: str) -> MatrixError:
    return scanner_error(400, "MCS_MALFORMED_JSON", info)


@dataclass(frozen=True)
class Verdict:
    clean: bool
    info: str

    def json(self) -> dict[str, Any]:
        return {"clean": self.clean, "info": self.info}


@dataclass(frozen=True)
class EncryptedFile:
    """The parts of a Matrix ``EncryptedFile`` the scanner needs."""

    server_name: str
    media_id: str
    key: bytes
    iv: bytes
    sha256: bytes


def _b64(value: Any, urlsafe: bool = False) -> bytes:
    if not isinstance(value, str):
        raise malformed("Expected a base64 string")
    padded = value + "=" * (-len(value) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise malformed("Invalid base64") from None


def parse_encrypted_file(file: Any) -> EncryptedFile:
    """Read an EncryptedFile (v2, A256CTR) or raise MCS_MALFORMED_JSON."""
    if not isinstance(file, dict):
        raise malformed("'file' must be an object")
    url, key, hashes = file.get("url"), file.get("key"), file.get("hashes")
    if not isinstance(url, str) or not url.startswith("mxc://") or url.count("/") != 3:
        raise malformed("'file.url' must be an mxc:// URI")
    server_name, _, media_id = url[len("mxc://") :].partition("/")
    if not isinstance(key, dict) or key.get("alg") != "A256CTR" or key.get("kty") != "oct":
        raise malformed("'file.key' must be an A256CTR JSON Web Key")
    if not isinstance(hashes, dict):
        raise malformed("'file.hashes' must be an object")
    secret, iv, digest = (
        _b64(key.get("k"), urlsafe=True),
        _b64(file.get("iv")),
        _b64(hashes.get("sha256")),
    )
    if len(secret) != 32 or len(iv) != 16 or len(digest) != 32:
        raise malformed("Wrong key, iv or hash length")
    return EncryptedFile(server_name, media_id, secret, iv, digest)


def load_or_create_key(path: Path) -> PkDecryption:
    """The scanner's Curve25519 key pair, kept across restarts (clients cache the public key)."""
    from vodozemac import Curve25519SecretKey, PkDecryption

    if path.exists():
        secret = Curve25519SecretKey.from_base64(path.read_text(encoding="utf-8").strip())
        return PkDecryption.from_key(secret)
    pair = PkDecryption()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(pair.key.to_base64() + "\n")
    return pair


class ContentScanner:
    def __init__(self, *, media: MediaService, scanner: Scanner, key: PkDecryption) -> None:
        self._media = media
        self._scanner = scanner
        self._key = key
        self._verdicts: OrderedDict[tuple[str, ...], Verdict] = OrderedDict()

    def public_key(self) -> str:
        return str(self._key.public_key.to_base64())

    # ------------------------------------------------------------ requests

    def encrypted_file(self, body: dict[str, Any]) -> EncryptedFile:
        """The file named by a scan_encrypted/download_encrypted body, decrypting it if sealed."""
        sealed = body.get("encrypted_body")
        if sealed is None:
            return parse_encrypted_file(body.get("file"))
        if not isinstance(sealed, dict):
            raise malformed("'encrypted_body' must be an object")
        from vodozemac import Message

        try:
            message = Message.from_base64(sealed["ciphertext"], sealed["mac"], sealed["ephemeral"])
            plaintext = self._key.decrypt(message)
            inner = orjson.loads(plaintext)
        except Exception:
            raise scanner_error(
                403, "MCS_BAD_DECRYPTION", "The encrypted body could not be decrypted"
            ) from None
        if not isinstance(inner, dict):
            raise malformed("The decrypted body must be an object")
        return parse_encrypted_file(inner.get("file"))

    async def scan_media(self, server_name: str, media_id: str) -> Verdict:
        """GET scan/{server}/{id}: the verdict on a plain (unencrypted) file."""
        media = await self._fetch(server_name, media_id)
        key = ("plain", server_name, media_id)
        return await self._cached(key, lambda: self._scan_path(media.path))

    async def scan_encrypted(self, file: EncryptedFile) -> Verdict:
        media = await self._fetch(file.server_name, file.media_id)
        fingerprint = hashlib.sha256(file.key + file.iv + file.sha256).hexdigest()
        key = ("encrypted", file.server_name, file.media_id, fingerprint)
        return await self._cached(key, lambda: self._scan_decrypted(media, file))

    async def clean_media(self, server_name: str, media_id: str) -> MediaFile:
        """The stored file, once its scan says clean; MCS_MEDIA_NOT_CLEAN otherwise."""
        _require_clean(await self.scan_media(server_name, media_id))
        return await self._fetch(server_name, media_id)

    async def clean_encrypted(self, file: EncryptedFile) -> MediaFile:
        """The stored ciphertext, once its decrypted content scans clean."""
        _require_clean(await self.scan_encrypted(file))
        return await self._fetch(file.server_name, file.media_id)

    # ------------------------------------------------------------ scanning

    async def _fetch(self, server_name: str, media_id: str) -> MediaFile:
        try:
            return await self._media.download(server_name, media_id, timeout_ms=0)
        except MatrixError as exc:
            if exc.status == 404:
                raise scanner_error(404, "M_NOT_FOUND", "Media not found") from None
            raise scanner_error(
                502, "MCS_MEDIA_REQUEST_FAILED", "The media could not be fetched"
            ) from None

    async def _cached(self, key: tuple[str, ...], scan: Any) -> Verdict:
        verdict = self._verdicts.get(key)
        if verdict is not None:
            self._verdicts.move_to_end(key)
            return verdict
        verdict = await scan()
        self._verdicts[key] = verdict
        while len(self._verdicts) > CACHE_SIZE:
            self._verdicts.popitem(last=False)
        return verdict

    async def _scan_path(self, path: Path) -> Verdict:
        try:
            signature = await self._scanner.scan(path)
        except ScanError:
            raise scanner_error(
                502, "MCS_MEDIA_REQUEST_FAILED", "The antivirus gave no verdict; try again later"
            ) from None
        if signature is not None:
            return Verdict(False, "***VIRUS DETECTED***")
        return Verdict(True, "File is clean")

    async def _scan_decrypted(self, media: MediaFile, file: EncryptedFile) -> Verdict:
        scratch = self._media.scratch_file()
        try:
            digest = await asyncio.to_thread(_decrypt_into, media.path, file, scratch)
            if digest != file.sha256:
                raise scanner_error(
                    400, "MCS_MEDIA_FAILED_TO_DECRYPT", "The file does not match its hash"
                )
            return await self._scan_path(scratch.temp_path)
        finally:
            scratch.discard()


def _decrypt_into(source_path: Path, file: EncryptedFile, scratch: PartialFile) -> bytes:
    """Decrypt the stored ciphertext into ``scratch`` (blocking); the ciphertext's SHA-256."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    digest = hashlib.sha256()
    decryptor = Cipher(algorithms.AES(file.key), modes.CTR(file.iv)).decryptor()
    with source_path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            digest.update(chunk)
            scratch.write(decryptor.update(chunk))
    scratch.write(decryptor.finalize())
    scratch.flush()
    return digest.digest()


def _require_clean(verdict: Verdict) -> None:
    if not verdict.clean:
        raise scanner_error(403, "MCS_MEDIA_NOT_CLEAN", verdict.info)
