"""Alice and Bob chat, encrypted, in two browsers, with matrix-nio reading along.

One scenario in steps (the tests run in order and share the server, the
browser and the people): log in, a DM started by searching the directory,
the invite accepted, messages both ways decrypted, reply, edit and reaction,
typing, receipts and unread counts. A matrix-nio client, logged in as a second
device of Bob's, reads what the browsers sent and sends to them, so the client
is checked against a second implementation. Screens are saved in French at
360 and 1280 px, each checked by axe.
"""

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import nio
import pytest
import pytest_asyncio

from tests.e2e.jssdk.helpers import nio_keys_round, nio_sync_until_text, raw_messages
from tests.e2e.nio_helpers import PASSWORD, new_client, ok
from tests.e2e.server import ServerProcess
from tests.e2e.web.webdriver import WebDriver

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

ALICE_NAME = "Alice Martin"
BOB_NAME = "Bob Durand"


@dataclass
class Chat:
    """What the steps share: the accounts, the DM, Bob's nio device."""

    alice: str
    bob: str
    tokens: dict[str, str]
    nio_bob: nio.AsyncClient
    room_id: str = ""
    sent: dict[str, str] = field(default_factory=dict)


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
async def chat(
    web_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Chat]:
    alice = await make_person(web_server, "alice", ALICE_NAME)
    bob = await make_person(web_server, "bob", BOB_NAME)
    # Bob sits in a public room, so the directory lets Alice find him.
    ok(
        await bob.room_create(name="Accueil", visibility=nio.RoomVisibility.public),
        nio.RoomCreateResponse,
        "createRoom",
    )
    # Bob's second device: matrix-nio with E2EE, keys uploaded before anything is sent.
    store = tmp_path_factory.mktemp("nio-bob")
    config = nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
    nio_bob = nio.AsyncClient(web_server.url, bob.user_id, store_path=str(store), config=config)
    ok(await nio_bob.login(PASSWORD, device_name="nio"), nio.LoginResponse, "nio login")
    ok(await nio_bob.sync(timeout=0, full_state=True), nio.SyncResponse, "initial /sync")
    await nio_keys_round(nio_bob)
    tokens = {"alice": alice.access_token, "bob": bob.access_token}
    result = Chat(alice=alice.user_id, bob=bob.user_id, tokens=tokens, nio_bob=nio_bob)
    await alice.close()
    await bob.close()
    try:
        yield result
    finally:
        await nio_bob.close()


async def test_alice_and_bob_log_in(browser: WebDriver, chat: Chat):
    for name, user_id in (("alice", chat.alice), ("bob", chat.bob)):
        await browser.acall("newUser", name=name)
        await browser.acall("login", name=name, identifier=user_id, password=PASSWORD)
    await browser.acall("screen", name="bob", screen="liste des salons")


async def test_alice_starts_a_dm_by_searching_for_bob(
    browser: WebDriver, chat: Chat, web_server: ServerProcess
):
    opened = await browser.acall("startDm", name="alice", query="Bob Durand", userId=chat.bob)
    chat.room_id = opened["roomId"]
    assert chat.room_id and chat.room_id.startswith("!")
    await browser.acall("screen", name="alice", screen="nouvelle discussion")
    # The DM is encrypted and Bob is invited to it as a direct chat.
    nio_bob = chat.nio_bob
    response = ok(await nio_bob.sync(timeout=10_000), nio.SyncResponse, "/sync")
    await nio_keys_round(nio_bob)
    invite = response.rooms.invite.get(chat.room_id)
    assert invite is not None, f"Bob was not invited to {chat.room_id}"
    member = next(e for e in invite.invite_state if getattr(e, "state_key", None) == chat.bob)
    assert member.content.get("is_direct") is True


async def test_bob_accepts_the_invite(browser: WebDriver, chat: Chat):
    await browser.acall("openRoom", name="bob", text=ALICE_NAME)
    await browser.acall("screen", name="bob", screen="invitation")
    accepted = await browser.acall("accept", name="bob")
    assert accepted["roomId"] == chat.room_id
    # Bob's nio device joins too, so that it receives the room keys of what follows.
    ok(await chat.nio_bob.join(chat.room_id), nio.JoinResponse, "nio join")
    await nio_keys_round(chat.nio_bob)


