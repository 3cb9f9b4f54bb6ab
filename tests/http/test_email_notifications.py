"""Email notifications: one summary of unread messages after a delay, via a real SMTP server.

The email of an encrypted room names the room and the sender, never content;
each email's link unsubscribes the address.
"""

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from sceau.clock import FakeClock
from sceau.homeserver import build_services
from sceau.protocol.signing import generate_signing_key
from tests.conftest import FAST_HASHER, make_config, register_user
from tests.smtp_support import Inbox

DELAY_S = 600


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def services(db, tmp_path: Path, clock, smtp):
    config = make_config(
        tmp_path,
        public_baseurl="https://sceau.test/",
        email={"smtp_host": "127.0.0.1", "smtp_port": smtp[1], "from_address": "no@sceau.test"},
        push={"email_delay_ms": DELAY_S * 1000},
    )
    return await build_services(
        config,
        clock=clock,
        db=db,
        signing_key=generate_signing_key(b"\x01" * 32, "test"),
        password_hasher=FAST_HASHER,
    )


async def email_pusher(user: Any, address: str) -> None:
    await user.ok(
        "POST",
        "/pushers/set",
        json={
            "app_id": "m.email",
            "pushkey": address,
            "kind": "email",
            "app_display_name": "Email",
            "device_display_name": address,
            "lang": "fr",
            "data": {},
        },
    )


async def room_with(alice: Any, bob: Any, name: str, encrypted: bool) -> str:
    # Private rooms are encrypted by default; a public one is not.
    preset = "private_chat" if encrypted else "public_chat"
    body: dict[str, Any] = {"name": name, "invite": [bob.user_id], "preset": preset}
    room = (await alice.ok("POST", "/createRoom", json=body))["room_id"]
    await bob.ok("POST", f"/rooms/{room}/join", json={})
    return str(room)


def text_of(inbox: Inbox, index: int = -1) -> str:
    return str(inbox.messages[index].get_payload(decode=True).decode())


async def test_one_summary_after_the_delay_with_content_only_from_unencrypted_rooms(
    client, services, clock, inbox
):
    alice, bob = await register_user(client, "alice"), await register_user(client, "bob")
    await email_pusher(bob, "bob@interieur.gouv.fr")
    await services.email_notifier.send_due()  # starts from now
    plain = await room_with(alice, bob, "Cellule presse", encrypted=False)
    secret = await room_with(alice, bob, "Cellule crise", encrypted=True)
    await alice.ok(
        "PUT",
        f"/rooms/{plain}/send/m.room.message/t1",
        json={"msgtype": "m.text", "body": "Communiqué prêt"},
    )
    await alice.ok(
        "PUT",
        f"/rooms/{secret}/send/m.room.encrypted/t2",
        json={
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AAAA",
            "sender_key": "k",
            "session_id": "s",
            "device_id": "D",
        },
    )
    assert await services.email_notifier.send_due() == 0, "not before the delay"
    clock.advance(DELAY_S)
    assert await services.email_notifier.send_due() == 1
    assert await services.email_notifier.send_due() == 0, "one email, not one per run"
    [message] = inbox.messages
    assert message["To"] == "bob@interieur.gouv.fr"
    body = text_of(inbox)
    assert "Cellule presse" in body and "Communiqué prêt" in body
    assert "Cellule crise" in body and "AAAA" not in body
    assert "alice" in body


async def test_the_unsubscribe_link_removes_the_email_pusher_once(client, services, clock, inbox):
    alice, bob = await register_user(client, "alice"), await register_user(client, "bob")
    await email_pusher(bob, "bob@interieur.gouv.fr")
    await services.email_notifier.send_due()
    room = await room_with(alice, bob, "Salon", encrypted=False)
    await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/t1", json={"msgtype": "m.text", "body": "x"}
    )
    clock.advance(DELAY_S)
    await services.email_notifier.send_due()
    link = re.search(r"https://sceau\.test/(\S+)", text_of(inbox))
    assert link is not None
    parts = urlsplit("/" + link.group(1))
    forged = await client.get(parts.path + "?" + parts.query.replace("token=", "token=00"))
    assert forged.status_code == 404
    done = await client.get(parts.path + "?" + parts.query)
    assert done.status_code == 200
    assert (await bob.ok("GET", "/pushers"))["pushers"] == []
    assert (await client.get(parts.path + "?" + parts.query)).status_code == 404
