"""matrix-nio shares files through the real server: upload, message, download, thumbnail.

nio uploads through ``POST /_matrix/media/v3/upload`` (chunked, no
Content-Length) and downloads through the authenticated
``/_matrix/client/v1/media`` endpoints, as a client of spec v1.11 does.
"""

import io

import httpx
import nio
import pytest
from nio.crypto.attachments import decrypt_attachment
from PIL import Image

from tests.e2e.nio_helpers import close_all, ok, register, shared_room, sync_until, timeline
from tests.e2e.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.e2e


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


async def nio_upload(client: nio.AsyncClient, data: bytes, content_type: str, name: str) -> str:
    response, _keys = await client.upload(io.BytesIO(data), content_type, name)
    return ok(response, nio.UploadResponse, "POST /_matrix/media/v3/upload").content_uri


async def test_a_file_and_an_image_sent_by_one_nio_client_are_downloaded_by_another(
    server: ServerProcess,
):
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        room_id = await shared_room(alice, bob, name="Pièces jointes")
        report = b"%PDF-1.4\n" + bytes(range(256)) * 300
        image = png(640, 320)
        report_uri = await nio_upload(alice, report, "application/pdf", "Rapport été.pdf")
        image_uri = await nio_upload(alice, image, "image/png", "carte.png")
        assert report_uri.startswith(f"mxc://{server.server_name}/")

        for content in (
            {"msgtype": "m.file", "body": "Rapport été.pdf", "url": report_uri},
            {
                "msgtype": "m.image",
                "body": "carte.png",
                "url": image_uri,
                "info": {"mimetype": "image/png", "w": 640, "h": 320, "size": len(image)},
            },
        ):
            ok(
                await alice.room_send(room_id, "m.room.message", content),
                nio.RoomSendResponse,
                "send",
            )
        urls: dict[str, str] = {}

        def collect(response: nio.SyncResponse) -> bool:
            for event in timeline(response, room_id):
                if "url" in event["content"]:
                    urls[event["content"]["msgtype"]] = event["content"]["url"]
            return len(urls) == 2

        await sync_until(bob, collect, "the file and the image")

        file = ok(await bob.download(urls["m.file"]), nio.MemoryDownloadResponse, "download")
        assert file.body == report
        assert file.content_type == "application/pdf"
        assert file.filename == "Rapport été.pdf"
        picture = ok(await bob.download(urls["m.image"]), nio.MemoryDownloadResponse, "download")
        assert picture.body == image and picture.content_type == "image/png"

        server_name, media_id = urls["m.image"][len("mxc://") :].split("/")
        thumb = ok(
            await bob.thumbnail(server_name, media_id, 320, 240, nio.ResizingMethod.scale),
            nio.ThumbnailResponse,
            "thumbnail",
        )
        assert Image.open(io.BytesIO(thumb.body)).size == (320, 160)
    finally:
        await close_all(alice, bob)


async def test_an_encrypted_attachment_round_trips_byte_for_byte(server: ServerProcess):
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        secret = "Note confidentielle ✉".encode() * 500
        response, keys = await alice.upload(
            io.BytesIO(secret), "text/plain", "note.txt", encrypt=True
        )
        uri = ok(response, nio.UploadResponse, "encrypted upload").content_uri
        assert keys is not None
        downloaded = ok(await bob.download(uri), nio.MemoryDownloadResponse, "download")
        assert downloaded.body != secret
        plain = decrypt_attachment(
            downloaded.body, keys["key"]["k"], keys["hashes"]["sha256"], keys["iv"]
        )
        assert plain == secret
    finally:
        await close_all(alice, bob)


async def test_an_acknowledged_upload_survives_kill_9(make_server: ServerFactory):
    server = make_server()
    alice = await register(server, "alice")
    data = png(300, 200) + b"tail"
    try:
        uri = await nio_upload(alice, data, "image/png", "avant.png")
        token = alice.access_token
    finally:
        await close_all(alice)
    server.kill()
    server.start()
    media = uri[len("mxc://") :]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        authed = await http.get(
            f"/_matrix/client/v1/media/download/{media}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert authed.status_code == 200, authed.text
        assert authed.content == data
        legacy = await http.get(f"/_matrix/media/v3/download/{media}")
        assert legacy.status_code == 404, "media stays behind a login"