async def test_messages_go_both_ways_decrypted(
    browser: WebDriver, chat: Chat, web_server: ServerProcess
):
    hello = "Bonjour Bob, voici le rapport."
    thanks = "Merci Alice, bien reçu."
    await browser.acall("send", name="alice", text=hello)
    seen = await browser.acall("waitForMessage", name="bob", text=hello)
    assert hello in seen["text"]
    await browser.acall("send", name="bob", text=thanks)
    await browser.acall("waitForMessage", name="alice", text=thanks)
    await browser.acall("screen", name="alice", screen="discussion chiffrée")
    # The server only ever held ciphertext.
    stored = await raw_messages(web_server, chat.tokens["alice"], chat.room_id)
    assert stored and all(e["type"] == "m.room.encrypted" for e in stored), stored
    assert all(hello not in str(e) and thanks not in str(e) for e in stored)
    # A second implementation decrypts what the browser sent.
    event = await nio_sync_until_text(chat.nio_bob, chat.room_id, hello)
    assert event.sender == chat.alice


async def test_a_message_from_nio_is_decrypted_in_the_browser(browser: WebDriver, chat: Chat):
    text = "Message envoyé depuis matrix-nio."
    await nio_keys_round(chat.nio_bob)
    ok(
        await chat.nio_bob.room_send(
            chat.room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": text},
            ignore_unverified_devices=True,
        ),
        nio.RoomSendResponse,
        "nio send",
    )
    await browser.acall("waitForMessage", name="alice", text=text)


async def test_alice_replies_edits_and_reacts_and_bob_sees_each(browser: WebDriver, chat: Chat):
    thanks = "Merci Alice, bien reçu."
    answer = "Je le relis ce soir."
    await browser.acall("reply", name="alice", to=thanks, text=answer)
    replied = await browser.acall("waitForMessage", name="bob", text=answer)
    assert thanks in replied["text"]  # the quoted message
    await browser.acall("edit", name="alice", text=answer, newText="Je le relis demain matin.")
    edited = await browser.acall("waitForMessage", name="bob", text="Je le relis demain matin.")
    assert edited["edited"] is True
    await browser.acall("react", name="alice", text=thanks, key="👍")
    await browser.acall("screen", name="alice", screen="réponse modification réaction")
    for _ in range(60):
        info = await browser.acall("tileInfo", name="bob", text=thanks)
        if any("👍" in r for r in info["reactions"]):
            break
        await browser.acall(
            "evaluate", name="bob", expression="new Promise(r => setTimeout(r, 500))"
        )
    assert any("👍" in r for r in info["reactions"]), info
    # nio sees the edit as a replacement of the reply.
    event = await nio_sync_until_text(chat.nio_bob, chat.room_id, "* Je le relis demain matin.")
    relates = event.source["content"].get("m.relates_to", {})
    assert relates.get("rel_type") == "m.replace"


async def test_typing_receipts_and_unread_counts_reach_the_other_browser(
    browser: WebDriver, chat: Chat
):
    # Bob looks at another room; Alice's next message makes the DM unread for him.
    await browser.acall("openRoom", name="bob", text="Accueil")
    late = "Dernier point avant la réunion."
    await browser.acall("send", name="alice", text=late)
    row = await browser.acall("waitForUnread", name="bob", text=ALICE_NAME, count=1)
    assert row["label"].startswith(ALICE_NAME)
    await browser.acall("screen", name="bob", screen="non lu")
    # Bob opens the DM and reads: Alice sees his receipt on her message.
    await browser.acall("openRoom", name="bob", text=ALICE_NAME)
    await browser.acall("waitForMessage", name="bob", text=late)
    await browser.acall("waitForReadBy", name="alice", text=late, who=BOB_NAME)
    # Alice types: Bob sees it.
    await browser.acall("type", name="alice", text="Je suis en train d'écrire")
    await browser.acall("waitForTyping", name="bob", who=ALICE_NAME)
    await browser.acall("screen", name="bob", screen="écrit")
    for name in ("alice", "bob"):
        assert await browser.acall("problems", name=name) == []


async def test_screens_were_saved(browser: WebDriver):
    output = Path(__file__).resolve().parents[3] / "test-output" / "web" / "test_chat"
    screens = (
        "liste-des-salons",
        "nouvelle-discussion",
        "invitation",
        "discussion-chiffrée",
        "non-lu",
    )
    for screen in screens:
        for width in (360, 1280):
            assert (output / f"{screen}-{width}.png").is_file(), (screen, width)
