"""The server never sees plaintext: after real E2EE conversations, search the whole database.

matrix-nio clients exchange encrypted messages through the real server process;
then every byte of the SQLite files (including the WAL and free pages) or a
``pg_dump`` of the PostgreSQL database is searched for the plaintexts, and for
``session_key`` (the field that carries Megolm keys inside Olm-encrypted
to-device messages). A positive control (the room name, which is not
encrypted) proves the search would have found them.
"""

from pathlib import Path

import nio
import pytest

from tests.e2e.nio_helpers import close_all, ok, unique
from tests.e2e.server import ServerFactory, ServerProcess, database_bytes
from tests.e2e.test_nio_e2ee import (
    ENCRYPTED_BY_DEFAULT,
    decrypted_texts,
    encrypted_room,
    register_e2ee,
    send_secret,
    until,
)

pytestmark = pytest.mark.e2e


async def _conversation(
    server: ServerProcess, store_root: Path
) -> tuple[str, list[str], list[str]]:
    """A room of three chatting in an encrypted room: (room name, plaintexts, their tokens)."""
    room_name = f"Salon {unique('visible')}"
    tokens = [unique("alpha"), unique("bravo"), unique("charlie")]
    secrets_sent = [
        f"Le rendez-vous est à 18h, code {tokens[0]}",
        f"Mot de passe du coffre: {tokens[1]}",
        f"Ne le dis à personne {tokens[2]} ✨",
    ]
    clients = [await register_e2ee(server, store_root, n) for n in ("alice", "bob", "carol")]
    try:
        room_id = await encrypted_room(clients[0], *clients[1:], name=room_name)
        for sender, secret in zip(clients, secrets_sent, strict=True):
            await send_secret(sender, room_id, secret)
            await until(
                clients,
                lambda s=secret, snd=sender: all(
                    s in decrypted_texts(c, room_id) for c in clients if c is not snd
                ),
                "everyone decrypts",
            )
        # Bob leaves: the session rotates and new keys travel by Olm (more traffic to search).
        ok(await clients[1].room_leave(room_id), nio.RoomLeaveResponse, "leave")
        await send_secret(clients[0], room_id, secrets_sent[0] + " (bis)")
        await until(
            [clients[2]],
            lambda: secrets_sent[0] + " (bis)" in decrypted_texts(clients[2], room_id),
            "carol decrypts after the rotation",
        )
    finally:
        await close_all(*clients)
    return room_name, secrets_sent, tokens


def _needles(secrets_sent: list[str], tokens: list[str]) -> list[bytes]:
    """The texts, and their unique ASCII tokens (in case unicode was stored escaped)."""
    return [
        *(s.encode("utf-8") for s in secrets_sent),
        *(t.encode("ascii") for t in tokens),
        b'"session_key"',
    ]


async def test_database_holds_no_plaintext_of_encrypted_rooms(
    make_server: ServerFactory, tmp_path: Path
):
    server = make_server(**ENCRYPTED_BY_DEFAULT)
    room_name, secrets_sent, tokens = await _conversation(server, tmp_path)
    server.stop()  # everything the server wrote is now on disk
    content = database_bytes(server)
    assert room_name.encode() in content, "positive control: the search sees stored text"
    found = [needle for needle in _needles(secrets_sent, tokens) if needle in content]
    assert found == [], f"plaintext found in the database: {found}"
