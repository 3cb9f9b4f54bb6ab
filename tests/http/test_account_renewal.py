"""Account renewal by email: reminders before expiry, single-use links, re-sending when expired.

A real SMTP server (aiosmtpd) receives the reminders; a fake clock moves time.
"""

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from sceau.clock import FakeClock
from sceau.homeserver import build_services
from sceau.protocol.signing import generate_signing_key
from sceau.storage.threepids import BoundThreepid
from tests.conftest import FAST_HASHER, make_config, register_user
from tests.smtp_support import Inbox

DAY_MS = 86_400_000
DAY_S = 86_400


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config_overrides(smtp: tuple[Inbox, int]) -> dict[str, Any]:
    return {
        "public_baseurl": "https://sceau.test/",
        "account_validity": {
            "enabled": True,
            "period_ms": 30 * DAY_MS,
            "renewal_reminders_ms": [7 * DAY_MS, DAY_MS],
        },
        "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp[1], "from_address": "no@sceau.test"},
    }


@pytest.fixture
async def services(db, tmp_path: Path, config_overrides, clock):
    return await build_services(
        make_config(tmp_path, **config_overrides),
        clock=clock,
        db=db,
        signing_key=generate_signing_key(b"\x01" * 32, "test"),
        password_hasher=FAST_HASHER,
    )


def link_in(inbox: Inbox, index: int = -1) -> str:
    body = inbox.messages[index].get_payload(decode=True).decode()
    found = re.search(r"https://sceau\.test/(\S+)", body)
    assert found, body
    return "/" + found.group(1)


async def bob_with_email(client: Any, services: Any, clock: FakeClock) -> Any:
    bob = await register_user(client, "bob")
    now = clock.time_ms()
    async with services.stores.db.transaction() as txn:
        await services.threepids._store.bind(
            txn, BoundThreepid("email", "bob@interieur.gouv.fr", bob.user_id, now, now)
        )
    return bob


async def expiry_of(services: Any, user_id: str) -> int:
    user = await services.stores.accounts.get_user(user_id)
    return int(user.expiration_ts)


async def test_reminders_go_out_at_each_lead_time_once(client, services, clock, smtp):
    inbox = smtp[0]
    await bob_with_email(client, services, clock)
    renewal = services.account_renewal
    assert await renewal.send_due_reminders() == 0  # 30 days left
    clock.advance(23 * DAY_S)  # 7 days left
    assert await renewal.send_due_reminders() == 1
    assert await renewal.send_due_reminders() == 0
    [first] = inbox.messages
    assert first["To"] == "bob@interieur.gouv.fr"
    assert "7 jour(s)" in first.get_payload(decode=True).decode()
    clock.advance(6 * DAY_S)  # 1 day left
    assert await renewal.send_due_reminders() == 1
    assert await renewal.send_due_reminders() == 0
    assert len(inbox.messages) == 2


async def test_the_link_extends_the_account_once_and_earlier_links_die(
    client, services, clock, smtp
):
    inbox = smtp[0]
    bob = await bob_with_email(client, services, clock)
    clock.advance(23 * DAY_S)
    await services.account_renewal.send_due_reminders()
    clock.advance(6 * DAY_S)
    await services.account_renewal.send_due_reminders()
    page = await client.get(link_in(inbox))
    assert page.status_code == 200 and "prolongé" in page.text
    assert await expiry_of(services, bob.user_id) == clock.time_ms() + 30 * DAY_MS
    again = await client.get(link_in(inbox))
    assert again.status_code == 404
    older = await client.get(link_in(inbox, 0))
    assert older.status_code == 404
    # The reminders start over for the new expiry.
    clock.advance(23 * DAY_S)
    assert await services.account_renewal.send_due_reminders() == 1


async def test_an_expired_account_asks_for_a_new_email_and_renews(client, services, clock, smtp):
    inbox = smtp[0]
    bob = await bob_with_email(client, services, clock)
    clock.advance(31 * DAY_S)
    whoami = await bob.request("GET", "/account/whoami")
    assert whoami.status_code == 403
    assert whoami.json()["errcode"] == "ORG_MATRIX_EXPIRED_ACCOUNT"
    sent = await bob.request("POST", "/_matrix/client/unstable/account_validity/send_mail", json={})
    assert sent.status_code == 200, sent.text
    link = link_in(inbox)
    assert urlsplit(link).path == "/_matrix/client/unstable/account_validity/renew"
    assert (await client.get(link)).status_code == 200
    assert (await bob.request("GET", "/account/whoami")).status_code == 200


async def test_send_mail_needs_a_token_and_a_bound_address(client, services):
    anonymous = await client.post("/_matrix/client/unstable/account_validity/send_mail", json={})
    assert anonymous.status_code == 401
    carol = await register_user(client, "carol")
    response = await carol.request(
        "POST", "/_matrix/client/unstable/account_validity/send_mail", json={}
    )
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_THREEPID_NOT_FOUND"
    missing = await client.get("/_matrix/client/unstable/account_validity/renew?token=nope")
    assert missing.status_code == 404
