"""Thumbnails: standard sizes, crop and scale, never upscaled, stored and served again from disk."""

import io
from typing import Any

import pytest
from PIL import Image

from tests.http.media_support import SERVER, V1, V3, errcode, image_bytes, upload


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """The deprecated unauthenticated paths are on here, so both download paths are tested."""
    return {"media": {"legacy_unauthenticated_media": True}}


def decoded(response) -> Image.Image:
    assert response.status_code == 200, response.text
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


async def thumb(user, media_id: str, query: str, prefix: str = V1):
    return await user.request("GET", f"{prefix}/thumbnail/{SERVER}/{media_id}?{query}")


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("width=320&height=240&method=scale", (320, 160)),
        ("width=800&height=600&method=scale", (800, 400)),
        ("width=5000&height=5000&method=scale", (800, 400)),  # the largest standard size
        ("width=300&height=200", (320, 160)),  # scale is the default
        ("width=96&height=96&method=crop", (96, 96)),
        ("width=32&height=32&method=crop", (32, 32)),
        ("width=50&height=50&method=crop", (96, 96)),  # rounded up, still square
        ("width=640&height=480&method=crop", (640, 480)),
    ],
)
async def test_thumbnails_are_cropped_or_scaled_to_a_standard_size(user_factory, query, size):
    alice = await user_factory("alice")
    media_id = await upload(alice, image_bytes(1000, 500), "image/png")
    response = await thumb(alice, media_id, query)
    image = decoded(response)
    assert image.size == size
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == 'inline; filename="thumbnail.png"'
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_small_images_are_never_upscaled(user_factory):
    alice = await user_factory("alice")
    media_id = await upload(alice, image_bytes(50, 20), "image/png")
    assert decoded(await thumb(alice, media_id, "width=800&height=600&method=scale")).size == (
        50,
        20,
    )
    cropped = decoded(await thumb(alice, media_id, "width=96&height=96&method=crop"))
    assert cropped.size == (20, 20)  # the square shape kept, at the size the image allows


async def test_photos_get_jpeg_thumbnails_and_transparent_images_png(user_factory):
    alice = await user_factory("alice")
    photo = await upload(alice, image_bytes(600, 400, "JPEG"), "image/jpeg")
    response = await thumb(alice, photo, "width=96&height=96&method=crop")
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"] == 'inline; filename="thumbnail.jpg"'
    assert decoded(response).format == "JPEG"
    webp = await upload(alice, image_bytes(300, 300, "WEBP", mode="RGBA"), "image/webp")
    response = await thumb(alice, webp, "width=32&height=32&method=crop")
    assert response.headers["content-type"] == "image/png"
    assert decoded(response).mode == "RGBA"


async def test_a_thumbnail_is_stored_and_served_from_disk_the_second_time(services, user_factory):
    alice = await user_factory("alice")
    media_id = await upload(alice, image_bytes(400, 400), "image/png")
    rendered: list[tuple[int, int, str]] = []
    render = services.media.renderer

    def counting(source, width, height, method, max_pixels):
        rendered.append((width, height, method))
        return render(source, width, height, method, max_pixels)

    services.media.renderer = counting
    first = await thumb(alice, media_id, "width=96&height=96&method=crop")
    assert first.status_code == 200
    for prefix in (V1, V3):
        again = await thumb(alice, media_id, "width=90&height=90&method=crop", prefix)
        assert again.status_code == 200 and again.content == first.content
    assert rendered == [(96, 96, "crop")]
    rows = await services.stores.db.fetchall(
        "SELECT width, height, method, content_type FROM media_thumbnails WHERE media_id = ?",
        media_id,
    )
    assert [tuple(r) for r in rows] == [(96, 96, "crop", "image/png")]
    assert (await thumb(alice, media_id, "width=96&height=96&method=scale")).status_code == 200
    assert rendered == [(96, 96, "crop"), (96, 96, "scale")]


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", b"not an image"),
        ("application/pdf", b"%PDF-1.4"),
        ("image/png", b"\x89PNG\r\n\x1a\n truncated garbage"),
        ("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        ("image/bmp", b"BM" + b"\x00" * 60),  # a format whose decoder is not enabled
    ],
)
async def test_content_that_cannot_be_thumbnailed_gets_400_unknown(
    user_factory, content_type, data
):
    alice = await user_factory("alice")
    media_id = await upload(alice, data, content_type)
    for prefix in (V1, V3):
        response = await thumb(alice, media_id, "width=32&height=32&method=crop", prefix)
        assert errcode(response) == (400, "M_UNKNOWN"), response.text


@pytest.mark.parametrize(
    "config_overrides",
    [{"media": {"max_thumbnail_pixels": 10_000, "legacy_unauthenticated_media": True}}],
)
async def test_images_over_the_pixel_cap_are_refused_before_decoding(user_factory):
    alice = await user_factory("alice")
    media_id = await upload(alice, image_bytes(101, 100), "image/png")
    response = await thumb(alice, media_id, "width=32&height=32&method=crop")
    assert errcode(response) == (413, "M_TOO_LARGE")
    ok = await upload(alice, image_bytes(100, 100), "image/png")
    assert (await thumb(alice, ok, "width=32&height=32&method=crop")).status_code == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("height=32", (400, "M_MISSING_PARAM")),
        ("width=32", (400, "M_MISSING_PARAM")),
        ("width=abc&height=32", (400, "M_INVALID_PARAM")),
        ("width=-4&height=32", (400, "M_INVALID_PARAM")),
        ("width=0&height=32", (400, "M_INVALID_PARAM")),
        ("width=1.5&height=32", (400, "M_INVALID_PARAM")),
        ("width=32&height=32&method=stretch", (400, "M_INVALID_PARAM")),
        ("width=32&height=32&animated=perhaps", (400, "M_INVALID_PARAM")),
    ],
)
async def test_bad_thumbnail_parameters_are_refused(user_factory, query, expected):
    alice = await user_factory("alice")
    media_id = await upload(alice, image_bytes(64, 64), "image/png")
    assert errcode(await thumb(alice, media_id, query)) == expected


async def test_animated_requests_get_a_still_thumbnail(user_factory):
    alice = await user_factory("alice")
    frames = [Image.new("RGB", (120, 120), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    media_id = await upload(alice, buffer.getvalue(), "image/gif")
    response = await thumb(alice, media_id, "width=96&height=96&method=crop&animated=true")
    image = decoded(response)
    assert response.headers["content-type"] == "image/png"
    assert getattr(image, "n_frames", 1) == 1
