"""An encrypted attachment is scanned before the client decrypts it.

Sceau runs with a real clamd (tests/antivirus_support.py, EICAR signature)
and the content scanner on, so `/config.json` says `features.content_scanner`.
Alice sends the EICAR test file in an encrypted room: the upload is
ciphertext, which clamd cannot recognise, so it is stored. When she then
downloads it, the client first asks `scan_encrypted` with the file's key; the
server decrypts it in memory, clamd finds EICAR, and the client says
"Fichier bloqué par l'antivirus" instead of decrypting it. A clean file
passes the same scan and downloads decrypted.
"""

import secrets
from pathlib import Path

import nio
import pytest

from tests.antivirus_support import EICAR, Clamd, clamd  # noqa: F401
from tests.e2e.nio_helpers import PASSWORD, new_client, ok
from tests.e2e.server import ServerFactory, ServerProcess
from tests.e2e.web.conftest import require_client_strings, require_web_build
from tests.e2e.web.webdriver import WebDriver

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def web_server(make_module_server: ServerFactory, clamd: Clamd) -> ServerProcess:  # noqa: F811
    dist = require_web_build()
    require_client_strings("files.chooseFiles", "policy.scan.blocked")
    return make_module_server(
        web_client={"path": str(dist)},
        encryption={"encrypt_new_rooms": "not_public"},
        media={
            "antivirus": {"enabled": True, "clamd": clamd.unix_address},
            "content_scanner": {"enabled": True},
        },
    )


async def test_an_encrypted_eicar_file_is_blocked_before_decryption(
    browser: WebDriver, web_server: ServerProcess, tmp_path: Path
):
    alice = new_client(web_server)
    ok(
        await alice.register(f"alice_{secrets.token_hex(3)}", PASSWORD, "setup"),
        nio.RegisterResponse,
        "POST /register",
    )
    ok(await alice.room_create(name="Pièces jointes"), nio.RoomCreateResponse, "createRoom")
    await alice.close()
    await browser.acall("newUser", name="alice")
    await browser.acall("login", name="alice", identifier=alice.user_id, password=PASSWORD)
    await browser.acall("openRoom", name="alice", text="Pièces jointes")
    virus = tmp_path / "facture.pdf"
    virus.write_bytes(EICAR)
    await browser.acall("attach", name="alice", files=[str(virus)])
    refused = await browser.acall("downloadRefused", name="alice", file="facture.pdf")
    expected = await browser.acall("catalogue", key="policy.scan.blocked")
    assert refused["text"] == expected.strip("^$"), refused
    await browser.acall("screen", name="alice", screen="fichier chiffré bloqué par l'antivirus")
    clean = tmp_path / "note.txt"
    clean.write_text("compte rendu sans virus", encoding="utf-8")
    await browser.acall("attach", name="alice", files=[str(clean)])
    saved = await browser.acall("download", name="alice", file="note.txt")
    assert saved == {"filename": "note.txt", "text": "compte rendu sans virus"}, saved
