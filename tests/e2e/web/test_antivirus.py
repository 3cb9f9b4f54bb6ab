"""An upload the antivirus refuses is shown as such in the browser, not as a generic error.

Sceau runs with a real clamd (tests/antivirus_support.py, EICAR signature);
Alice attaches the EICAR test file in a room and the client says that the
antivirus refused it, in French, in the catalogue's own words.
"""

import re
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
    require_client_strings("files.chooseFiles", "files.error.antivirus")
    return make_module_server(
        web_client={"path": str(dist)},
        media={"antivirus": {"enabled": True, "clamd": clamd.unix_address}},
    )


async def test_an_eicar_upload_is_refused_with_the_antivirus_message(
    browser: WebDriver, web_server: ServerProcess, tmp_path: Path
):
    alice = new_client(web_server)
    ok(
        await alice.register(f"alice_{secrets.token_hex(3)}", PASSWORD, "setup"),
        nio.RegisterResponse,
        "POST /register",
    )
    ok(await alice.room_create(name="Dossiers"), nio.RoomCreateResponse, "createRoom")
    await alice.close()
    await browser.acall("newUser", name="alice")
    await browser.acall("login", name="alice", identifier=alice.user_id, password=PASSWORD)
    await browser.acall("openRoom", name="alice", text="Dossiers")
    virus = tmp_path / "facture.pdf"
    virus.write_bytes(EICAR)
    await browser.acall("attach", name="alice", files=[str(virus)])
    shown = await browser.acall("alert", name="alice")
    expected = await browser.acall("catalogue", key="files.error.antivirus")
    assert re.search(expected.strip("^$"), shown), (expected, shown)
    await browser.acall("screen", name="alice", screen="fichier refusé par l'antivirus")
