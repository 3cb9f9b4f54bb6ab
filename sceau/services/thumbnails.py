"""Thumbnail sizes and the Pillow work that makes them (blocking: run in a thread).

Requested sizes are rounded up to a few standard ones, so one media has a
bounded number of thumbnails whatever clients ask for. Only JPEG, PNG, GIF
and WebP are decoded (each decoder is attack surface), and an image's pixel
count is checked from its header before anything is decompressed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow is imported on first use: a server that never thumbnails saves 2 MiB.
    from PIL import Image

#: Standard box sizes, smallest first; a request gets the first that holds it.
STANDARD_SIZES: tuple[tuple[int, int], ...] = (
    (32, 32),
    (96, 96),
    (320, 240),
    (640, 480),
    (800, 600),
)
#: Pillow format names this server will decode.
DECODERS = ("JPEG", "PNG", "GIF", "WEBP")


class ThumbnailError(Exception):
    """The content cannot be thumbnailed (not an image we decode, or corrupt)."""


class ImageTooLarge(ThumbnailError):
    """The image has more pixels than the configured maximum."""


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    content_type: str
    width: int
    height: int


def thumbnail_box(width: int, height: int, method: str) -> tuple[int, int]:
    """The standard box a request for ``width`` x ``height`` is served from.

    The smallest standard box that holds the request, or the largest one. A
    square crop (avatars) gets a square box of the same side, so it stays
    square.
    """
    if method == "crop" and width == height:
        side = next((w for w, _h in STANDARD_SIZES if w >= width), STANDARD_SIZES[-1][0])
        return side, side
    for box_w, box_h in STANDARD_SIZES:
        if box_w >= width and box_h >= height:
            return box_w, box_h
    return STANDARD_SIZES[-1]


def render(source: str, width: int, height: int, method: str, max_pixels: int) -> Thumbnail:
    """Decode the image at ``source`` and make a ``method`` thumbnail for the box.

    Never upscales: a box larger than the image shrinks to fit it, keeping the
    box's shape for crop. Whatever a malformed file makes a decoder raise
    becomes a :class:`ThumbnailError`.
    """
    from PIL import Image

    try:
        return _render(source, width, height, method, max_pixels)
    except ThumbnailError:
        raise
    except (Image.DecompressionBombError, MemoryError) as exc:
        raise ImageTooLarge(str(exc)) from None
    except Exception as exc:
        raise ThumbnailError(f"cannot decode image: {exc!r}") from None


def _render(source: str, width: int, height: int, method: str, max_pixels: int) -> Thumbnail:
    from PIL import Image

    with Image.open(source, formats=DECODERS) as image:
        src_w, src_h = image.size
        # Checked from the header, before any pixel is decompressed.
        if src_w * src_h > max_pixels:
            raise ImageTooLarge(f"{src_w}x{src_h} is more than {max_pixels} pixels")
        source_format = image.format
        image.seek(0)
        # JPEG can decode straight to a smaller scale; square, in case EXIF turns it.
        side = max(width, height)
        image.draft("RGB", (side, side))
        image.load()
        oriented = _oriented(image)
        if method == "crop":
            return _encode(_crop(oriented, width, height), source_format)
        return _encode(_scale(oriented, width, height), source_format)


def _oriented(image: Image.Image) -> Image.Image:
    """The image turned upright by its EXIF orientation, if it has a readable one."""
    from PIL import ImageOps

    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:
        return image


def _scale(image: Image.Image, width: int, height: int) -> Image.Image:
    from PIL import Image

    scaled = _rgb_or_rgba(image)
    scaled.thumbnail((width, height), Image.Resampling.LANCZOS)
    return scaled


def _crop(image: Image.Image, width: int, height: int) -> Image.Image:
    from PIL import Image, ImageOps

    src_w, src_h = image.size
    shrink = min(1.0, src_w / width, src_h / height)
    box = (max(1, int(width * shrink)), max(1, int(height * shrink)))
    return ImageOps.fit(_rgb_or_rgba(image), box, Image.Resampling.LANCZOS)


def _rgb_or_rgba(image: Image.Image) -> Image.Image:
    """Palette and grey images resample badly: convert, keeping transparency."""
    if image.mode in ("RGB", "RGBA"):
        return image.copy()
    transparent = image.mode in ("LA", "PA") or "transparency" in image.info
    return image.convert("RGBA" if transparent else "RGB")


def _encode(image: Image.Image, source_format: str | None) -> Thumbnail:
    """JPEG for photos, PNG when the source is lossless or has transparency."""
    buffer = io.BytesIO()
    if image.mode == "RGBA" or source_format in ("PNG", "GIF"):
        image.save(buffer, "PNG", optimize=False)
        content_type = "image/png"
    else:
        image.convert("RGB").save(buffer, "JPEG", quality=80)
        content_type = "image/jpeg"
    return Thumbnail(buffer.getvalue(), content_type, image.width, image.height)
