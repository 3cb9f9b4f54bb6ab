"""Encryption that users do not lose, in two browsers, in French.

Alice and Bob each set up their recovery key at first login and chat in an
encrypted DM. Bob then logs in from a new browser (a new session), verifies it
with his recovery key and reads the older messages, restored from the key
backup; another new session of his verifies itself by comparing emojis with
his first one, and reads them too. Alice and Bob verify each other by
comparing emojis, each confirming in their own browser. Alice sends an image
that Bob sees decrypted, while the server holds only ciphertext.
"""

import asyncio
import secrets
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import nio
import pytest
import pytest_asyncio

from tests.e2e.jssdk.helpers import raw_messages
from tests.e2e.nio_helpers import PASSWORD, new_client, ok
from tests.e2e.server import ServerProcess
from tests.e2e.web.conftest import require_client_strings
from tests.e2e.web.webdriver import WebDriver

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

ALICE_NAME = "Alice Lefèvre"
BOB_NAME = "Bob Moreau"
OLD_MESSAGE = "Voici le compte rendu de lundi."


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small, valid PNG of one colour (no image library needed)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@dataclass
class People:
    alice: str
    bob: str
    tokens: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)
    room_id: str = ""


async def make_person(server: ServerProcess, localpart: str, display_name: str) -> nio.AsyncClient:
    client = new_client(server)
    ok(
        await client.register(f"{localpart}_{secrets.token_hex(3)}", PASSWORD, "setup"),
        nio.RegisterResponse,
        "POST /register",
    )
    ok(await client.set_displayname(display_name), nio.ProfileSetDisplayNameResponse, "displayname")
    return client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def people(web_server: ServerProcess) -> AsyncIterator[People]:
    require_client_strings(
        "crypto.recoveryKey.title",
        "crypto.verify.useKey",
        "verification.match",
        "files.chooseFiles",
    )
    alice = await make_person(web_server, "alice", ALICE_NAME)
    bob = await make_person(web_server, "bob", BOB_NAME)
    ok(
        await bob.room_create(name="Accueil", visibility=nio.RoomVisibility.public),
        nio.RoomCreateResponse,
        "createRoom",
    )
    found = People(
        alice=alice.user_id,
        bob=bob.user_id,
        tokens={"alice": alice.access_token, "bob": bob.access_token},
    )
    await alice.close()
    await bob.close()
    yield found


async def test_first_login_sets_up_a_recovery_key(browser: WebDriver, people: People):
    for name, user_id in (("alice", people.alice), ("bob", people.bob)):
        await browser.acall("newUser", name=name)
        await browser.acall(
            "login", name=name, identifier=user_id, password=PASSWORD, firstLogin=False
        )
        shown = await browser.acall("recoveryKey", name=name, password=PASSWORD)
        people.keys[name] = shown["key"]
        if name == "alice":
            await browser.acall("screen", name=name, screen="clé de récupération")
        saved = await browser.acall("recoveryKeySaved", name=name)
        # The downloaded file holds the very key shown.
        assert shown["key"] in saved["text"], saved
    # Recovery keys are 48 base58 characters, shown in groups of four.
    assert all(len(key.replace(" ", "")) == 48 for key in people.keys.values()), people.keys
    assert people.keys["alice"] != people.keys["bob"]


async def test_they_chat_in_an_encrypted_dm(browser: WebDriver, people: People):
    opened = await browser.acall("startDm", name="alice", query=BOB_NAME, userId=people.bob)
    people.room_id = opened["roomId"]
    await browser.acall("openRoom", name="bob", text=ALICE_NAME)
    await browser.acall("accept", name="bob")
    await browser.acall("send", name="alice", text=OLD_MESSAGE)
    await browser.acall("waitForMessage", name="bob", text=OLD_MESSAGE)


async def backed_up_sessions(server: ServerProcess, token: str, room_id: str) -> int:
    """How many Megolm sessions of the room the account's key backup holds."""
    async with httpx.AsyncClient(base_url=server.url + "/_matrix/client/v3") as http:
        headers = {"Authorization": f"Bearer {token}"}
        version = await http.get("/room_keys/version", headers=headers)
        if version.status_code != 200:
            return 0
        keys = await http.get(
            f"/room_keys/keys/{room_id}",
            params={"version": version.json()["version"]},
            headers=headers,
        )
        return len(keys.json().get("sessions", {})) if keys.status_code == 200 else 0


