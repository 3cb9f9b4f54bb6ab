"""The built web client: which file answers a path, and what the client is told at start.

The client is built once (``npm run build`` in ``web/``) into a folder of static
files; Sceau serves it from the same process so one command gives a complete
messenger. This module only decides: the HTTP layer turns its answers into
responses. Files are looked up on every request (no index kept), so a rebuild
while the server runs is picked up at once.
"""

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sceau.config import Config

#: Hashed, content-addressed files (Vite's ``assetsDir``): safe to cache forever.
ASSETS_DIR = "assets"

#: Precompressed variants, best first: (Content-Encoding, file suffix).
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))

#: Types that must be exact (WebAssembly.instantiateStreaming checks it) or that
#: the platform's table may lack.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
    ".br": "application/octet-stream",
    ".gz": "application/gzip",
}


@dataclass(frozen=True)
class StaticFile:
    """One file to send: where it is, how it is typed, encoded and cached."""

    path: Path
    stat: os.stat_result
    content_type: str
    #: ``br`` or ``gzip`` when a precompressed variant was chosen.
    encoding: str | None
    #: Other encodings exist for this path, so caches must key on Accept-Encoding.
    has_variants: bool
    immutable: bool

    @property
    def etag(self) -> str:
        """Changes with the file's size, time and chosen encoding."""
        tag = f"{self.stat.st_mtime_ns:x}-{self.stat.st_size:x}"
        return f'"{tag}-{self.encoding}"' if self.encoding else f'"{tag}"'


def accepted_encodings(header: str | None) -> set[str]:
    """The content codings an ``Accept-Encoding`` header allows (q=0 refuses one)."""
    accepted: set[str] = set()
    refused: set[str] = set()
    wildcard = False
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name == "*":
            wildcard = quality > 0
        elif quality > 0:
            accepted.add(name)
        else:
            refused.add(name)
    if wildcard:
        accepted |= {name for name, _ in ENCODINGS} - refused
    return accepted


def _content_type(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def _regular_file(path: Path) -> os.stat_result | None:
    try:
        result = path.stat()
    except (OSError, ValueError):
        return None
    return result if stat.S_ISREG(result.st_mode) else None


class WebClientFiles:
    """The built client's folder (``web/dist``), looked up safely."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def built(self) -> bool:
        """Whether a build is there: ``index.html`` is the one file every build has."""
        return _regular_file(self.root / "index.html") is not None

    def find(self, url_path: str, accept_encoding: str | None) -> StaticFile | None:
        """The file that answers ``url_path`` (``assets/x.js``), or None.

        Refuses anything that could leave the folder: empty, dot and dot-dot
        segments, hidden files, backslashes, NUL, and symlinks pointing outside.
        """
        parts = url_path.split("/")
        if not url_path or any(
            not part or part.startswith(".") or "\\" in part or "\0" in part for part in parts
        ):
            return None
        candidate = self.root.joinpath(*parts)
        original = _regular_file(candidate)
        if original is None or not self._inside(candidate):
            return None
        accepted = accepted_encodings(accept_encoding)
        variants = []
        for encoding, suffix in ENCODINGS:
            variant = candidate.with_name(candidate.name + suffix)
            variant_stat = _regular_file(variant)
            if variant_stat is not None and self._inside(variant):
                variants.append((encoding, variant, variant_stat))
        chosen_path, chosen_stat, chosen_encoding = candidate, original, None
        for encoding, variant, variant_stat in variants:
            if encoding in accepted:
                chosen_path, chosen_stat, chosen_encoding = variant, variant_stat, encoding
                break
        return StaticFile(
            path=chosen_path,
            stat=chosen_stat,
            content_type=_content_type(candidate.name),
            encoding=chosen_encoding,
            has_variants=bool(variants),
            immutable=parts[0] == ASSETS_DIR and len(parts) > 1,
        )

    def _inside(self, path: Path) -> bool:
        try:
            return path.resolve().is_relative_to(self.root.resolve())
        except (OSError, RuntimeError):
            return False


def default_dist() -> Path:
    """Where the build is when ``web_client.path`` is not set.

    A packaged install ships it inside the package (``sceau/web_dist``); a
    checkout builds it into the repository's ``web/dist``.
    """
    package = Path(__file__).resolve().parents[1]
    packaged = package / "web_dist"
    return packaged if packaged.is_dir() else package.parent / "web" / "dist"


def dist_folder(config: Config) -> Path:
    """The configured build folder, relative paths against the data folder."""
    path = config.web_client.path
    return config.resolve_path(path) if path else default_dist()


def client_config(config: Config) -> dict[str, Any]:
    """``/config.json``: what the client needs to know about this deployment.

    Generated from the server's own config so one build serves every deployment.
    Nothing secret goes here: it is public, like ``/.well-known/matrix/client``.
    """
    registration = config.registration
    return {
        "brand": config.web_client.brand,
        "server_name": config.server_name,
        "base_url": config.base_url.rstrip("/"),
        "default_room_version": config.default_room_version,
        # Flat copy of media.max_upload_bytes: what web/src/config.ts reads.
        "upload_limit": config.media.max_upload_bytes,
        "registration": {
            "mode": registration.mode,
            "email_domains": sorted(registration.email_domains),
        },
        "media": {
            "max_upload_bytes": config.media.max_upload_bytes,
            "antivirus": config.media.antivirus.enabled,
        },
        "encryption": {"encrypt_new_rooms": config.encryption.encrypt_new_rooms},
        "features": {
            "registration": registration.mode != "closed",
            "email": config.email.smtp_host is not None,
            "password_reset": config.email.smtp_host is not None,
            "presence": config.presence.enabled,
            "change_display_name": not config.policy.lock_display_name,
            "change_email": not config.policy.lock_email,
            # Calls are offered once a TURN relay is configured (docs/calls.md):
            # without one, two agents behind NAT could not connect.
            "calls": bool(config.voip.turn_uris),
            # Encrypted attachments go through scan_encrypted before the client
            # decrypts them (docs/policy.md, content scanner).
            "content_scanner": config.media.content_scanner.enabled,
        },
    }


def startup_line(config: Config) -> str:
    """What ``sceau serve`` says about the client, so the admin knows where it comes from."""
    if not config.web_client.enabled:
        return "Web client: off (web_client.enabled is false)"
    files = WebClientFiles(dist_folder(config))
    if files.built:
        return f"Web client: serving {files.root} at /"
    return (
        f"Web client: no build in {files.root}; run ./scripts/serve, or npm ci && npm run build"
        " in web/, to serve it at /"
    )
