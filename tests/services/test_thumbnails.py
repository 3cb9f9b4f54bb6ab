"""The Pillow side of thumbnails: sizes, orientation, and refusing what must not be decoded."""

import io
import struct
import zlib

import pytest
from PIL import Image

from sceau.services.thumbnails import ImageTooLarge, ThumbnailError, render, thumbnail_box

MAX_PIXELS = 32_000_000


def write(tmp_path, data: bytes, name: str = "source") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height``, with almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("request_size", "method", "box"),
    [
        ((1, 1), "scale", (32, 32)),
        ((32, 32), "crop", (32, 32)),
        ((33, 33), "crop", (96, 96)),
        ((100, 100), "crop", (320, 320)),  # square crops stay square
        ((320, 240), "scale", (320, 240)),
        ((321, 10), "scale", (640, 480)),
        ((100, 50), "crop", (320, 240)),
        ((10_000, 10_000), "scale", (800, 600)),
        ((10_000, 10_000), "crop", (800, 800)),
    ],
)
def test_requests_are_rounded_up_to_a_few_standard_boxes(request_size, method, box):
    assert thumbnail_box(*request_size, method) == box


def test_a_header_claiming_billions_of_pixels_is_refused_without_decoding(tmp_path):
    source = write(tmp_path, png_header_only(100_000, 100_000))
    with pytest.raises(ImageTooLarge):
        render(source, 32, 32, "crop", MAX_PIXELS)
    source = write(tmp_path, png_header_only(4000, 4000), "medium")
    with pytest.raises(ImageTooLarge):
        render(source, 32, 32, "crop", 1_000_000)


def test_corrupt_or_unsupported_images_raise_thumbnail_error(tmp_path):
    truncated = encoded(Image.new("RGB", (200, 200), "green"), "PNG")[:60]
    for data in (b"", b"plain text", truncated, encoded(Image.new("RGB", (8, 8)), "BMP")):
        with pytest.raises(ThumbnailError):
            render(write(tmp_path, data), 32, 32, "scale", MAX_PIXELS)


def test_exif_orientation_is_applied_before_resizing(tmp_path):
    landscape = Image.new("RGB", (400, 200), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated by 90 degrees
    source = write(tmp_path, encoded(landscape, "JPEG", exif=exif.tobytes()))
    thumb = render(source, 320, 240, "scale", MAX_PIXELS)
    assert (thumb.width, thumb.height) == (120, 240)
    assert thumb.content_type == "image/jpeg"


def test_palette_images_with_transparency_keep_it(tmp_path):
    image = Image.new("P", (64, 64), 0)
    image.info["transparency"] = 0
    thumb = render(
        write(tmp_path, encoded(image, "GIF", transparency=0)), 32, 32, "crop", MAX_PIXELS
    )
    assert thumb.content_type == "image/png"
    decoded = Image.open(io.BytesIO(thumb.data))
    assert decoded.mode == "RGBA" and decoded.size == (32, 32)