async def test_a_new_session_verifies_with_the_recovery_key_and_reads_older_messages(
    browser: WebDriver, people: People, web_server: ServerProcess
):
    # Bob's first session backs up the room key in the background: the older
    # message can be read from the backup once it is there.
    for _ in range(120):
        if await backed_up_sessions(web_server, people.tokens["bob"], people.room_id):
            break
        await asyncio.sleep(0.5)
    else:
        pytest.fail("Bob's browser never backed up the DM's room key")
    await browser.acall("newUser", name="bob-laptop")
    await browser.acall(
        "login", name="bob-laptop", identifier=people.bob, password=PASSWORD, firstLogin=False
    )
    await browser.acall("verifySessionAsked", name="bob-laptop")
    await browser.acall("screen", name="bob-laptop", screen="vérifier cette session")
    await browser.acall("verifyWithRecoveryKey", name="bob-laptop", key=people.keys["bob"])
    await browser.acall("openRoom", name="bob-laptop", text=ALICE_NAME)
    # Sent before this session existed: its key comes from the backup.
    await browser.acall("waitForMessage", name="bob-laptop", text=OLD_MESSAGE, timeout=60_000)
    await browser.acall("closeUser", name="bob-laptop")


async def test_a_new_session_verifies_by_emoji_from_another_session(
    browser: WebDriver, people: People
):
    await browser.acall("newUser", name="bob-phone")
    await browser.acall(
        "login", name="bob-phone", identifier=people.bob, password=PASSWORD, firstLogin=False
    )
    # Screen first: Bob's first session also needs the moment to learn of the new one.
    await browser.acall("verifySessionAsked", name="bob-phone")
    await browser.acall("screen", name="bob-phone", screen="nouvelle session à vérifier")
    await browser.acall("verifyWithOtherSession", name="bob-phone")
    await browser.acall("acceptVerification", name="bob")
    new_sees = await browser.acall("sasEmojis", name="bob-phone")
    old_sees = await browser.acall("sasEmojis", name="bob")
    assert len(new_sees) == 7 and new_sees == old_sees
    await asyncio.gather(
        browser.acall("confirmOwnEmojis", name="bob-phone"),
        browser.acall("confirmOwnEmojis", name="bob"),
    )
    # The verified session receives the backup key from the other one and reads history.
    await browser.acall("openRoom", name="bob-phone", text=ALICE_NAME)
    await browser.acall("waitForMessage", name="bob-phone", text=OLD_MESSAGE, timeout=60_000)
    await browser.acall("closeUser", name="bob-phone")


async def test_alice_and_bob_verify_each_other_by_emoji(browser: WebDriver, people: People):
    await browser.acall("startUserVerification", name="alice", other=BOB_NAME)
    await browser.acall("acceptVerification", name="bob")
    alice_sees = await browser.acall("sasEmojis", name="alice")
    bob_sees = await browser.acall("sasEmojis", name="bob")
    assert len(alice_sees) == 7 and alice_sees == bob_sees
    await browser.acall("screen", name="bob", screen="vérification par émojis")
    await asyncio.gather(
        browser.acall("confirmEmojis", name="alice", other=BOB_NAME),
        browser.acall("confirmEmojis", name="bob", other=ALICE_NAME),
    )


async def test_an_image_is_sent_encrypted_and_bob_sees_it_decrypted(
    browser: WebDriver,
    people: People,
    web_server: ServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
):
    image = tmp_path_factory.mktemp("files") / "plan-du-site.png"
    image.write_bytes(png(64, 48, (0, 0, 145)))
    await browser.acall("attach", name="alice", files=[str(image)])
    shown = await browser.acall("waitForImage", name="bob", alt="plan-du-site.png")
    assert shown["src"] == "blob:" and shown["width"] == 64
    await browser.acall("screen", name="bob", screen="image reçue")
    stored = await raw_messages(web_server, people.tokens["alice"], people.room_id)
    # matrix-js-sdk sends the in-room verification request in clear (as Element
    # does: it names devices and methods, no message content); all else is ciphertext.
    sent = [e for e in stored if e["content"].get("msgtype") != "m.key.verification.request"]
    assert len(sent) >= 2 and all(e["type"] == "m.room.encrypted" for e in sent), sent
    for name in ("alice", "bob"):
        assert await browser.acall("problems", name=name) == []


async def test_files_dropped_or_pasted_reach_bob_and_download_with_their_name(
    browser: WebDriver, people: People, web_server: ServerProcess
):
    dropped = {"name": "ordre-du-jour.txt", "text": "1. Budget\n2. Planning\n"}
    pasted = {"name": "notes collées.txt", "text": "Relire avant jeudi."}
    await browser.acall("dropFiles", name="alice", files=[dropped])
    await browser.acall("pasteFiles", name="alice", files=[pasted])
    for sent in (dropped, pasted):
        got = await browser.acall("download", name="bob", file=sent["name"])
        assert got == {"filename": sent["name"], "text": sent["text"]}
    stored = await raw_messages(web_server, people.tokens["alice"], people.room_id)
    assert stored[0]["type"] == "m.room.encrypted"
